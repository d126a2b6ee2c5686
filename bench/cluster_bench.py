#!/usr/bin/env python3
"""Many captures: camaudit ``--jobs 1``, ``--jobs 2`` and a Dask cluster of 2 workers, next
to tshark and tcpdump on the same files (and, with ``--zeek``, a week of conn logs).

Writes FILES captures of SIZE MiB with bench/make_capture.py into DIR (default under
/tmp), times every tool on all of them (each from the page cache), prints one table
(wall time, CPU time, packets/s, peak RSS; per worker for Dask) and deletes the captures
unless ``--keep``. The Dask scheduler and workers run on 127.0.0.1 only and are stopped
at the end. Never a test: figures depend on the machine and its load, which the table
states (load average before and after).

    python bench/cluster_bench.py --files 20 --size-mb 260 [--zeek /tmp/zeek-week]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

import run as speed  # bench/run.py: measure(), count_packets(), make_capture() ...

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.dask_cluster import LocalCluster

NETS = ["--closed-network", "10.66.0.0/24", "--closed-network", "fd66::/64"]
REPORT = ["--format", "json", "--output", "/dev/null"]


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the process's own peak RSS (a Dask worker lives across the run)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024 * 1.048576
    except OSError:
        pass
    return None


def looped(tool: list[str], files: list[Path], tail: str) -> list[str]:
    """One command that runs ``tool FILE`` for every file (they read one file each)."""
    body = "; ".join(f"{shlex.join([*tool, str(f)])} {tail}" for f in files)
    return ["sh", "-c", body]


def row(result: speed.Result, packets: int, rss: str | None = None) -> list[str]:
    wall = result.wall_s or 0.0
    return [
        result.tool,
        result.status if not result.ok else f"{wall:.1f}",
        f"{result.cpu_s:.1f}" if result.cpu_s else "",
        f"{packets / wall / 1e6:.2f} M" if result.ok and wall and packets else "",
        rss if rss is not None else (f"{result.rss_mb:.0f}" if result.rss_mb else ""),
        result.note,
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=Path("/tmp/camaudit-cluster-bench"))
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--size-mb", type=float, default=260)
    ap.add_argument("--keep", action="store_true", help="keep the captures afterwards")
    ap.add_argument("--zeek", type=Path, help="also time verify --zeek on this directory")
    ap.add_argument("--results", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    camaudit = speed.camaudit_cmd(None)
    assert camaudit, "camaudit not found"
    captures = args.dir / "captures"
    files = [captures / f"site-{i:02d}.pcap" for i in range(args.files)]
    made = [f for f in files if not f.exists()]
    for i, path in enumerate(files):
        if path in made:
            speed.make_capture(path, args.size_mb, seed=i + 1)
    rows: list[list[str]] = []
    figures: dict[str, object] = {"load_before": load(), "machine": speed.machine()}
    try:
        size = sum(f.stat().st_size for f in files)
        packets = sum(speed.count_packets(f) for f in files)
        print(f"{len(files)} files, {size / 1e9:.2f} GB, {packets:,} packets", flush=True)
        runs: list[tuple[str, list[str], set[int]]] = [
            (
                "camaudit --jobs 1",
                [*camaudit, "verify", str(captures), *NETS, *REPORT, "-j", "1"],
                {0, 1, 4},
            ),
            (
                "camaudit --jobs 2",
                [*camaudit, "verify", str(captures), *NETS, *REPORT, "-j", "2"],
                {0, 1, 4},
            ),
        ]
        if shutil.which("tshark"):
            runs.append(
                (
                    "tshark (one file at a time)",
                    looped(["tshark", "-q", "-z", "conv,ip", "-r"], files, "> /dev/null"),
                    {0},
                )
            )
        if shutil.which("tcpdump"):
            runs.append(
                (
                    "tcpdump (one file at a time)",
                    looped(["tcpdump", "-nn", "-r"], files, "> /dev/null 2>&1"),
                    {0},
                )
            )
        for name, cmd, ok in runs:
            for f in files:
                speed.warm(f)
            print(f"timing {name} ...", flush=True)
            result, _ = speed.measure(name, cmd, ok)
            result.tool = name
            rows.append(row(result, packets))
            figures[name] = result.__dict__
        cluster = LocalCluster(args.dir / "dask", workers=2)
        try:
            for f in files:
                speed.warm(f)
            name = "camaudit --scheduler (2 Dask workers)"
            print(f"timing {name} ...", flush=True)
            cmd = [
                *camaudit,
                "verify",
                str(captures),
                *NETS,
                *REPORT,
                "--scheduler",
                cluster.address,
            ]
            result, _ = speed.measure(name, cmd, {0, 1, 4})
            result.tool = name
            workers = [peak_rss_mb(p.pid) for p in cluster.workers]
            per_worker = " / ".join(f"{w:.0f}" for w in workers if w)
            rss = f"client {result.rss_mb:.0f}; workers {per_worker}" if result.rss_mb else None
            rows.append(row(result, packets, rss))
            figures[name] = {**result.__dict__, "workers_rss_mb": workers}
        finally:
            cluster.stop()
        if args.zeek:
            name = "camaudit verify --zeek (a week of conn.log)"
            print(f"timing {name} ...", flush=True)
            cmd = [*camaudit, "verify", "--zeek", str(args.zeek), *REPORT]
            result, _ = speed.measure(name, cmd, {0, 1, 4})
            result.tool = name
            rows.append(row(result, 0))
            figures[name] = result.__dict__
    finally:
        if not args.keep:
            for f in made:
                f.unlink(missing_ok=True)
    figures["load_after"] = load()
    head = ["run", "wall s", "CPU s", "packets/s", "peak RSS MB", "note"]
    lines = [
        f"{len(files)} captures, {size / 1e9:.2f} GB, {packets:,} packets; "
        f"{speed.machine()}; {speed.versions()}",
        f"SHARED machine: load average {figures['load_before']} before, "
        f"{figures['load_after']} after (other helpers' jobs on the same 2 cores)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    print("\n".join(lines))
    if args.results:
        args.results.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
