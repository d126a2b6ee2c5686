#!/usr/bin/env python3
"""Time ``camaudit verify`` against tshark, tcpdump and nfstream on the same large capture.

Makes the capture with bench/make_capture.py if it is missing, warms the page cache, then
runs each tool on the same file and reports wall time, packets/s, peak RSS and the ratios
against camaudit.  A second, smaller capture (a quarter of the size by default) is timed for
camaudit alone to show whether its peak RSS grows with the file.  Targets are printed next to
the figures, never asserted: the exit code is 0 unless camaudit itself fails.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import mmap
import os
import platform
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
OK_CODES = {"camaudit": {0, 1, 4}}  # verify's exit code is a verdict: isolated / not / inconclusive
TOOLS = ("camaudit", "tshark", "tcpdump", "nfstream")
DISCARD_STDOUT = {"tcpdump"}  # a line per packet, straight to /dev/null
TARGET_SPEEDUP = {"tshark": 10.0, "tcpdump": 3.0}  # camaudit --jobs 2
TARGET_SPEEDUP_J1 = {"tshark": 5.0, "tcpdump": 1.5}  # camaudit --jobs 1
TARGET_JOBS_GAIN = 1.7  # --jobs 1 -> --jobs 2
SMALL_CASE = BENCH.parent / "pcaps" / "tls-established" / "tls-established.pcap"
TARGET_RSS_MB = 150.0
FLAT_RSS = 1.25  # peak RSS on the full file at most this many times that on the small one

NFSTREAM_SCRIPT = """\
import sys
from nfstream import NFStreamer
flows = sum(1 for _ in NFStreamer(source=sys.argv[1], statistical_analysis=False))
print(f"{flows:,} flows")
"""

try:
    import psutil
except ImportError:  # peak RSS then comes from wait4() alone
    psutil = None


@dataclass
class Result:
    tool: str
    status: str = "ok"  # or "not installed", "failed (exit N)"
    wall_s: float | None = None
    cpu_s: float | None = None
    rss_mb: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --------------------------------------------------------------------------- captures


def count_packets(path: Path) -> int:
    """Walk the record headers of a pcap or pcapng file."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        magic = m[:4]
        count, size = 0, len(m)
        if magic == b"\x0a\x0d\x0d\x0a":  # pcapng: count packet blocks
            endian = "<" if m[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
            block = struct.Struct(endian + "II")
            pos = 0
            while pos + 8 <= size:
                kind, length = block.unpack_from(m, pos)
                count += kind in (2, 3, 6)
                pos += length
            return count
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            caplen = struct.Struct("<I")
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            caplen = struct.Struct(">I")
        else:
            raise ValueError(f"{path}: not a pcap or pcapng file")
        pos = 24
        unpack = caplen.unpack_from
        while pos + 16 <= size:
            pos += 16 + unpack(m, pos + 8)[0]
            count += 1
        return count


def make_capture(path: Path, size_mb: float, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        str(BENCH / "make_capture.py"),
        str(path),
        "--size-mb",
        f"{size_mb:g}",
        "--seed",
        str(seed),
    ]
    print(f"making {path} ({size_mb:g} MiB) ...", flush=True)
    subprocess.run(cmd, check=True)


def warm(path: Path) -> None:
    """Read the file once so that every tool starts from the page cache."""
    with path.open("rb") as f:
        while f.read(16 << 20):
            pass


# --------------------------------------------------------------------------- measuring


class TreeRss(threading.Thread):
    """Samples the summed RSS of a process and its descendants (for multi-process tools)."""

    def __init__(self, pid: int, skip_root: bool, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.skip_root, self.interval, self.peak = pid, skip_root, interval, 0
        self.done = threading.Event()

    def run(self) -> None:
        if psutil is None:
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done.is_set():
            total = 0
            try:
                procs = root.children(recursive=True)
            except psutil.Error:
                break
            for proc in procs if self.skip_root else [root, *procs]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self.done.wait(self.interval)


def measure(tool: str, cmd: Sequence[str], ok_codes: set[int]) -> tuple[Result, str]:
    """Run ``cmd`` under ``/usr/bin/time`` when there is one.

    Peak RSS is the larger of time's %M (the biggest single process) and the sampled sum over
    the process tree (nfstream runs several).  Not wait4() from here: Linux carries the
    parent's RSS high-water mark through exec, so a child of this Python process would report
    at least this process's size; GNU time's own child starts small.
    """
    gnu_time = Path("/usr/bin/time").exists()
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as stats,
    ):
        sink = subprocess.DEVNULL if tool in DISCARD_STDOUT else out
        argv = [*(["/usr/bin/time", "-f", "%M %U %S", "-o", stats.name] if gnu_time else []), *cmd]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=sink, stderr=err, stdin=subprocess.DEVNULL)
        sampler = TreeRss(proc.pid, skip_root=gnu_time)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        fields = stats.read().split()[-3:] if gnu_time else []
    if len(fields) == 3:
        max_kb, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
    else:
        max_kb, cpu = 0, usage.ru_utime + usage.ru_stime
    peak = max(max_kb * 1024, sampler.peak)
    result = Result(tool, wall_s=wall, cpu_s=cpu, rss_mb=peak / 1e6 if peak else None)
    if proc.returncode not in ok_codes:
        result.status = f"failed (exit {proc.returncode})"
        tail = "".join(f"\n    {line}" for line in stderr.strip().splitlines()[-5:])
        print(f"  {tool} failed with exit {proc.returncode}{tail}", file=sys.stderr)
    elif tool == "camaudit":
        result.note = f"exit {proc.returncode}"
    return result, stdout


