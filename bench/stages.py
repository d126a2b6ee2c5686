#!/usr/bin/env python3
"""Where camaudit's time goes on one pcap file: each stage timed on its own, per --jobs.

The compiled pass fuses the record walk, header decoding and flow aggregation into one
loop, so the stages are timed by running the pass three times, stopping after the walk,
after decoding, and after aggregation (``Pass(upto=...)``), each over the same ranges
of the file the real run reads (one range for --jobs 1; the record-boundary ranges of
--jobs N, in N processes at once, slowest one counted):

- read: the file's bytes into memory, 4 MiB at a time (warm page cache);
- sha256: the file's hash, which the real run computes next to the pass (in a thread
  for --jobs 1, a process of its own for --jobs N);
- walk, decode, aggregate: the compiled pass up to that step, minus the step before;
- Python side: ``traffic.engine.analyse`` minus read and the whole pass (frames handed
  over, DNS/TLS/HTTP parsing, merging the parts, finishing flows; hashing overlapped);
- report: ``api.verify`` minus ``analyse`` (policy, verdict, report);
- start-up: the ``camaudit`` command minus ``api.verify`` in a warm process: starting
  Python and every import the run needs (numpy, scapy's TLS/HTTP layers, dnspython, the
  OUI registry), which the in-process figures above have already paid.

    python bench/stages.py FILE [--jobs 1,2] [--repeat 3] [--json OUT]

Best of ``--repeat`` runs for each figure (the machine may be shared).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from itertools import pairwise
from pathlib import Path

from camaudit.api import verify
from camaudit.traffic._fastpass import Pass
from camaudit.traffic.capfile import (
    CHUNK,
    pcap_boundaries,
    pcap_header,
    range_chunks,
    walk_pcap_range,
)
from camaudit.traffic.engine import analyse

NETS = ("10.66.0.0/24", "fd66::/64")


def read_range(path: Path, start: int, end: int, upto: int | None) -> float:
    """Seconds to read (and, unless ``upto`` is None, run the pass over) one range, as
    camaudit reads it (the frames the pass hands over are dropped)."""
    began = time.perf_counter()
    if upto is None:
        with path.open("rb") as handle:
            for _chunk in range_chunks(handle, start, end):
                pass
    else:
        fp = Pass(upto=upto)

        def drop() -> None:
            fp.take()

        walk_pcap_range(path, start, end, fp, 0, drop)
        if upto == 2:
            fp.flows()
    return time.perf_counter() - began


def ranges(path: Path, jobs: int) -> list[tuple[int, int]]:
    size = path.stat().st_size
    # As camaudit cuts a file: jobs - 1 ranges from three jobs on (the hash has a core).
    cuts = pcap_boundaries(path, jobs - 1, size) if jobs > 2 else [24, size]
    return list(pairwise(cuts))


def parallel(path: Path, jobs: int, upto: int | None) -> float:
    """Wall time of a stage over the ranges of ``jobs`` processes, all at once."""
    parts = ranges(path, jobs)
    if len(parts) == 1:
        return read_range(path, *parts[0], upto)
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        list(
            pool.map(
                read_range, [path] * len(parts), *zip(*parts, strict=True), [upto] * len(parts)
            )
        )
    return time.perf_counter() - began


def best(repeat: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeat))


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def sha256(path: Path) -> float:
    began = time.perf_counter()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(CHUNK):
            digest.update(data)
    return time.perf_counter() - began


def command(path: Path, jobs: int) -> float:
    cmd = [sys.executable, "-m", "camaudit", "verify", str(path)]
    for net in NETS:
        cmd += ["--closed-network", net]
    cmd += ["--format", "json", "--output", "/dev/null", "--jobs", str(jobs)]
    began = time.perf_counter()
    subprocess.run(cmd, check=False, capture_output=True)
    return time.perf_counter() - began


def stages(path: Path, jobs: int, repeat: int) -> dict[str, float]:
    read = best(repeat, lambda: parallel(path, jobs, None))
    walk = best(repeat, lambda: parallel(path, jobs, 0))
    decode = best(repeat, lambda: parallel(path, jobs, 1))
    fold = best(repeat, lambda: parallel(path, jobs, 2))
    traffic = best(repeat, lambda: timed(lambda: analyse([path], jobs=jobs)))
    whole = best(repeat, lambda: timed(lambda: verify([path], closed_network=NETS, jobs=jobs)))
    cli = best(repeat, lambda: command(path, jobs))
    return {
        "read": read,
        "sha256": best(repeat, lambda: sha256(path)),
        "walk": max(walk - read, 0.0),
        "decode": max(decode - walk, 0.0),
        "aggregate": max(fold - decode, 0.0),
        "python": max(traffic - fold, 0.0),
        "report": max(whole - traffic, 0.0),
        "start-up": max(cli - whole, 0.0),
        "analyse": traffic,
        "verify": whole,
        "command": cli,
    }


def count_packets(path: Path) -> int:
    fp = Pass(upto=0)
    order, scale, _snaplen, linktype = pcap_header(path)
    data = path.read_bytes()
    return fp.pcap(data, 24, order == ">", scale, linktype, 0, 0, -1)[1]


def render(path: Path, figures: dict[int, dict[str, float]], packets: int) -> str:
    size = path.stat().st_size
    jobs = sorted(figures)
    rows = [("stage", *(f"--jobs {j} s" for j in jobs))]
    for name in ("read", "sha256", "walk", "decode", "aggregate", "python", "report", "start-up"):
        rows.append((name, *(f"{figures[j][name]:.2f}" for j in jobs)))
    rows.append(("= camaudit verify", *(f"{figures[j]['command']:.2f}" for j in jobs)))
    rows.append(("packets/s", *(f"{packets / figures[j]['command']:,.0f}" for j in jobs)))
    rows.append(("GB/s", *(f"{size / 1e9 / figures[j]['command']:.2f}" for j in jobs)))
    rows.append(("analyse GB/s", *(f"{size / 1e9 / figures[j]['analyse']:.2f}" for j in jobs)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if 1 in figures and 2 in figures:
        gain = figures[1]["command"] / figures[2]["command"]
        met = "met" if gain >= 1.7 else "MISSED"
        lines.append(f"speed-up --jobs 1 -> 2: {gain:.2f}x (target >=1.7x {met})")
    lines.append(
        "sha256 runs next to the pass (a thread, or a process of its own), not after it; "
        "stages are each timed alone, so they need not add up to the total"
    )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture", type=Path)
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    figures = {int(j): stages(args.capture, int(j), args.repeat) for j in args.jobs.split(",") if j}
    packets = count_packets(args.capture)
    print(render(args.capture, figures, packets))
    if args.json:
        args.json.write_text(json.dumps({"packets": packets, "stages": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
