"""The camaudit command line as a shell runs it, for the tests that check what a user sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
