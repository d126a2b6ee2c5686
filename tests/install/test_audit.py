"""make audit (tools/audit.py) reads pip-audit's report without mistaking "not looked up" for
"no vulnerability": a service that does not know a package has not audited it. When no
service answers, it audits the pins against the committed PyPA advisory-database snapshot
(tools/advisories.py builds it from the database's OSV YAML files) with OSV's range rules."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT

TOOLS = ROOT / "tools"


def _tool(name: str) -> ModuleType:
    if str(TOOLS) not in sys.path:  # audit.py imports advisories.py as its neighbour
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def _audit() -> ModuleType:
    return _tool("audit")


# The shape of `pip-audit -f json` (2.10) as it answered on this machine: every package
# skipped because the PyPI mirror here has no per-version JSON API.
SKIPPED = {
    "dependencies": [
        {"name": "numpy", "skip_reason": "Dependency not found on PyPI and could not be audited"},
        {"name": "scapy", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ],
    "fixes": [],
}


def _looked_up(*vulns: list[str]) -> dict[str, object]:
    deps = [
        {"name": f"pkg{i}", "version": "1.0", "vulns": [{"id": v, "fix_versions": []} for v in ids]}
        for i, ids in enumerate(vulns)
    ]
    return {"dependencies": deps, "fixes": []}


def test_packages_the_service_did_not_know_are_not_audited() -> None:
    found, why = _audit().read_report("pypi", SKIPPED)
    assert found is None
    assert why == "pypi: 2 of 2 packages not found by it (numpy, scapy)"


def test_one_package_not_looked_up_is_no_full_audit() -> None:
    report = _looked_up([], [])
    report["dependencies"].append(SKIPPED["dependencies"][0])  # type: ignore[attr-defined]
    found, why = _audit().read_report("osv", report)
    assert found is None and why.startswith("osv: 1 of 3 packages")


def test_an_empty_report_is_no_audit() -> None:
    assert _audit().read_report("pypi", {"dependencies": []})[0] is None


def test_looked_up_packages_give_their_vulnerabilities() -> None:
    found, why = _audit().read_report("pypi", _looked_up([], ["PYSEC-2099-1", "GHSA-x"]))
    assert found == {"pkg0": [], "pkg1": ["PYSEC-2099-1", "GHSA-x"]} and why == ""


def test_an_unreachable_service_is_named() -> None:
    stderr = (
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', "
        "port=443): Max retries exceeded with url: /v1/query (Caused by NameResolutionError"
    )
    assert _audit()._failure(stderr) == "cannot resolve api.osv.dev"


# --- the offline audit against the advisory snapshot ---------------------------------------

TODAY = dt.date(2026, 12, 2)


def _advisory(ident: str, events: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    entry = {
        "ranges": [{"type": "ECOSYSTEM", "events": events}],
        "versions": extra.pop("versions", []),
    }
    url = f"https://github.com/pypa/advisory-database/blob/main/vulns/pkg/{ident}.yaml"
    return {
        "id": ident,
        "package": "pkg",
        "aliases": ["CVE-2099-0001"],
        "related": [],
        "affected": [entry],
        "withdrawn": None,
        "url": url,
        **extra,
    }


def _affects(pin: str, events: list[dict[str, str]], **extra: Any) -> bool:
    return bool(_audit().affects(_advisory("PYSEC-2099-1", events, **extra), pin))


def test_a_version_from_introduced_up_to_fixed_is_affected() -> None:
    events = [{"introduced": "1.0"}, {"fixed": "1.5"}]
    hits = [_affects(v, events) for v in ("0.9", "1.0", "1.4.9", "1.5", "2.0")]
    assert hits == [False, True, True, False, False]


def test_introduced_zero_means_every_version_before_the_fix() -> None:
    assert _affects("0.0.1", [{"introduced": "0"}, {"fixed": "1.5"}])
    assert _affects("1.5rc1", [{"introduced": "0"}, {"fixed": "1.5"}])  # a pre-release of the fix


def test_last_affected_includes_that_version_and_no_later() -> None:
    events = [{"introduced": "0"}, {"last_affected": "2.3"}]
    assert _affects("2.3", events) and not _affects("2.3.1", events)


def test_a_range_without_fix_affects_every_later_version() -> None:
    assert _affects("99.0", [{"introduced": "4.0"}])


def test_events_are_taken_in_version_order_whatever_their_order_in_the_file() -> None:
    # as urllib3's PYSEC-2023-192 lists them: the 2.x range first, then the 1.x one
    events = [
        {"introduced": "2.0.0"},
        {"fixed": "2.0.6"},
        {"introduced": "0"},
        {"fixed": "1.26.17"},
    ]
    hits = [_affects(v, events) for v in ("1.26.16", "1.26.17", "1.26.20", "2.0.5", "2.0.6", "2.8")]
    assert hits == [True, False, False, True, False, False]


def test_an_explicitly_listed_version_is_affected_outside_every_range() -> None:
    events = [{"introduced": "1.0"}, {"fixed": "1.5"}]
    assert _affects("3.0.0", events, versions=["3.0"])  # the same PEP 440 version
    assert not _affects("3.0.1", events, versions=["3.0"])


def test_a_withdrawn_advisory_affects_nothing() -> None:
    events = [{"introduced": "0"}]
    assert not _affects("1.0", events, versions=["1.0"], withdrawn="2026-01-01T00:00:00Z")


def _snapshot(tmp_path: Path, advisories: list[dict[str, Any]], as_of: dt.date) -> Path:
    path = tmp_path / "pypa.json"
    source = {"repository": "https://github.com/pypa/advisory-database", "as_of": str(as_of)}
    packages = {"pkg": {"advisories": [a["id"] for a in advisories]}, "other": {"advisories": []}}
    path.write_text(json.dumps({"source": source, "packages": packages, "advisories": advisories}))
    return path


def _offline(
    tmp_path: Path, pins: dict[str, str], advisories: list[dict[str, Any]], age_days: int = 10
) -> int:
    snapshot = _snapshot(tmp_path, advisories, TODAY - dt.timedelta(days=age_days))
    reasons = ["pypi: cannot resolve pypi.org"]
    return int(_audit().offline(reasons, pins, snapshot, tmp_path / "ignore.toml", TODAY))


FIXED_IN_2 = [_advisory("PYSEC-2099-7", [{"introduced": "0"}, {"fixed": "2.0"}])]


def test_an_affected_pin_fails_the_audit_with_the_advisory_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _offline(tmp_path, {"pkg": "1.9", "other": "1.0"}, FIXED_IN_2) == 1
    out = capsys.readouterr().out
    assert "vulnerable: pkg==1.9: PYSEC-2099-7 (CVE-2099-0001)" in out
    assert "1 of 2 packages have known vulnerabilities" in out


def test_a_recent_snapshot_without_findings_is_an_offline_audit_not_a_live_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _offline(tmp_path, {"pkg": "2.0", "other": "1.0"}, FIXED_IN_2) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("audited OFFLINE against the PyPA advisory-database snapshot of")
    assert "(1 advisories, 2 packages): no known vulnerability — not a live audit" in line
    assert "cannot resolve pypi.org" in line


def test_a_stale_snapshot_is_no_audit_and_fails_when_an_audit_is_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pins = {"pkg": "2.0", "other": "1.0"}
    assert _offline(tmp_path, pins, FIXED_IN_2, age_days=91) == 0
    assert capsys.readouterr().out.startswith("dependencies NOT AUDITED: the PyPA")
    monkeypatch.setenv("AUDIT_REQUIRED", "1")
    assert _offline(tmp_path, pins, FIXED_IN_2, age_days=91) == 2
    assert "91 days old (over 90" in capsys.readouterr().out
    assert _offline(tmp_path, pins, FIXED_IN_2, age_days=90) == 0


def test_a_stale_snapshot_still_fails_on_a_known_vulnerability(tmp_path: Path) -> None:
    assert _offline(tmp_path, {"pkg": "1.0", "other": "1.0"}, FIXED_IN_2, age_days=900) == 1


def test_a_pinned_package_the_snapshot_never_looked_up_is_not_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDIT_REQUIRED", "1")
    assert _offline(tmp_path, {"pkg": "2.0", "newdep": "1.0"}, FIXED_IN_2) == 2
    assert "does not cover 1 pinned packages (newdep)" in capsys.readouterr().out


def test_an_unreadable_range_counts_as_affecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = [_advisory("PYSEC-2099-8", [{"introduced": "0"}, {"fixed": "not a version"}])]
    assert _offline(tmp_path, {"pkg": "2.0", "other": "1.0"}, odd) == 1
    assert "range not evaluable" in capsys.readouterr().out


def test_a_reviewed_ignore_entry_is_printed_and_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ignore.toml").write_text(
        '[[ignore]]\nid = "CVE-2099-0001"\npackage = "pkg"\n'
        'reason = "camaudit never calls the affected function"\nreviewed = 2026-11-30\n'
    )
    assert _offline(tmp_path, {"pkg": "1.9", "other": "1.0"}, FIXED_IN_2) == 0
    out = capsys.readouterr().out
    assert "ignored: pkg==1.9: PYSEC-2099-7" in out and "(reviewed 2026-11-30)" in out
    assert "audited OFFLINE" in out


def test_an_ignore_entry_without_a_review_date_excuses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ignore.toml").write_text(
        '[[ignore]]\nid = "PYSEC-2099-7"\npackage = "pkg"\nreason = "trust me"\n'
    )
    assert _offline(tmp_path, {"pkg": "1.9", "other": "1.0"}, FIXED_IN_2) == 1
    assert "ignore list not applied" in capsys.readouterr().err


def test_no_snapshot_is_no_audit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.json"
    assert _audit().offline(["osv: x"], {"pkg": "1"}, missing, missing, TODAY) == 0
    assert "no usable advisory snapshot" in capsys.readouterr().out


def test_a_damaged_snapshot_is_no_audit_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damaged = _snapshot(tmp_path, [{"id": "PYSEC-2099-9", "package": "pkg"}], TODAY)
    assert _audit().offline(["osv: x"], {"pkg": "1"}, damaged, tmp_path / "none", TODAY) == 0
    assert "no usable advisory snapshot" in capsys.readouterr().out


# --- the snapshot builder ---------------------------------------------------------------------

NEW_FORMAT = """\
id: PYSEC-2099-11
modified: 2099-01-02T03:04:05Z
aliases:
- CVE-2099-1111
details: prose the snapshot leaves out
affected:
- package: {name: Pkg, ecosystem: PyPI}
  ranges:
  - type: GIT
    repo: https://example.invalid/pkg
    events: [{introduced: "0"}, {fixed: abc123}]
  - type: ECOSYSTEM
    events: [{introduced: "1.0"}, {fixed: "1.2"}]
  versions: ["1.0", "1.1"]
