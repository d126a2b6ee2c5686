"""Zeek logs (TSV or JSON, gzip'd or not): a conn log and one other log of the kind the
first byte picks, separated by ``SEP``."""

from __future__ import annotations

from _harness import SCRATCH, instrumented, main

with instrumented():
    from camaudit.traffic.zeek import WANTED, analyse_zeek

OTHERS = tuple(kind for kind in WANTED if kind != "conn")
SEP = b"\x00LOG\x00"
DIRECTORY = SCRATCH / "zeek"


def one(data: bytes) -> None:
    other = OTHERS[data[0] % len(OTHERS)] if data else OTHERS[0]
    conn, _, rest = data[1:].partition(SEP)
    DIRECTORY.mkdir(exist_ok=True)
    for old in DIRECTORY.iterdir():
        old.unlink()
    (DIRECTORY / "conn.log").write_bytes(conn)
    if rest:
        (DIRECTORY / f"{other}.log").write_bytes(rest)
    analyse_zeek([DIRECTORY])


if __name__ == "__main__":
    main(one)
