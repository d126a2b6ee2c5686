"""Audit constraints.txt for known vulnerabilities with pip-audit; say plainly when it could not.

``python tools/audit.py`` (``make audit``, run by CI) asks the PyPI vulnerability service, then
OSV, then ecosyste.ms, about every pinned package. It prints one line and exits:

- 0 ``audited: no known vulnerability in N packages (service)``;
- 1 with each vulnerability found;
- 0 ``dependencies NOT AUDITED: ...`` (2 with ``AUDIT_REQUIRED=1``) when no service answered
  for every package: pip-audit itself reports "No known vulnerabilities found" when a service
  does not know a single package, which is no audit at all.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
SERVICES = ("pypi", "osv", "esms")  # esms: ecosyste.ms advisories (pip-audit 2.10)
TIMEOUT = 300


def ask(service: str) -> tuple[dict[str, list[str]] | None, str]:
    """({package: vulnerability ids} of every package, "") or (None, why there is no answer)."""
    command = [sys.executable, "-m", "pip_audit", "--disable-pip", "--no-deps", "-f", "json"]
    command += ["--progress-spinner=off", "-r", str(CONSTRAINTS), "-s", service, "--timeout", "30"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return None, f"{service}: no answer within {TIMEOUT} s"
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None, f"{service}: {_failure(done.stderr)}"
    return read_report(service, report)


def read_report(service: str, report: dict[str, Any]) -> tuple[dict[str, list[str]] | None, str]:
    """pip-audit's JSON report read as :func:`ask` answers: an answer only if every package
    was looked up (pip-audit skips a package the service does not know, and still says
    "No known vulnerabilities found")."""
    found: dict[str, list[str]] = {}
    skipped = []
    for dep in report.get("dependencies", []):
        if "skip_reason" in dep:
            skipped.append(dep["name"])
        else:
            found[dep["name"]] = [v["id"] for v in dep.get("vulns", [])]
    if not found and not skipped:
        return None, f"{service}: no package in its report"
    if skipped:
        shown = ", ".join(skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        total = len(skipped) + len(found)
        return None, f"{service}: {len(skipped)} of {total} packages not found by it ({shown})"
    return found, ""


def _failure(stderr: str) -> str:
    """Why pip-audit gave no report, in a few words (the host it could not reach)."""
    host = re.search(r"host='([^']+)'", stderr)
    if host and ("NameResolutionError" in stderr or "Failed to resolve" in stderr):
        return f"cannot resolve {host[1]}"
    if host:
        return f"cannot connect to {host[1]}"
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    return last[:160]


def main() -> int:
    reasons = []
    for service in SERVICES:
        found, why = ask(service)
        if found is None:
            reasons.append(why)
            continue
        vulnerable = {name: ids for name, ids in found.items() if ids}
        for name, ids in sorted(vulnerable.items()):
            print(f"vulnerable: {name}: {', '.join(ids)}")
        if vulnerable:
            count = f"{len(vulnerable)} of {len(found)} packages"
            print(f"audit ({service}): {count} have known vulnerabilities")
            return 1
        print(f"audited: no known vulnerability in {len(found)} packages ({service})")
        return 0
    print(f"dependencies NOT AUDITED: no vulnerability service answered ({'; '.join(reasons)})")
    return 2 if os.environ.get("AUDIT_REQUIRED") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())
