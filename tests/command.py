"""The camaudit command line as a shell runs it, for the tests that check what a user sees."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.conftest import ROOT

# the console entry point, run by the interpreter of the tests (PYTHONPATH reaches it)
CAMAUDIT = [sys.executable, "-m", "camaudit"]


def run_camaudit(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``camaudit ARGS``; ``env`` is added to this process's environment."""
    return subprocess.run(
        [*CAMAUDIT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def in_a_fresh_interpreter(
    statements: str, timeout: float = 300
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the Python ``statements`` in a new interpreter in the repository: how it ended, and
    every module loaded by then (its last line on stdout, written also when they exit or fail)."""
    script = (
        "import sys\ntry:\n"
        + textwrap.indent(statements, "    ")
        + "\nfinally:\n    sys.__stdout__.write('\\n' + ' '.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
    return result, set((result.stdout.splitlines() or [""])[-1].split())


def camaudit_main(*args: str) -> str:
    """The Python statements that run ``camaudit ARGS`` through its entry point."""
    return f"from camaudit.cli import main\nsys.argv = ['camaudit', *{list(args)!r}]\nmain()"


def read_terminal(
    master: int, process: subprocess.Popen[bytes], started: float
) -> list[tuple[float, bytes]]:
    """(seconds after ``started``, bytes) for everything written to the pseudo-terminal
    whose ``master`` side this is, until ``process`` has ended and nothing is left."""
    chunks: list[tuple[float, bytes]] = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not data:
                break
            chunks.append((time.monotonic() - started, data))
        elif process.poll() is not None:
            break
    return chunks
