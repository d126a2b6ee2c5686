"""The control-by-control section: each BIO/BIO2 control passed, failed or not tested.

Spec (camaudit/report/compliance.py): a control fails when a finding mapped to it by
profiles/bio.toml is in the report; it passes only when the evidence it names was
examined (8.22 needs judged traffic: isolated or isolated_with_attempts); otherwise it
is not tested, with a one-line reason. Verify reports come from the lab captures in
pcaps/; inventories from fingerprinting the lab's fake cameras on loopback.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from camaudit.attempt import AttemptStatus
from camaudit.errors import ProfileError
from camaudit.fingerprint.findings import config_findings
from camaudit.fingerprint.interface import ProbeAttempt
from camaudit.knowledge import load_knowledge
from camaudit.knowledge.bio import parse_bio
from camaudit.policy.load import ClosedNetwork
from camaudit.report import compliance
from camaudit.report.compliance import ControlEntry, ControlsSection, config_rule
from camaudit.report.model import InventoryReport, Report, VerifyReport, from_json, to_json
from tests.report.lab_inventory import lab_inventory
from tests.report.reports import golden_verify

REPO = Path(__file__).resolve().parents[2]


def _control(report: Report, control_id: str) -> ControlEntry:
    assert report.controls is not None, "every report carries its controls"
    (found,) = [c for c in report.controls.controls if c.id == control_id]
    return found


# ---- the mapping as data ----------------------------------------------------------


def test_bio_profile_names_each_control_in_dutch_and_english_with_its_source() -> None:
    bio = load_knowledge().bio
    ids = [c.id for c in bio.controls]
    for wanted in ("8.22", "8.20", "8.21", "8.16", "8.8", "5.9", "5.19", "5.22", "8.15"):
        assert wanted in ids
    for control in bio.controls:
        assert control.title_nl and control.title_en and control.source and control.tests
    assert bio.control("8.22") is not None
    assert bio.control("8.22").title_nl == "Scheiding van netwerken"  # type: ignore[union-attr]


def _emitted_rule_ids() -> set[str]:
    """Every rule id the code emits: traffic rules and device-setting rules, read from
    the source so that a new rule without a mapping fails this test."""
    evaluate = (REPO / "camaudit/policy/evaluate.py").read_text("utf-8")
    found = set(re.findall(r"Finding\(\s*\"([A-Z][A-Z0-9-]+)\"", evaluate))
    found |= set(re.findall(r"\"(BOUNDARY-CROSSED-[A-Z]+)\"", evaluate))
    found |= set(re.findall(r"rule = \"([A-Z][A-Z0-9-]+)\"", evaluate))
    findings = (REPO / "camaudit/fingerprint/findings.py").read_text("utf-8")
    found |= set(re.findall(r"\"(config-[a-z0-9-]+)\"", findings))
    inventory_and_register = {
        "outside-target",
        "cve-applicable",
        "cve-kev",
        "certificate-changed",
        "register-not-registered",
        "register-not-found",
        "register-make-differs",
    }
    return found | inventory_and_register


def test_every_rule_camaudit_emits_maps_to_at_least_one_control() -> None:
    bio = load_knowledge().bio
    rules = _emitted_rule_ids()
    assert {"OUTBOUND-ATTEMPT", "DNS-EXTERNAL-LOOKUP", "config-p2p-enabled"} <= rules
    unmapped = sorted(r for r in rules if not bio.controls_for(r))
    assert unmapped == []


def test_a_bio_file_with_several_mistakes_lists_every_one(tmp_path: Path) -> None:
    path = tmp_path / "bio.toml"
    path.write_text(
        """schema_version = 1
