"""Conn logs past the flow limit are read fast (from bytes, a row of a pair seen before
added up in place) and by several processes; what they give is what the careful line-by-line
reader gives, row for row, down to which line each pair's first and last time cite."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from camaudit.errors import InputError
from camaudit.traffic import zeek
from camaudit.traffic.zeek import ConnPart, analyse_zeek, conn_part
from tests.traffic.test_zeek_logs import _samples

RITA = Path("rita-rotated-gz")
RITA_HOUR = RITA / "conn.16:00:00-17:00:00.log.gz"


@pytest.fixture(scope="module")
def samples() -> Path:
    return _samples()


def _careful(path: Path) -> ConnPart:
    """The file read by the careful reader only (what ``_conn_rows`` does past the limit)."""
    log = zeek.ZeekLog(path)
    pairs = zeek._Pairs()
    assert next(zeek._conn_rows(log, pairs, exact=1 << 62), None) is None
    log.rows += pairs.file_rows
    times = [t for t in pairs.file_span if abs(t) != zeek._INF]
    info = zeek._input(log, times, pairs.file_packets)
    return ConnPart(pairs.pairs, pairs.file_rows, pairs.file_packets, pairs.unknown_time, info)


def _same(path: Path) -> None:
    fast, careful = conn_part(path), _careful(path)
    assert list(fast.pairs) == list(careful.pairs)  # the same pairs, made in the same order
    # sums, flag bits, first/last and the lines cited (by repr: a NaN time is no equal)
    assert repr(fast.pairs) == repr(careful.pairs)
    assert (fast.rows, fast.packets, fast.unknown_time) == (
        careful.rows,
        careful.packets,
        careful.unknown_time,
    )
    assert repr(fast.info) == repr(careful.info)


def test_every_stored_conn_log_reads_the_same_fast_and_carefully(
    samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zeek, "_BLOCK", 4096)  # many blocks: rows cut at block ends
    logs = sorted(p for p in samples.rglob("conn*") if zeek.log_kind(p.name) == "conn")
    assert len(logs) >= 8
    for path in logs:
        _same(path)


def _hour_lines(samples: Path) -> list[bytes]:
    with gzip.open(samples / RITA_HOUR, "rb") as handle:
        return handle.read().split(b"\n")


def _fields(lines: list[bytes]) -> list[bytes]:
    return next(line for line in lines if line.startswith(b"#fields")).split(b"\t")[1:]


def _set(line: bytes, fields: list[bytes], name: bytes, value: bytes) -> bytes:
    parts = line.split(b"\t")
    parts[fields.index(name)] = value
    return b"\t".join(parts)


# Damaged or unusual rows (crafted from the real archive: malformed input, not Zeek's)
# each in its place among plain rows, so runs are cut around them.
EDITS: dict[str, tuple[bytes, bytes]] = {
    "unset packet count": (b"orig_pkts", b"-"),
    "redacted time": (b"ts", b"XXXXXXXXXX.XXXXXX"),
    "ISO-8601 time": (b"ts", b"2024-04-29T16:30:00.5+00:00"),
    "NaN time": (b"ts", b"nan"),
    "NaN duration": (b"duration", b"nan"),
    "huge byte count": (b"orig_ip_bytes", b"%d" % (1 << 62)),
    "upper-case proto": (b"proto", b"TCP"),
    "unset address": (b"id.resp_h", b"-"),
    "empty proto": (b"proto", b""),
    "escaped history": (b"history", b"S\\x41"),
    "non-ASCII address": (b"id.orig_h", "10.0.0.\u00e9".encode()),
    "invalid UTF-8": (b"id.orig_h", b"10.0.0.\xff"),
    "digits with spaces": (b"resp_pkts", b" 7 "),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_unusual_row_reads_the_same_fast_and_carefully(
    samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    monkeypatch.setattr(zeek, "_BLOCK", 8192)
    lines = _hour_lines(samples)
    fields = _fields(lines)
    name, value = EDITS[edit]
    rows = [i for i, line in enumerate(lines) if line and not line.startswith(b"#")]
    for i in rows[5::700]:  # a pair's first row, and rows of pairs seen before
        lines[i] = _set(lines[i], fields, name, value)
    path = tmp_path / "conn.log"
    path.write_bytes(b"\n".join(lines))
    _same(path)
    with gzip.open(tmp_path / "conn.log.gz", "wb") as handle:
        handle.write(b"\n".join(lines))
    _same(tmp_path / "conn.log.gz")


def test_line_ends_blank_lines_short_rows_and_a_second_header_read_the_same(
    samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zeek, "_BLOCK", 8192)
    lines = _hour_lines(samples)
    header = [line for line in lines if line.startswith(b"#") and not line.startswith(b"#close")]
    body = [line for line in lines if line and not line.startswith(b"#")]
    fields = _fields(lines)
    # the same rows under a header that lists the columns in another order
    order = list(reversed(range(len(fields))))
    moved = [
        b"#fields\t" + b"\t".join(fields[i] for i in order) if h.startswith(b"#fields") else h
        for h in header
        if not h.startswith(b"#types")
    ]
    tail = [b"\t".join(row.split(b"\t")[i] for i in order) for row in body[:2000]]
    mixed = header + body[:3000] + [b"", b"too\tfew\tfields", b""] + body[3000:] + moved + tail
    for name, text in {
        "crlf.log": b"\r\n".join(mixed) + b"\r\n",
        "no-final-newline.log": b"\n".join(mixed),
        "json-line.log": b"\n".join([*body[:100], b'{"ts": 1.5}', *body[100:200]]),
    }.items():
        path = tmp_path / name.replace(".log", "") / "conn.log"
        path.parent.mkdir()
        path.write_bytes(text)
        _same(path)


@pytest.mark.parametrize("how", ["cut short", "two members", "trailing bytes"])
def test_gzip_that_is_not_one_whole_member_reads_the_same(
    samples: Path, tmp_path: Path, how: str
) -> None:
    """Damage (the careful reader's rows-read and truncated problem), another member,
    bytes after the member: the file is read the careful way."""
    whole = (samples / RITA_HOUR).read_bytes()
    data = {
        "cut short": whole[: len(whole) * 2 // 3],
        "two members": whole + whole,
        "trailing bytes": whole + b"\0\0\0\0",
    }[how]
    path = tmp_path / "conn.log.gz"
    path.write_bytes(data)
    _same(path)


def test_rotated_conn_logs_read_by_two_processes_give_the_one_process_summary(
    samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the limit every conn file is a part of its own; merged in file order, the
    summary (flows, inputs, problems, pairs' first and last lines) is the same."""
    folder = tmp_path / "rita"
    shutil.copytree(samples / RITA, folder)
    for limit in (0, 1000, 7260 + 10):  # every file a part; one file partly exact
        monkeypatch.setattr(zeek, "FLOW_LIMIT", limit)
        one = analyse_zeek([folder], jobs=1)
        two = analyse_zeek([folder], jobs=2)
        assert two == one
        assert repr(two) == repr(one)  # floats included, field by field
    assert any(p.code == "flows_summarised" for p in one.problems)


def test_a_corrupt_conn_log_read_by_a_worker_keeps_its_rows_and_says_so(
    samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(samples / RITA_HOUR, folder / "conn.15:00:00-16:00:00.log.gz")
    whole = (samples / RITA_HOUR).read_bytes()
    (folder / "conn.16:00:00-17:00:00.log.gz").write_bytes(whole[: len(whole) // 2])
    monkeypatch.setattr(zeek, "FLOW_LIMIT", 0)
    one = analyse_zeek([folder], jobs=1)
    two = analyse_zeek([folder], jobs=2)
    assert two == one
    damaged = one.inputs[1]
    assert [p.code for p in damaged.problems] == ["truncated"]
    assert one.packets > 0


def test_a_conn_log_that_vanishes_before_its_process_reads_it_is_an_input_error(
    samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One clear error from the part that could not open its file, not a traceback, and
    the files after it are not read for nothing."""
    folder = tmp_path / "logs"
    folder.mkdir()
    for hour in range(4):
        shutil.copy(samples / RITA_HOUR, folder / f"conn.0{hour}:00:00-0{hour + 1}:00:00.log.gz")
    monkeypatch.setattr(zeek, "FLOW_LIMIT", 0)
    found = zeek.find_logs

    def and_one_goes(directories: list[Path]) -> tuple[list[Path], list[object]]:
        paths, problems = found(directories)
        paths[1].unlink()
        return paths, problems

    monkeypatch.setattr(zeek, "find_logs", and_one_goes)
    with pytest.raises(InputError, match=r"conn\.01:00:00-02:00:00\.log\.gz: cannot read"):
        analyse_zeek([folder], jobs=2)