def camaudit_cmd(override: str | None) -> list[str] | None:
    if override:
        return shlex.split(override)
    if exe := shutil.which("camaudit"):
        return [exe]
    try:
        if importlib.util.find_spec("camaudit.__main__"):
            return [sys.executable, "-m", "camaudit"]
        if importlib.util.find_spec("camaudit.cli"):
            return [
                sys.executable,
                "-c",
                "import sys; from camaudit.cli import main; sys.exit(main())",
            ]
    except ImportError:
        pass
    return None


def commands(
    capture: Path, camaudit: list[str] | None, jobs: int = 1
) -> dict[str, list[str] | None]:
    f = str(capture)
    has_nfstream = importlib.util.find_spec("nfstream") is not None
    return {
        "camaudit": camaudit
        and [
            *camaudit,
            "verify",
            f,
            "--closed-network",
            "10.66.0.0/24",
            "--closed-network",
            "fd66::/64",
            "--format",
            "json",
            "--output",
            "/dev/null",
            "--jobs",
            str(jobs),
        ],
        "tshark": ["tshark", "-q", "-z", "conv,ip", "-r", f] if shutil.which("tshark") else None,
        "tcpdump": ["tcpdump", "-nn", "-r", f] if shutil.which("tcpdump") else None,
        "nfstream": [sys.executable, "-c", NFSTREAM_SCRIPT, f] if has_nfstream else None,
    }


def run_tool(tool: str, cmd: list[str] | None, repeat: int) -> Result:
    if cmd is None:
        return Result(tool, status="not installed")
    shown = shlex.join(cmd).replace(shlex.quote(NFSTREAM_SCRIPT), "<count NFStreamer flows>")
    print(f"timing {tool}: {shown}", flush=True)
    best: Result | None = None
    for _ in range(repeat):
        result, stdout = measure(tool, cmd, OK_CODES.get(tool, {0}))
        if not result.ok:
            return result
        if tool == "nfstream":
            result.note = stdout.strip().splitlines()[-1] if stdout.strip() else ""
        elif tool == "tshark":
            result.note = f"{sum(' <-> ' in line for line in stdout.splitlines()):,} conversations"
        if best is None:
            best = result
        else:  # best wall time, worst memory
            best.rss_mb = max(best.rss_mb or 0.0, result.rss_mb or 0.0)
            if (result.wall_s or 0.0) < (best.wall_s or 0.0):
                best.wall_s, best.cpu_s = result.wall_s, result.cpu_s
    assert best is not None
    return best


