"""Audit constraints.txt for known vulnerabilities with pip-audit; say plainly when it could not.

``python tools/audit.py`` (``make audit``, run by CI) asks the PyPI vulnerability service, then
OSV, then ecosyste.ms, about every pinned package. When none answers for every package
(pip-audit itself reports "No known vulnerabilities found" when a service does not know a
single package, which is no audit at all), it audits the pins against the committed snapshot
of the PyPA advisory database, tools/advisories/pypa.json (``tools/advisories.py build``),
with OSV's ECOSYSTEM range rules. It prints one line and exits:

- 0 ``audited: no known vulnerability in N packages (service)``;
- 0 ``audited OFFLINE against the PyPA advisory-database snapshot of DATE ...: no known
  vulnerability — not a live audit (why the services failed)``;
- 1 with each vulnerability found (live or in the snapshot), less the reviewed entries of
  tools/advisories/ignore.toml, which are printed;
- 0 ``dependencies NOT AUDITED: ...`` (2 with ``AUDIT_REQUIRED=1``) when no service answered
  and the snapshot is missing, does not cover every pinned package, or is more than
  MAX_AGE_DAYS old (its ``as_of`` date, the date its data is known to be current to).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advisories import normal, pinned  # tools/advisories.py: the snapshot's builder
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
SERVICES = ("pypi", "osv", "esms")  # esms: ecosyste.ms advisories (pip-audit 2.10)
TIMEOUT = 300
SNAPSHOT = ROOT / "tools" / "advisories" / "pypa.json"
IGNORE = ROOT / "tools" / "advisories" / "ignore.toml"
# Older than this, the snapshot no longer counts as an audit (AUDIT_REQUIRED=1 fails): new
# advisories appear every week, and three months is the longest a pin should go unexamined.
MAX_AGE_DAYS = 90


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


@dataclass(frozen=True)
class Finding:
    """A pinned version an advisory of the snapshot affects."""

    version: str
    advisory: dict[str, Any]  # the snapshot's entry
    unreadable: str = ""  # a range that could not be evaluated: counted as affecting

    @property
    def package(self) -> str:
        return str(self.advisory["package"])

    @property
    def names(self) -> set[str]:
        """The advisory's id and aliases (what an ignore entry may name)."""
        return {self.advisory["id"], *self.advisory.get("aliases", [])}

    def line(self) -> str:
        aliases = self.advisory.get("aliases", [])
        names = f" ({', '.join(aliases)})" if aliases else ""
        if self.unreadable:
            names += f" [range not evaluable: {self.unreadable}; counted as affecting]"
        ident, url = self.advisory["id"], self.advisory["url"]
        return f"{self.package}=={self.version}: {ident}{names} {url}"


def _event_order(event: dict[str, str]) -> tuple[int, Version]:
    ((_, value),) = event.items()
    return (0, Version("0")) if value == "0" else (1, Version(value))


def in_range(version: Version, events: list[dict[str, str]]) -> bool:
    """OSV ECOSYSTEM range: events in version order ("0" first, whatever order the file
    lists them in); ``introduced`` opens, ``fixed`` closes before itself, ``last_affected``
    closes after itself. Raises InvalidVersion for an event version PEP 440 cannot read."""
    affected = False
    for event in sorted(events, key=_event_order):
        ((kind, value),) = event.items()
        if kind == "introduced":
            affected = affected or value == "0" or version >= Version(value)
        elif kind in ("fixed", "last_affected"):  # "limit" bounds git ranges only
            bound = Version(value)
            if version > bound or (kind == "fixed" and version == bound):
                affected = False
    return affected


def _listed(pin: str, versions: Iterable[str]) -> bool:
    """``pin`` among an advisory's explicit versions, as written or as the same PEP 440 version."""
    for listed in versions:
        if listed == pin:
            return True
        try:
            if Version(listed) == Version(pin):
                return True
        except InvalidVersion:
            continue
    return False


def affects(advisory: dict[str, Any], pin: str) -> bool:
    """Whether ``advisory`` (a snapshot entry) affects version ``pin``: in one of its ECOSYSTEM
    ranges or its ``versions`` list; never when withdrawn. Raises InvalidVersion."""
    if advisory.get("withdrawn"):
        return False
    for entry in advisory["affected"]:
        if _listed(pin, entry.get("versions", [])):
            return True
        if any(in_range(Version(pin), r["events"]) for r in entry["ranges"]):
            return True
    return False


