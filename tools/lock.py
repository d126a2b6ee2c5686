"""Write constraints.txt: the exact version of every package a fresh install of camaudit gets.

``python tools/lock.py`` (``make lock``) resolves, in a new virtual environment of the same
interpreter the Makefile uses, what ``pip install -r lab/requirements.txt '.[<every extra>]'``
would install today, and writes each package as ``name==version``. The Makefile installs with
``-c constraints.txt``, so a later install gets exactly these versions until someone re-locks.

Why pins and no ``--hash``: the Makefile installs camaudit itself editable (``-e .``), and pip
refuses hash-checking mode with an editable requirement ("cannot be installed when requiring
hashes, because there is no single file to hash"); a hash in a constraints file turns that mode
on for the whole install.

The machine's own pip configuration (an index, a global constraints file) applies to the
resolve as it does to the install, so the two cannot disagree.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "constraints.txt"
LAB = "lab/requirements.txt"


def extras() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return sorted(tomllib.load(handle)["project"]["optional-dependencies"])


def resolve(python: str, names: list[str]) -> list[tuple[str, str]]:
    """(name, version) of every package pip would install, camaudit itself left out."""
    with tempfile.TemporaryDirectory(prefix="camaudit-lock-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip"]
        subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=True)
        report = Path(tmp) / "report.json"
        wanted = f".[{','.join(names)}]"
        dry_run = ["install", "-q", "--dry-run", "--ignore-installed", "--report", str(report)]
        subprocess.run([*pip, *dry_run, "-r", LAB, wanted, "pip"], check=True, cwd=ROOT)
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    found = {(normal(i["metadata"]["name"]), i["metadata"]["version"]) for i in installs}
    return sorted((n, v) for n, v in found if n != "camaudit")


def normal(name: str) -> str:
    """The name as PEP 503 normalises it (``Jinja2``: ``jinja2``, ``pip_audit``: ``pip-audit``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> int:
    python = sys.argv[1] if len(sys.argv) > 1 else sys.executable
    names = extras()
    pins = resolve(python, names)
    version = subprocess.run(
        [python, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    lines = [
        "# Exact versions of every package camaudit, its extras and the lab install. Generated",
        "# by `make lock` (tools/lock.py) from a fresh resolve; do not edit: re-lock instead.",
        f"# extras: {' '.join(names)}",
        f"# also: {LAB}, pip",
        f"# resolved with: Python {version} on {platform.system()} {platform.machine()}",
        *(f"{name}=={ver}" for name, ver in pins),
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT.name}: {len(pins)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
