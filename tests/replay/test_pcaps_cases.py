"""Every stored lab capture gives exactly what its expect.toml says."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from camaudit import verify
from camaudit.report.model import schema, to_dict
from tests.replay.cases import Case, cases

CASES = cases()


def test_the_lab_captures_are_present() -> None:
    assert len(CASES) >= 12, "pcaps/ lost some of its cases"


def _outbound_key(row: dict[str, Any]) -> tuple[Any, ...]:
    dport = row.get("dport") if row["proto"] in ("tcp", "udp") else None
    return (
        row["src"],
        row["dst"],
        row["proto"],
        dport,
        row["state"],
        row["first_frame"],
        row["packets"],
    )


def _problem_codes(report: dict[str, Any]) -> set[str]:
    codes = {p["code"] for p in report["problems"]}
    for item in report["inputs"]:
        codes |= {p["code"] for p in item["problems"]}
    return codes


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_matches_its_expectation(case: Case) -> None:
    check_case(
        case,
        lambda capture, nets, policy: to_dict(
            verify([capture], closed_network=nets, policy=policy).report
        ),
    )


Run = Callable[[Path, Sequence[str], Path | None], dict[str, Any]]


def check_case(case: Case, run: Run) -> None:
    """Assert that ``run(capture, closed_network, policy)`` reports what ``expect.toml`` says.

    Shared with tests/install, which runs the installed wheel's ``camaudit``.
    """
    expect = case.expect
    for capture in case.captures:
        policy = case.folder / expect["policy"] if "policy" in expect else None
        report = run(capture, expect.get("closed_network", ()), policy)
        where = f"{case.name}/{capture.name}"
        jsonschema.validate(report, schema())
        assert report["verdict"] == expect["verdict"], (where, report["reasons"])
        assert _problem_codes(report) == set(expect.get("problems", [])), where

        got = Counter(
            _outbound_key({**row, "packets": row["packets_out"] + row["packets_in"]})
            for row in report["outbound"]
        )
        want = Counter(_outbound_key(row) for row in expect.get("outbound", []))
        assert got == want, where

        for row in expect.get("outbound", []):
            match = [
                o
                for o in report["outbound"]
                if o["first_frame"] == row["first_frame"] and o["dst"] == row["dst"]
            ]
            for key in ("sni", "http_host"):
                if key in row:
                    assert match[0][key] == row[key], (where, key)
            assert match[0]["allowed_basis"] == row.get("allowed_basis"), where

        got_dns = Counter(
            (
                d["name"],
                d["qtype"],
                d["rcode"] or "none",
                d["frame"],
                tuple(sorted(a for a in d["answers"] if _is_addr(a))),
            )
            for d in report["dns"]
        )
        # DNS names are case-insensitive; camaudit reports them lower-cased, tshark as sent.
        want_dns = Counter(
            (
                d["name"].lower(),
                d["qtype"],
                d["rcode"],
                d["frame"],
                tuple(sorted(d.get("answers", []))),
            )
            for d in expect.get("dns", [])
        )
        assert got_dns == want_dns, where

        # Only the case's regular timers are a rhythm; random gaps and single tries never.
        got_rhythm = {
            (r["device"], r["destination"], r["port"], r["count"]) for r in report.get("rhythm", [])
        }
        want_rhythm = {
            (r["device"], r["dst"], r["port"], r["count"])
            for r in expect.get("rhythm", [])
            if r["regular"]
        }
        assert got_rhythm == want_rhythm, where

        foreign = {
            f["device"]: {n for e in f["evidence"] for n in e["frames"]}
            for f in report["findings"]
            if f["rule"] == "FOREIGN-ADDRESS-ON-SEGMENT"
        }
        want_foreign = {row["address"]: set(row["frames"]) for row in expect.get("foreign", [])}
        assert foreign.keys() == want_foreign.keys(), where
        for address, cited in foreign.items():
            assert cited <= want_foreign[address], (where, address)


def _is_addr(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def test_cases_each_document_how_they_were_made() -> None:
    for case in CASES:
        readme = case.folder / "README.md"
        assert readme.exists(), case.name
        assert len(readme.read_text()) > 200, case.name


def test_capture_files_are_small() -> None:
    total = sum(p.stat().st_size for c in CASES for p in c.captures)
    assert total < 2_000_000
