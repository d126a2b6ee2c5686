"""An audit report survives JSON: written, validated against the schema, read back equal."""

from __future__ import annotations

import json

import jsonschema
import pytest

from camaudit.errors import InputError
from camaudit.model import Verdict
from camaudit.report.model import AuditReport, RecordingEntry, from_json, schema, to_json
from tests.audit.reports import CAM1_IP, CAM1_MAC, audit_of, device, identity

RECORDING = RecordingEntry("eth0", 600.0, "dumpcap", "rec", ("rec/audit_00001.pcapng",))


@pytest.mark.parametrize("cases", [["syn-dropped"], ["tls-established"], ["truncated"]])
def test_an_audit_report_reads_back_equal_to_what_was_written(cases: list[str]) -> None:
    report = audit_of(
        cases, device(CAM1_IP, CAM1_MAC, identity()), device("10.66.0.99", None), recording=None
    )
    text = to_json(report)
    jsonschema.validate(json.loads(text), schema())
    back = from_json(text)
    assert back == report
    assert isinstance(back, AuditReport)
    assert isinstance(back.audit.devices[0].verdict.verdict, Verdict)
    assert to_json(back) == text


def test_the_recording_and_the_device_evidence_survive_json() -> None:
    report = audit_of(["syn-dropped"], device(CAM1_IP, CAM1_MAC), recording=RECORDING)
    back = from_json(to_json(report))
    assert isinstance(back, AuditReport)
    assert back.audit.recording == RECORDING and back.audit.mode == "recorded"
    (cam,) = [d for d in back.audit.devices if d.ip == CAM1_IP]
    assert (
        cam.verdict.evidence
        and cam.verdict.evidence
        == next(d for d in report.audit.devices if d.ip == CAM1_IP).verdict.evidence
    )


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["audit"]["devices"][0]["verdict"].update(verdict="fine"), "verdict"),
        (lambda d: d["audit"]["devices"][0].update(sources=[]), "sources"),
        (lambda d: d.pop("audit"), "'audit' is a required property"),
        (lambda d: d.pop("inventory"), "'inventory' is a required property"),
    ],
)
def test_a_damaged_audit_report_is_refused_with_one_line(change: object, says: str) -> None:
    data = json.loads(to_json(audit_of(["syn-dropped"], device(CAM1_IP, CAM1_MAC))))
    change(data)  # type: ignore[operator]
    with pytest.raises(InputError, match="not a camaudit report") as caught:
        from_json(json.dumps(data))
    assert says in str(caught.value) and "\n" not in str(caught.value)
