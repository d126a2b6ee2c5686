#!/usr/bin/env python3
"""Write a GENERATED week of Zeek conn logs for the ``verify --zeek`` benchmark.

Not Zeek output: the rows replay one real Zeek conn.log (by default RITA's hourly
archive ``rita-rotated-gz/conn.16:00:00-17:00:00.log.gz`` from ../shared/zeek-samples,
7,260 rows of a live Zeek cluster) hour after hour, in zeekctl's layout
(``YYYY-MM-DD/conn.HH:00:00-HH:00:00.log.gz``). The sample's header is kept as it is
(``#separator`` ... ``#types``, so the same columns and quirks such as ``_node_name``
first) and a ``#generated`` line right after ``#separator`` names this script and the
sample. Each row is a sample row with its time moved into the hour being written, a
fresh ``uid`` and, for repeats of the same row within an hour, another ephemeral source
port (what a camera retrying its cloud looks like to Zeek). Rows are sorted by ``ts``
within each file, as Zeek writes them (roughly) in order.

    python bench/make_zeek_week.py /tmp/zeek-week --rows 10500000

Tests never read these files: they are for timing only (bench/README.md).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# as tests/traffic/test_zeek_logs.py looks for them: $CAMAUDIT_ZEEK_SAMPLES, ../shared
SAMPLES = next(
    (
        Path(c)
        for c in (
            os.environ.get("CAMAUDIT_ZEEK_SAMPLES"),
            REPO.parent / "shared" / "zeek-samples",
            "/work/shared/zeek-samples",
        )
        if c and Path(c, "README.md").is_file()
    ),
    REPO.parent / "shared" / "zeek-samples",
)
SAMPLE = Path("rita-rotated-gz") / "conn.16:00:00-17:00:00.log.gz"
START = datetime(2024, 4, 29, tzinfo=UTC)  # the sample's own day (its #open line)
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def read_sample(path: Path) -> tuple[list[str], list[list[str]]]:
    """The sample's header lines (up to ``#types``) and its rows split into fields."""
    header: list[str] = []
    rows: list[list[str]] = []
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("#"):
                if not line.startswith(("#close", "#open")):
                    header.append(line)
            elif line:
                rows.append(line.split("\t"))
    return header, rows


def uid(number: int) -> str:
    """A Zeek-shaped uid ("C" + base62), unique per generated row."""
    text = ""
    for _ in range(17):
        number, digit = divmod(number, 62)
        text += _B62[digit]
    return "C" + text


def write_week(out: Path, sample: Path, total: int, days: int) -> int:
    header, rows = read_sample(sample)
    fields = next(line for line in header if line.startswith("#fields")).split("\t")[1:]
    col = {name: i for i, name in enumerate(fields)}
    ts_i, uid_i, port_i, proto_i = col["ts"], col["uid"], col["id.orig_p"], col["proto"]
    times = [float(r[ts_i]) for r in rows]
    base = min(times)
    offsets = [(t - base) % 3600.0 for t in times]
    hours = days * 24
    per_hour = -(-total // hours)
    repeats = -(-per_hour // len(rows))
    marker = (
        f"#generated\tby camaudit bench/make_zeek_week.py from {sample.name} "
        f"(zeek-samples/{SAMPLE.parent}); rows replayed with shifted ts, new uid and "
        "source port; NOT Zeek output"
    )
    written = 0
    for hour in range(hours):
        start = START + timedelta(hours=hour)
        stamp = start.timestamp()
        out_rows: list[tuple[float, str]] = []
        for i in range(per_hour):
            j, r = i % len(rows), i // len(rows)
            row = list(rows[j])
            ts = stamp + (offsets[j] + r * 3600.0 / repeats) % 3600.0
            row[ts_i] = f"{ts:.6f}"
            row[uid_i] = uid((written + i) * 0x9E3779B97F4A7C15 % 62**17)
            port = int(row[port_i])
            if r and row[proto_i] in ("tcp", "udp") and port >= 1024:
                row[port_i] = str((port - 1024 + r * 7919) % 64511 + 1024)
            out_rows.append((ts, "\t".join(row)))
        out_rows.sort(key=lambda item: item[0])
        folder = out / f"{start:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        end = start + timedelta(hours=1)
        name = f"conn.{start:%H}:00:00-{'24' if end.hour == 0 else f'{end:%H}'}:00:00.log.gz"
        with gzip.open(folder / name, "wt", encoding="utf-8", compresslevel=1) as handle:
            handle.write(header[0] + "\n" + marker + "\n")
            handle.write("\n".join(header[1:]) + "\n")
            handle.write(f"#open\t{start:%Y-%m-%d-%H-%M-%S}\n")
            handle.write("\n".join(text for _, text in out_rows) + "\n")
            handle.write(f"#close\t{end:%Y-%m-%d-%H-%M-%S}\n")
        written += per_hour
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="directory to write (zeekctl layout)")
    parser.add_argument("--rows", type=int, default=10_500_000, help="conn rows in all")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument(
        "--sample", type=Path, default=SAMPLES / SAMPLE, help="the real conn log to replay"
    )
    args = parser.parse_args()
    if not args.sample.exists():
        print(f"make_zeek_week: no sample at {args.sample}", file=sys.stderr)
        return 3
    started = time.monotonic()
    rows = write_week(args.out, args.sample, args.rows, args.days)
    size = sum(p.stat().st_size for p in args.out.rglob("conn.*.log.gz"))
    print(
        f"{rows:,} conn rows in {args.days * 24} hourly files under {args.out} "
        f"({size / 1e6:.0f} MB gzip'd) in {time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
