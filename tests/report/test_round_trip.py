"""A report read back from its JSON is the same report, and writes the same bytes.

Every renderer (console today; HTML, Markdown, CSV, SARIF next) works from the typed
model, and ``camaudit report`` will re-render a saved JSON file: so nothing may be lost
or changed between a report and its JSON.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from camaudit.errors import InputError
from camaudit.report.model import (
    InventoryReport,
    Report,
    VerifyReport,
    from_json,
    schema,
    to_dict,
    to_json,
    write_json,
)
from tests.replay.cases import Case, cases
from tests.report.reports import case_report, fake_camera_inventory

CAPTURES = [(c, capture) for c in cases() for capture in c.captures]


def _assert_round_trip(report: Report) -> None:
    text = to_json(report)
    jsonschema.validate(json.loads(text), schema())
    read = from_json(text)
    assert read == report
    assert type(read) is type(report)
    assert to_json(read) == text
    streamed = io.StringIO()
    write_json(read, streamed)
    assert streamed.getvalue() == text


@pytest.mark.parametrize(
    ("case", "capture"), CAPTURES, ids=[f"{c.name}/{p.name}" for c, p in CAPTURES]
)
def test_every_lab_capture_report_survives_json(case: Case, capture: Path) -> None:
    report = case_report(case, capture)
    assert isinstance(report, VerifyReport)
    _assert_round_trip(report)


def test_an_inventory_of_the_fake_camera_survives_json() -> None:
    report = fake_camera_inventory()
    assert isinstance(report, InventoryReport)
    assert report.inventory.devices[0].identity is not None
    assert report.inventory.devices[0].cves, "the fake camera's firmware has a known CVE"
    _assert_round_trip(report)


def test_enums_come_back_as_enums_not_strings() -> None:
    (c,) = [c for c in cases() if c.name == "tls-established"]
    read = from_json(to_json(case_report(c, c.captures[0])))
    assert isinstance(read, VerifyReport)
    assert type(read.verdict).__name__ == "Verdict"
    assert type(read.outbound[0].state).__name__ == "FlowCategory"


def test_rejected_flow_keeps_who_rejected_it_under_from() -> None:
    (c,) = [c for c in cases() if c.name == "syn-rejected"]
    report = case_report(c, c.captures[0])
    rejected = [o.rejected_by for o in report.outbound if o.rejected_by is not None]
    assert rejected, "syn-rejected has a flow answered with a reset"
    data = to_dict(report)
    row = next(o["rejected_by"] for o in data["outbound"] if o["rejected_by"])
    assert set(row) == {"capture", "frame", "from"}
    assert row["from"] == rejected[0].sender


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not JSON"),
        ('{"schema_version": 1, "kind": "verify"}', "not a camaudit report"),
        ('{"schema_version": 2, "kind": "verify", "tool": {}}', "not a camaudit report"),
        ("[]", "not a camaudit report"),
    ],
)
def test_reading_something_that_is_not_a_report_fails_with_one_line(text: str, says: str) -> None:
    with pytest.raises(InputError, match=says) as caught:
        from_json(text)
    assert "\n" not in str(caught.value)