framework = "BIO2"
[[control]]
id = "8.22"
title_en = "Segregation of networks"
title_nl = "Scheiding van netwerken"
tests = "t"
evidence = ["capture", "telepathy"]
source = "s"
title_nl_verified = false
[[control]]
id = "8.22"
title_en = "again"
title_nl = "nogmaals"
tests = "t"
evidence = ["capture"]
source = "s"
title_nl_verified = false
[[control]]
id = "9.1"
tests = "t"
evidence = ["never"]
source = "s"
title_nl_verified = false
[[rule]]
id = "OUTBOUND-ATTEMPT"
controls = ["8.99"]
why = "w"
""",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as raised:
        parse_bio(path)
    text = "\n".join(raised.value.errors)
    assert "control[1] (8.22): evidence" in text  # telepathy
    assert "control[2] (8.22): id: duplicate of control[1]" in text
    assert "control[3] (9.1): id" in text
    assert "control[3] (9.1): title_en" in text
    assert "rule[1] (OUTBOUND-ATTEMPT): controls: no [[control]] with id 8.99" in text


def test_an_inventory_config_finding_is_traced_back_to_the_rule_that_raised_it() -> None:
    # the inventory keeps a config finding's words only: each findings.py rule must be
    # recognised from them
    attempt = ProbeAttempt(
        "onvif:80",
        "10.66.0.20",
        AttemptStatus.COMPLETED,
        (
            ("ntp", "192.0.2.123"),
            ("dns", "resolver.example"),
            ("gateway", "10.66.0.1"),
            ("upnp", "true"),
            ("p2p", "enabled"),
        ),
    )
    raised = config_findings([attempt], ClosedNetwork(("10.66.0.0/24",)))
    assert {f.rule for f in raised} == {
        "config-address-outside",
        "config-name-not-address",
        "config-gateway-set",
        "config-upnp-enabled",
        "config-p2p-enabled",
    }
    for finding in raised:
        assert config_rule(finding.summary.text) == finding.rule


# ---- verify reports from the lab captures ------------------------------------------


def test_a_crossing_fails_segregation_with_the_finding_behind_it() -> None:
    report = golden_verify("tls-established")
    assert report.verdict == "not_isolated"
    segregation = _control(report, "8.22")
    assert segregation.status == "failed"
    assert segregation.reason is None
    # cited by its index into the report's findings, not copied into the control
    assert segregation.findings == ()
    (index,) = segregation.finding_indices
    assert report.findings[index].rule == "BOUNDARY-CROSSED-OUT"
    assert report.findings[index].device == "10.66.0.21"


def test_an_isolated_camera_passes_segregation_and_network_security() -> None:
    report = golden_verify("quiet-camera")
    assert report.verdict == "isolated"
    assert _control(report, "8.22").status == "passed"
    assert _control(report, "8.20").status == "passed"
    assert report.controls is not None and report.controls.examined == ("capture",)


def test_attempts_that_the_boundary_held_pass_segregation_but_fail_network_services() -> None:
    report = golden_verify("dns-nxdomain")
    assert report.verdict == "isolated_with_attempts"
    assert _control(report, "8.22").status == "passed"
    services = _control(report, "8.21")
    assert services.status == "failed"
    assert {report.findings[i].rule for i in services.finding_indices} == {"DNS-EXTERNAL-LOOKUP"}


def test_an_inconclusive_capture_leaves_segregation_not_tested_and_says_why() -> None:
    report = golden_verify("truncated")
    assert report.verdict == "inconclusive"
    segregation = _control(report, "8.22")
    assert segregation.status == "not_tested"
    assert segregation.reason == compliance.INCONCLUSIVE


def test_a_capture_alone_does_not_test_vulnerabilities_or_the_inventory() -> None:
    report = golden_verify("quiet-camera")
    assert _control(report, "8.8").status == "not_tested"
    assert _control(report, "8.8").reason == "no device fingerprinted"
    assert _control(report, "5.9").reason == "no discovery sweep of the segment"
    assert _control(report, "8.15").status == "not_tested"  # no network audit reads logs


# ---- inventories of the lab's fake cameras ------------------------------------------


@pytest.fixture(scope="module")
def old_and_patched() -> InventoryReport:
    report, _ = lab_inventory(["hik-ipc", "hik-ipc-patched"])
    return report


def test_vulnerable_firmware_fails_vulnerability_management_with_the_cve(
    old_and_patched: InventoryReport,
) -> None:
    control = _control(old_and_patched, "8.8")
    assert control.status == "failed"
    (behind,) = control.findings
    assert behind.rule == "cve-kev"  # CVE-2021-36260 is in CISA KEV
    assert behind.detail == "CVE-2021-36260"
    assert behind.source == "devices"
    assert old_and_patched.inventory.devices[behind.index].ip == behind.device == "127.0.0.2"


def test_ntp_outside_the_closed_network_fails_segregation_and_network_services(
    old_and_patched: InventoryReport,
) -> None:
    assert _control(old_and_patched, "8.22").status == "failed"
    services = _control(old_and_patched, "8.21")
    assert services.status == "failed"
    assert {f.rule for f in services.findings} == {"config-address-outside"}
    assert all(f.device == "127.0.0.2" for f in services.findings)


def test_current_firmware_read_with_credentials_passes_vulnerability_management() -> None:
    report, _ = lab_inventory(["hik-ipc-patched"])
    assert _control(report, "8.8").status == "passed"
    assert report.controls is not None and "config" in report.controls.examined
    # settings read but no capture: 8.21 needs both
    assert _control(report, "8.21").status == "not_tested"
    assert _control(report, "8.21").reason == "no capture given"


def test_without_credentials_firmware_is_not_read_and_8_8_is_not_tested() -> None:
    report, _ = lab_inventory(["hik-ipc-patched"], credentials=False)
    control = _control(report, "8.8")
    assert control.status == "not_tested"
    assert control.reason == compliance.NO_FIRMWARE == "no credentials: firmware not read"
    assert report.controls is not None and "config" not in report.controls.examined


# ---- JSON ---------------------------------------------------------------------------


def test_the_controls_survive_json_and_follow_the_schema(old_and_patched: InventoryReport) -> None:
    for report in (old_and_patched, golden_verify("tls-established")):
        text = to_json(report)
        read = from_json(text)
        assert read == report
        assert isinstance(read.controls, ControlsSection)
        assert to_json(read) == text


def test_a_report_saved_before_the_controls_existed_still_loads() -> None:
    report = golden_verify("quiet-camera")
    data = json.loads(to_json(report))
    del data["controls"], data["register"]
    read = from_json(json.dumps(data))
    assert isinstance(read, VerifyReport)
    assert read.controls is None and read.register is None
    assert read.findings == report.findings


def _copied_as_before(report: Report) -> str:
    """``report``'s JSON as camaudit wrote it before controls cited findings: each finding
    behind a control copied into it (rule, device, index and its summary as ``detail``)."""
    data = json.loads(to_json(report))
    for control in data["controls"]["controls"]:
        copied = [
            {
                "rule": data["findings"][i]["rule"],
                "device": data["findings"][i]["device"],
                "source": "findings",
                "index": i,
                "detail": data["findings"][i]["summary"],
            }
            for i in control.pop("finding_indices")
        ]
        control["findings"] = copied + control["findings"]
    return json.dumps(data)


@pytest.mark.parametrize("name", ["tls-established", "dns-nxdomain"])
def test_a_report_that_copied_findings_into_controls_loads_and_renders_the_same(
    name: str,
) -> None:
    from camaudit.i18n import translator
    from camaudit.report.render import render

    report = golden_verify(name)
    assert report.controls is not None
    cites = [i for c in report.controls.controls for i in c.finding_indices]
    assert cites, "the report has findings behind its controls"
    old = from_json(_copied_as_before(report))
    assert isinstance(old, VerifyReport) and old.controls is not None
    assert all(c.finding_indices == () for c in old.controls.controls)
    for lang in ("en", "nl"):
        t = translator(lang, strict=True)
        rows = compliance.control_rows(old.controls, t, old.findings)
        assert rows == compliance.control_rows(report.controls, t, report.findings)
        for fmt in ("console", "markdown", "html"):
            assert render(old, fmt, t) == render(report, fmt, t)


def test_controls_cite_each_finding_by_index_not_by_copy() -> None:
    report = golden_verify("tls-established")
    controls = json.dumps(json.loads(to_json(report))["controls"], ensure_ascii=False)
    assert report.findings
    for finding in report.findings:
        assert finding.summary not in controls


def test_a_dutch_reader_sees_every_status_and_reason_in_dutch() -> None:
    from camaudit.i18n import translator

    t = translator("nl", strict=True)
    bio = load_knowledge().bio
    data_reasons = {c.not_tested_reason for c in bio.controls if c.not_tested_reason}
    assert data_reasons <= set(compliance.DATA_REASONS), "add bio.toml reasons to DATA_REASONS"
    texts = [*compliance.REASONS, *compliance.DATA_REASONS, *compliance.STATUS_NAMES.values()]
    texts += list(compliance.REGISTER_KINDS.values())
    for text in texts:
        assert t.gettext(text) != text
    assert t.gettext(compliance.STATUS_NAMES["not_tested"]) == "niet getoetst"
