"""Run every fuzz target for SECONDS each, one at a time, and print executions and crashes.

``python fuzz/run.py SECONDS [target ...]``. New inputs libFuzzer finds go to
build/fuzz/<target>/ (not the committed seeds); a crash or hang is written to
build/fuzz/crashes/ and makes the exit status 1.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
WORK = FUZZ.parent / "build" / "fuzz"
HANG_SECONDS = 10


def targets() -> list[str]:
    return sorted(p.stem.removeprefix("fuzz_") for p in FUZZ.glob("fuzz_*.py"))


def run(target: str, seconds: int) -> tuple[int, bool]:
    """(executions, crashed) of one target."""
    found = WORK / target
    crashes = WORK / "crashes"
    found.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(FUZZ / f"fuzz_{target}.py"),
        f"-max_total_time={seconds}",
        f"-timeout={HANG_SECONDS}",
        "-rss_limit_mb=2048",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/{target}-",
        str(found),
        str(FUZZ / "corpus" / target),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", done.stderr)
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
    return int(runs[-1]) if runs else 0, done.returncode != 0


def main() -> int:
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    chosen = sys.argv[2:] or targets()
    failed = False
    print(f"{'target':<14} {'executions':>12}  result")
    for target in chosen:
        executions, crashed = run(target, seconds)
        failed |= crashed
        print(f"{target:<14} {executions:>12}  {'CRASH' if crashed else 'ok'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