def scan(snapshot: dict[str, Any], pins: dict[str, str]) -> list[Finding]:
    """Every (pinned package, advisory) pair of the snapshot that affects the pin."""
    found = []
    for advisory in snapshot["advisories"]:
        pin = pins.get(advisory["package"])
        if pin is None:
            continue
        try:
            hit, unreadable = affects(advisory, pin), ""
        except InvalidVersion as error:
            hit, unreadable = True, str(error)
        if hit:
            found.append(Finding(pin, advisory, unreadable))
    return found


@dataclass(frozen=True)
class Ignore:
    """A reviewed advisory that does not reach camaudit (tools/advisories/ignore.toml)."""

    advisory: str
    package: str
    reason: str
    reviewed: dt.date


def load_ignores(path: Path) -> list[Ignore]:
    """The entries of the ignore file (none when it does not exist). Raises ValueError."""
    if not path.exists():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("ignore", [])
        ignores = [
            Ignore(e["id"], normal(e["package"]), str(e["reason"]).strip(), e["reviewed"])
            for e in entries
        ]
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{path.name}: {error}") from None
    for ignore in ignores:
        if not ignore.reason or not isinstance(ignore.reviewed, dt.date):
            raise ValueError(f"{path.name}: {ignore.advisory} needs a reason and a reviewed date")
    return ignores


def _ignored(finding: Finding, ignores: list[Ignore]) -> Ignore | None:
    for ignore in ignores:
        if ignore.package == finding.package and ignore.advisory in finding.names:
            return ignore
    return None


def _not_audited(line: str) -> int:
    print(f"dependencies NOT AUDITED: {line}")
    return 2 if os.environ.get("AUDIT_REQUIRED") == "1" else 0


def offline(
    reasons: list[str], pins: dict[str, str], snapshot_path: Path, ignore_path: Path, today: dt.date
) -> int:
    """Audit ``pins`` against the snapshot, print the outcome, return the exit code."""
    services = f"no vulnerability service answered: {'; '.join(reasons)}"
    try:
        snapshot = json.loads(snapshot_path.read_text(encoding="utf-8"))
        as_of = dt.date.fromisoformat(snapshot["source"]["as_of"])
        covered = set(snapshot["packages"])
        findings = scan(snapshot, pins)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return _not_audited(f"{services}; no usable advisory snapshot ({error})")
    try:
        ignores = load_ignores(ignore_path)
    except ValueError as error:  # fail closed: an unreadable ignore list excuses nothing
        print(f"audit: ignore list not applied: {error}", file=sys.stderr)
        ignores = []
    read = snapshot["source"].get("read", str(as_of))
    name = f"the PyPA advisory-database snapshot of {as_of}"
    name += f" (read {read})" if read != str(as_of) else ""
    vulnerable = []
    for finding in findings:
        ignore = _ignored(finding, ignores)
        if ignore:
            print(f"ignored: {finding.line()} — {ignore.reason} (reviewed {ignore.reviewed})")
        else:
            print(f"vulnerable: {finding.line()}")
            vulnerable.append(finding)
    if vulnerable:
        count = len({f.package for f in vulnerable})
        print(f"audit OFFLINE ({name}): {count} of {len(pins)} packages have known vulnerabilities")
        return 1
    missing = sorted(set(pins) - covered)
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        return _not_audited(
            f"{name} does not cover {len(missing)} pinned packages ({shown}): rebuild it with "
            f"tools/advisories.py build; {services}"
        )
    size = f"{len(snapshot['advisories'])} advisories, {len(pins)} packages"
    age = (today - as_of).days
    if age > MAX_AGE_DAYS:
        return _not_audited(
            f"{name} is {age} days old (over {MAX_AGE_DAYS}; refresh: tools/advisories.py "
            f"build) — against it ({size}) no known vulnerability; {services}"
        )
    print(
        f"audited OFFLINE against {name} ({size}): no known vulnerability — "
        f"not a live audit ({services})"
    )
    return 0


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
    today = dt.datetime.now(dt.UTC).date()
    return offline(reasons, pinned(CONSTRAINTS), SNAPSHOT, IGNORE, today)


if __name__ == "__main__":
    sys.exit(main())