def stage_table(capture: Path, repeat: int) -> str:
    """bench/stages.py's table for --jobs 1 and 2 (pcap files only)."""
    with capture.open("rb") as handle:
        if handle.read(4) == b"\x0a\x0d\x0d\x0a":
            return "  (stages are timed on pcap files only)"
    cmd = [sys.executable, str(BENCH / "stages.py"), str(capture), "--repeat", str(repeat)]
    print(f"timing stages: {shlex.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        return f"  bench/stages.py failed: {proc.stderr.strip().splitlines()[-1:]}"
    return proc.stdout.rstrip()


# --------------------------------------------------------------------------- report


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _ratio(r: Result, ours: Result | None, goals: dict[str, float]) -> tuple[str, str]:
    if not ours or r.tool.startswith("camaudit") or ours.wall_s is None or r.wall_s is None:
        return "", ""
    ratio = r.wall_s / ours.wall_s
    goal = goals.get(r.tool)
    return f"{ratio:.2f}x", f">={goal:g}x {verdict(ratio >= goal)}" if goal else ""


def table(results: list[Result], packets: int) -> str:
    j1 = next((r for r in results if r.tool == "camaudit -j1" and r.ok), None)
    j2 = next((r for r in results if r.tool == "camaudit -j2" and r.ok), None)
    head = (
        "tool",
        "wall s",
        "cpu s",
        "packets/s",
        "peak RSS MB",
        "vs -j1",
        "target -j1",
        "vs -j2",
        "target -j2",
        "note",
    )
    rows = []
    for r in results:
        if not r.ok:
            rows.append((r.tool, r.status, "", "", "", "", "", "", "", ""))
            continue
        assert r.wall_s is not None
        speed1, target1 = _ratio(r, j1, TARGET_SPEEDUP_J1)
        speed2, target2 = _ratio(r, j2, TARGET_SPEEDUP)
        note = r.note
        if r.tool.startswith("camaudit") and r.rss_mb:
            rss_note = f"RSS<={TARGET_RSS_MB:g}MB {verdict(r.rss_mb <= TARGET_RSS_MB)}"
            note = f"{rss_note}; {note}" if note else rss_note
        rows.append(
            (
                r.tool,
                f"{r.wall_s:.2f}",
                fmt(r.cpu_s, ".2f"),
                f"{packets / r.wall_s:,.0f}",
                fmt(r.rss_mb, ".1f"),
                speed1,
                target1,
                speed2,
                target2,
                note,
            )
        )
    widths = [max(len(str(row[i])) for row in (head, *rows)) for i in range(len(head))]
    right = {1, 2, 3, 4, 5, 7}

    def line(row: Sequence[str]) -> str:
        cells = (
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(head), rule, *(line(row) for row in rows)])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def versions() -> str:
    found = []
    for tool, cmd in (("tshark", ["tshark", "--version"]), ("tcpdump", ["tcpdump", "--version"])):
        if shutil.which(tool):
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
                found.append(out.splitlines()[0].strip().rstrip(".") if out else tool)
            except (OSError, subprocess.SubprocessError):
                found.append(tool)
    if importlib.util.find_spec("nfstream"):
        from importlib.metadata import version

        found.append(f"nfstream {version('nfstream')}")
    return "; ".join(found)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", type=Path, help="capture to time (made if missing)")
    ap.add_argument("--size-mb", type=float, default=1100, help="size of a capture to make (MiB)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep captures this run made")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool: best time, worst RSS")
    ap.add_argument(
        "--small-fraction",
        type=float,
        default=0.25,
        help="size of the RSS-scaling capture relative to the main one (0: skip)",
    )
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset to time")
    ap.add_argument("--camaudit", help="command to run camaudit (default: found on PATH)")
    ap.add_argument("--results", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--no-stages", action="store_true", help="skip the per-stage timing")
    args = ap.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    if unknown := set(tools) - set(TOOLS):
        ap.error(f"unknown tools: {', '.join(sorted(unknown))}")

    made: list[Path] = []
    capture = args.capture or CACHE / f"camnet-{args.size_mb:g}MiB-s{args.seed}.pcap"
    if not capture.exists():
        make_capture(capture, args.size_mb, args.seed)
        made.append(capture)
    camaudit = camaudit_cmd(args.camaudit)
    size = capture.stat().st_size
    small: Path | None = None
    if args.small_fraction > 0 and "camaudit" in tools and camaudit:
        small_mb = round(size / (1 << 20) * args.small_fraction, 1)
        small = CACHE / f"camnet-{small_mb:g}MiB-s{args.seed}.pcap"
        if not small.exists():
            make_capture(small, small_mb, args.seed)
            made.append(small)

    try:
        packets = count_packets(capture)
        cmds = commands(capture, camaudit)
        warm(capture)
        results = []
        for tool in tools:
            if tool == "camaudit":
                for jobs in (1, 2):
                    cmd = commands(capture, camaudit, jobs)["camaudit"]
                    result = run_tool("camaudit", cmd, args.repeat)
                    result.tool = f"camaudit -j{jobs}"
                    results.append(result)
            else:
                results.append(run_tool(tool, cmds[tool], args.repeat))
        small_result = small_packets = None
        if small:
            small_packets = count_packets(small)
            warm(small)
            small_result = run_tool(
                "camaudit", commands(small, camaudit, 2)["camaudit"], args.repeat
            )
        tiny = []
        if "camaudit" in tools and SMALL_CASE.exists():
            for tool in ("camaudit", "tshark"):
                result = run_tool(tool, commands(SMALL_CASE, camaudit)[tool], max(args.repeat, 3))
                tiny.append(result)
        staged = ""
        if "camaudit" in tools and not args.no_stages:
            staged = stage_table(capture, args.repeat)
    finally:
        if not args.keep:
            for path in made:
                path.unlink(missing_ok=True)

    print()
    print(f"camaudit benchmark, {time.strftime('%Y-%m-%d')}, {machine()}")
    print(f"tools: {versions()}")
    print(
        f"capture: {capture.name}, {size:,} bytes, {packets:,} packets; "
        f"warm page cache, best of {args.repeat}"
    )
    print("speed ratio = their wall s / camaudit's; RSS ratio = camaudit's peak RSS / theirs")
    print()
    print(table(results, packets))
    ours = next((r for r in results if r.tool == "camaudit -j2"), None)
    j1 = next((r for r in results if r.tool == "camaudit -j1"), None)
    if ours and j1 and ours.ok and j1.ok and ours.wall_s and j1.wall_s:
        gain = j1.wall_s / ours.wall_s
        print(
            f"speed-up --jobs 1 -> --jobs 2: {gain:.2f}x "
            f"(target >={TARGET_JOBS_GAIN:g}x {verdict(gain >= TARGET_JOBS_GAIN)})"
        )
    if len(tiny) == 2 and all(r.ok and r.wall_s for r in tiny):
        ca, ts = tiny
        assert ca.wall_s and ts.wall_s
        print(
            f"small capture ({SMALL_CASE.parent.name}, {count_packets(SMALL_CASE)} packets, "
            f"best of {max(args.repeat, 3)}): camaudit {ca.wall_s:.2f} s, tshark -q -z conv,ip "
            f"{ts.wall_s:.2f} s (target: camaudit <= tshark {verdict(ca.wall_s <= ts.wall_s)})"
        )
    if staged:
        print()
        print(
            "where camaudit's time goes (bench/stages.py; each stage timed alone, best of "
            f"{args.repeat}):"
        )
        print(staged)
    if small and small_result and small_packets is not None:
        print()
        print(f"camaudit --jobs 2 peak RSS vs file size ({small.name}: {small_packets:,} packets):")
        full = f"{ours.rss_mb:.1f} MB" if ours and ours.ok and ours.rss_mb else "-"
        part = (
            f"{small_result.rss_mb:.1f} MB ({small_result.wall_s:.2f} s, "
            f"{small_packets / small_result.wall_s:,.0f} packets/s)"
            if small_result.ok and small_result.rss_mb and small_result.wall_s
            else small_result.status
        )
        print(f"  full file {full}, {args.small_fraction:g}x file {part}", end="")
        if ours and ours.ok and ours.rss_mb and small_result.ok and small_result.rss_mb:
            growth = ours.rss_mb / small_result.rss_mb
            print(
                f"; growth {growth:.2f}x (target: <={TARGET_RSS_MB:g} MB "
                f"{verdict(ours.rss_mb <= TARGET_RSS_MB)}, flat <={FLAT_RSS:g}x "
                f"{verdict(growth <= FLAT_RSS)})"
            )
        else:
            print()
    if args.results:
        args.results.write_text(
            json.dumps(
                {
                    "capture": {"path": str(capture), "bytes": size, "packets": packets},
                    "results": [asdict(r) for r in results],
                    "small": small_result and {"packets": small_packets, **asdict(small_result)},
                },
                indent=2,
            )
            + "\n"
        )
    failed = [
        r
        for r in (*results, small_result)
        if r and r.tool.startswith("camaudit") and r.status.startswith("failed")
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