"""
OLD_FORMAT = """\
id: PYSEC-2099-12
package: {name: pkg, ecosystem: PyPI}
affects:
  ranges:
  - type: ECOSYSTEM
    fixed: "0.9"
aliases: [CVE-2099-1212]
modified: "2099-02-01T00:00:00Z"
withdrawn: "2099-03-01T00:00:00Z"
"""
PLACEHOLDER = "id: PYSEC-0000-CVE-2099-1111\naliases: [CVE-2099-1111]\naffected: []\n"


def test_the_builder_turns_osv_yaml_files_into_the_snapshot(tmp_path: Path) -> None:
    vulns = tmp_path / "vulns"
    (vulns / "pkg").mkdir(parents=True)
    (vulns / "pkg" / "PYSEC-2099-11.yaml").write_text(NEW_FORMAT)
    (vulns / "pkg" / "PYSEC-2099-12.yaml").write_text(OLD_FORMAT)
    (vulns / "pkg" / "PYSEC-0000-CVE-2099-1111.yaml").write_text(PLACEHOLDER)
    (tmp_path / "constraints.txt").write_text("# pins\npkg==1.1\nclean==2.0\n")
    (tmp_path / "commits.txt").write_text("pkg/PYSEC-2099-11.yaml 0123abcd\n")
    out = tmp_path / "pypa.json"
    argv = ["build", str(vulns), "--constraints", str(tmp_path / "constraints.txt")]
    argv += ["--out", str(out), "--commits", str(tmp_path / "commits.txt"), "--read", "2099-04-01"]
    assert _tool("advisories").main(argv) == 0
    snapshot = json.loads(out.read_text())
    assert snapshot["source"]["read"] == "2099-04-01"
    assert snapshot["source"]["as_of"] == "2099-02-01"  # no git history: the newest change
    assert snapshot["packages"] == {  # every pin looked up; the placeholder superseded
        "clean": {"advisories": []},
        "pkg": {"advisories": ["PYSEC-2099-11", "PYSEC-2099-12"]},
    }
    new, old = snapshot["advisories"]
    assert new["aliases"] == ["CVE-2099-1111"] and "details" not in new
    assert new["affected"] == [
        {
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.2"}]}],
            "versions": ["1.0", "1.1"],
        }
    ]
    assert new["commit"] == "0123abcd" and new["path"] == "vulns/pkg/PYSEC-2099-11.yaml"
    assert new["url"].endswith("/blob/0123abcd/vulns/pkg/PYSEC-2099-11.yaml")
    assert old["affected"][0]["ranges"][0]["events"] == [{"introduced": "0"}, {"fixed": "0.9"}]
    assert old["withdrawn"] == "2099-03-01T00:00:00Z"
    audit = _audit()
    assert [f.advisory["id"] for f in audit.scan(snapshot, {"pkg": "1.1"})] == ["PYSEC-2099-11"]


def test_the_builder_refuses_a_file_that_is_no_advisory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "vulns" / "pkg").mkdir(parents=True)
    (tmp_path / "vulns" / "pkg" / "x.yaml").write_text("- just a list\n")
    (tmp_path / "c.txt").write_text("pkg==1.0\n")
    argv = ["build", str(tmp_path / "vulns"), "--constraints", str(tmp_path / "c.txt")]
    assert _tool("advisories").main([*argv, "--out", str(tmp_path / "o.json")]) == 2
    assert "not an OSV advisory" in capsys.readouterr().err


def test_the_committed_snapshot_names_its_source_and_carries_no_advisory_prose() -> None:
    snapshot = json.loads((TOOLS / "advisories" / "pypa.json").read_text())
    assert snapshot["source"]["repository"] == "https://github.com/pypa/advisory-database"
    dt.date.fromisoformat(snapshot["source"]["as_of"])
    listed = {i for p in snapshot["packages"].values() for i in p["advisories"]}
    assert listed == {a["id"] for a in snapshot["advisories"]}
    for advisory in snapshot["advisories"]:
        assert not {"details", "summary"} & set(advisory), advisory["id"]
        assert advisory["url"].startswith("https://github.com/pypa/advisory-database/blob/")


def test_the_builder_on_a_clone_records_its_commit_and_dates_the_data_by_it(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "advisory-database"
    (clone / "vulns" / "pkg").mkdir(parents=True)
    (clone / "vulns" / "pkg" / "PYSEC-2099-11.yaml").write_text(NEW_FORMAT)
    (tmp_path / "c.txt").write_text("pkg==1.1\n")
    date = {"GIT_COMMITTER_DATE": "2099-05-06T07:08:09Z", "GIT_AUTHOR_DATE": "2099-05-06T07:08:09Z"}
    env = {**os.environ, **date, "GIT_CONFIG_GLOBAL": "/dev/null"}

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(clone), *args], env=env, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "advisories")
    out = tmp_path / "pypa.json"
    argv = ["build", str(clone / "vulns"), "--constraints", str(tmp_path / "c.txt")]
    assert _tool("advisories").main([*argv, "--out", str(out), "--read", "2099-06-01"]) == 0
    snapshot = json.loads(out.read_text())
    head = git("rev-parse", "HEAD")
    assert snapshot["source"]["commit"] == head and snapshot["source"]["as_of"] == "2099-05-06"
    assert snapshot["advisories"][0]["url"].endswith(f"/blob/{head}/vulns/pkg/PYSEC-2099-11.yaml")
