"""make audit (tools/audit.py) reads pip-audit's report without mistaking "not looked up" for
"no vulnerability": a service that does not know a package has not audited it."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from tests.conftest import ROOT


def _audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit", ROOT / "tools" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
