"""Run fuzz targets one at a time, for a time or a number of executions each, and print the
executions, the rate and the result of each.

``python fuzz/run.py SECONDS [target ...]`` (as before) or
``python fuzz/run.py [--seconds S] [--runs N] [target ...]``: libFuzzer's ``-max_total_time``
and ``-runs`` (with both, a target stops at whichever comes first). New inputs libFuzzer finds
go to build/fuzz/<target>/ (not the committed seeds; a later run starts from them), libFuzzer's
output to build/fuzz/<target>.log; a crash or hang is written to build/fuzz/crashes/ and makes
the exit status 1.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
WORK = FUZZ.parent / "build" / "fuzz"
HANG_SECONDS = 10
# Largest input per target (libFuzzer -max_len): room for what the parser reads in one piece
# (a capture cut to a few records, 16 frames, a DNS message, a reply, a TOML file) and no more:
# a longer input mostly costs time in code that loops over what it has already seen.
MAX_LEN = {
    "pcap": 4096,
    "pcapng": 4096,
    "packet": 2048,
    "dns": 1024,
    "tls": 2048,
    "http": 4096,
    "rtsp": 2048,
    "onvif": 4096,
    "wsdiscovery": 4096,
    "sadp": 2048,
    "dhip": 2048,
    "policy": 4096,
    "profiles": 4096,
    "zeek": 4096,
}


def targets() -> list[str]:
    return sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py"))


def command(target: str, seconds: int | None, runs: int | None) -> list[str]:
    """The libFuzzer command line of one target."""
    crashes = WORK / "crashes"
    limits = [f"-max_total_time={seconds}"] if seconds else []
    limits += [f"-runs={runs}"] if runs else []
    return [
        sys.executable,
        str(FUZZ / f"fuzz_{target}.py"),
        *limits,
        f"-max_len={MAX_LEN.get(target, 4096)}",
        f"-timeout={HANG_SECONDS}",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/{target}-",
        str(WORK / target),
        str(FUZZ / "corpus" / target),
    ]


def run(target: str, seconds: int | None, runs: int | None) -> tuple[int, float, bool]:
    """(executions, seconds taken, crashed) of one target."""
    (WORK / target).mkdir(parents=True, exist_ok=True)
    (WORK / "crashes").mkdir(parents=True, exist_ok=True)
    log = WORK / f"{target}.log"  # libFuzzer's own output, as it runs (`tail -f` a long run)
    start = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(
            command(target, seconds, runs), stdout=out, stderr=out, text=True, check=False
        )
    took = time.monotonic() - start
    output = log.read_text(encoding="utf-8", errors="replace")
    executed = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
    if done.returncode:
        sys.stderr.write(output[-4000:])
    return int(executed[-1]) if executed else 0, took, done.returncode != 0


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, help="stop each target after this many seconds")
    parser.add_argument("--runs", type=int, help="stop each target after this many executions")
    parser.add_argument("targets", nargs="*", help=f"default: all ({', '.join(targets())})")
    args = parser.parse_args(argv)
    if args.targets and args.targets[0].isdigit():  # the old form: run.py SECONDS [target ...]
        args.seconds = int(args.targets.pop(0))
    if not args.seconds and not args.runs:
        args.seconds = 60
    unknown = sorted(set(args.targets) - set(targets()))
    if unknown:
        parser.error(f"no such target: {', '.join(unknown)}")
    return args


def main(argv: list[str]) -> int:
    args = arguments(argv)
    failed = False
    print(f"{'target':<14} {'executions':>12} {'seconds':>9} {'exec/s':>8}  result", flush=True)
    for target in args.targets or targets():
        executions, took, crashed = run(target, args.seconds, args.runs)
        failed |= crashed
        rate = executions / took if took else 0.0
        result = "CRASH" if crashed else "ok"
        print(f"{target:<14} {executions:>12} {took:>9.0f} {rate:>8.0f}  {result}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
