"""Build the offline advisory snapshot ``make audit`` falls back on when no service answers.

``python tools/advisories.py build DIR`` reads the PyPA advisory database's OSV YAML files in
DIR (a clone's ``vulns/`` folder: one folder per normalised package name, one file per
advisory) for every package pinned in constraints.txt and writes tools/advisories/pypa.json:

- ``source``: repository, path, commit, the date it was read and ``as_of``, the date the data
  is known to be current to (the clone's last commit; without git history, the newest
  ``modified`` date of the advisories read, a lower bound). tools/audit.py measures the
  snapshot's age from ``as_of``;
- ``packages``: every pinned package, looked up, with the ids of its advisories (an empty
  list: the database has no folder, so no advisory, for it);
- ``advisories``: id, package, aliases, related ids, the ECOSYSTEM ranges (OSV events
  ``introduced`` / ``fixed`` / ``last_affected``), the explicit ``versions``, ``withdrawn``,
  ``modified``, the file's path and commit and a link to it. No summary or details text.

Both encodings the database has used are read: OSV ``affected:`` (events) and the older
``affects:`` (``introduced`` / ``fixed`` keys on the range). A ``PYSEC-0000-*`` file is a
placeholder awaiting its id (database README); it is left out when an advisory with an
allocated id of the same package names the same CVE.

``--commits FILE`` gives each file's commit (``<package>/<file> <sha>`` lines) where DIR is no
git checkout; ``--read DATE`` sets the date read (default: today, UTC); ``--how`` says how
the files were obtained when it was not a clone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
SNAPSHOT = ROOT / "tools" / "advisories" / "pypa.json"
REPOSITORY = "https://github.com/pypa/advisory-database"
PLACEHOLDER = "PYSEC-0000-"
EVENT_KINDS = ("introduced", "fixed", "last_affected")


def normal(name: str) -> str:
    """PEP 503 normalised package name (the database's folder names)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(constraints: Path) -> dict[str, str]:
    """{normalised name: version} of every ``name==version`` line."""
    pins = {}
    for line in constraints.read_text(encoding="utf-8").splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[normal(name)] = version.strip()
    return pins


def _events(old_range: dict[str, Any]) -> list[dict[str, str]]:
    """The events of an ``affects:`` range (no ``introduced``: from the first version)."""
    events = [{"introduced": str(old_range.get("introduced", "0"))}]
    events += [{kind: str(old_range[kind])} for kind in EVENT_KINDS[1:] if kind in old_range]
    return events


def _affected(doc: dict[str, Any], package: str) -> list[dict[str, Any]]:
    """The ECOSYSTEM ranges and explicit versions of ``package`` in one advisory."""
    if "affects" in doc:  # the older encoding: one package, ranges with keys
        old = doc["affects"] or {}
        ranges = [
            {"type": "ECOSYSTEM", "events": _events(r)}
            for r in old.get("ranges", [])
            if r.get("type") == "ECOSYSTEM"
        ]
        return [{"ranges": ranges, "versions": [str(v) for v in old.get("versions", [])]}]
    affected = []
    for entry in doc.get("affected", []):
        about = entry.get("package", {})
        if about.get("ecosystem") != "PyPI" or normal(str(about.get("name", ""))) != package:
            continue
        ranges = [
            {
                "type": "ECOSYSTEM",
                "events": [{k: str(v) for k, v in e.items()} for e in r["events"]],
            }
            for r in entry.get("ranges", [])
            if r.get("type") == "ECOSYSTEM"
        ]
        affected.append({"ranges": ranges, "versions": [str(v) for v in entry.get("versions", [])]})
    return affected


def _text(value: Any) -> str:
    """A YAML scalar as text (an unquoted timestamp loads as a datetime)."""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def advisory(path: Path, package: str, commit: str) -> dict[str, Any]:
    """One advisory file as a snapshot entry."""
    import yaml  # only the builder reads YAML; tools/audit.py imports this module without it

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not YAML ({error})".splitlines()[0]) from None
    if not isinstance(doc, dict) or "id" not in doc:
        raise ValueError(f"{path}: not an OSV advisory (no id)")
    relative = f"vulns/{package}/{path.name}"
    return {
        "id": str(doc["id"]),
        "package": package,
        "aliases": [str(a) for a in doc.get("aliases") or []],
        "related": [str(a) for a in doc.get("related") or []],
        "affected": _affected(doc, package),
        "withdrawn": _text(doc["withdrawn"]) if doc.get("withdrawn") else None,
        "modified": _text(doc.get("modified", "")),
        "path": relative,
        "commit": commit,
        "url": f"{REPOSITORY}/blob/{commit or 'main'}/{relative}",
    }


def _superseded(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out placeholders whose CVE an allocated advisory of the package already names."""
    named = {
        alias
        for e in entries
        if not e["id"].startswith(PLACEHOLDER)
        for alias in e["aliases"] + e["related"]
    }
    kept = []
    for entry in entries:
        cve = entry["id"].removeprefix(PLACEHOLDER)
        if entry["id"].startswith(PLACEHOLDER) and (cve in named or set(entry["aliases"]) & named):
            continue
        kept.append(entry)
    return kept


def _git(folder: Path, *args: str) -> str:
    """git's answer about ``folder``, "" when it is no checkout (or git is missing)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _commits(listing: Path | None) -> dict[str, str]:
    if listing is None:
        return {}
    rows = (line.split() for line in listing.read_text(encoding="utf-8").splitlines())
    return {row[0]: row[1] for row in rows if len(row) == 2}


def build(
    folder: Path, pins: dict[str, str], read: dt.date, commits: dict[str, str], how: str = ""
) -> dict[str, Any]:
    """The snapshot of ``folder`` (a ``vulns/`` tree) for the pinned packages."""
    # a clone's vulns/ folder only: never the commit of a repository that merely contains DIR
    clone = _git(folder, "rev-parse", "--show-prefix") == "vulns/"
    head = _git(folder, "rev-parse", "HEAD") if clone else ""
    entries: list[dict[str, Any]] = []
    packages: dict[str, dict[str, list[str]]] = {}
    for package in sorted(pins):
        files = sorted((folder / package).glob("*.yaml"))
        found = [advisory(f, package, commits.get(f"{package}/{f.name}", head)) for f in files]
        found = _superseded(found)
        packages[package] = {"advisories": [e["id"] for e in found]}
        entries += found
    as_of = _git(folder, "log", "-1", "--format=%cs") if clone else ""
    how = how or ("git checkout" if head else "advisory files read one by one (commit per file)")
    if not as_of:  # no history: the newest change among the advisories read
        as_of = max((e["modified"][:10] for e in entries), default=read.isoformat())
    return {
        "source": {
            "repository": REPOSITORY,
            "path": "vulns/",
            "commit": head or None,
            "read": read.isoformat(),
            "as_of": as_of,
            "how": how,
        },
        "packages": packages,
        "advisories": entries,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="write the snapshot from a vulns/ folder")
    make.add_argument("folder", type=Path, help="the advisory database's vulns/ folder")
    make.add_argument("--constraints", type=Path, default=CONSTRAINTS)
    make.add_argument("--out", type=Path, default=SNAPSHOT)
    make.add_argument("--commits", type=Path, help="'<package>/<file> <sha>' lines")
    make.add_argument("--read", type=dt.date.fromisoformat, help="date read (YYYY-MM-DD)")
    make.add_argument("--how", default="", help="how the files were read (recorded as is)")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"advisories: {args.folder} is not a folder", file=sys.stderr)
        return 2
    read = args.read or dt.datetime.now(dt.UTC).date()
    try:
        commits = _commits(args.commits)
        snapshot = build(args.folder, pinned(args.constraints), read, commits, args.how)
    except (OSError, ValueError, ImportError) as error:
        print(f"advisories: {error}".splitlines()[0], file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
    count = f"{len(snapshot['advisories'])} advisories, {len(snapshot['packages'])} packages"
    print(f"{args.out}: {count}, as of {snapshot['source']['as_of']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
