"""Each device's own isolation verdict, from its own flows, look-ups and findings."""

from __future__ import annotations

import dataclasses

from camaudit.api import verify
from camaudit.audit import build_audit_report
from camaudit.audit.devices import NO_CAPTURE, NO_TRAFFIC
from camaudit.model import Verdict
from camaudit.report.model import AuditDeviceEntry, AuditReport
from tests.audit.reports import (
    CAM1_IP,
    CAM1_MAC,
    CLOSED,
    audit_of,
    capture,
    device,
    identity,
    inventory,
)


def _device(report: AuditReport, ip: str) -> AuditDeviceEntry:
    (found,) = [d for d in report.audit.devices if d.ip == ip]
    return found


def test_a_camera_whose_syn_was_dropped_is_isolated_with_attempts_and_cites_its_flow() -> None:
    report = audit_of(["syn-dropped"], device(CAM1_IP, CAM1_MAC, identity()))
    cam = _device(report, CAM1_IP)
    assert cam.verdict.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    flows = [report.outbound[i] for i in cam.verdict.outbound]
    assert [(f.remote, f.dport, f.crossed) for f in flows] == [("203.0.113.5", 8666, False)]
    assert [report.findings[i].rule for i in cam.verdict.findings] == ["OUTBOUND-ATTEMPT"]
    (evidence,) = cam.verdict.evidence
    assert evidence.capture.endswith("syn-dropped.pcap") and evidence.frames
    assert cam.cloud_labels == ("EZVIZ / Hik-Connect cloud",)


def test_the_nvr_next_to_it_that_only_talked_locally_is_isolated() -> None:
    report = audit_of(["syn-dropped"], device(CAM1_IP, CAM1_MAC))
    nvr = _device(report, "10.66.0.10")
    assert nvr.verdict.verdict == Verdict.ISOLATED
    assert nvr.verdict.outbound == () and nvr.verdict.findings == ()
    assert report.verdict == Verdict.ISOLATED_WITH_ATTEMPTS  # the overall verdict stays verify's


def test_a_camera_that_completed_tls_to_its_cloud_is_not_isolated() -> None:
    report = audit_of(["tls-established"], device(CAM1_IP, CAM1_MAC))
    cam = _device(report, CAM1_IP)
    assert cam.verdict.verdict == Verdict.NOT_ISOLATED
    assert any(r.text.startswith("crossed: ") for r in cam.verdict.reasons)
    assert report.verdict == Verdict.NOT_ISOLATED


def test_a_camera_that_only_looked_up_its_cloud_is_isolated_with_attempts() -> None:
    report = audit_of(["dns-nxdomain"], device(CAM1_IP, CAM1_MAC))
    cam = _device(report, CAM1_IP)
    assert cam.verdict.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    assert {report.dns[i].name for i in cam.verdict.dns} >= {"litedev.ezvizlife.com"}
    assert {report.findings[i].rule for i in cam.verdict.findings} == {"DNS-EXTERNAL-LOOKUP"}


def test_a_device_with_no_traffic_in_the_evidence_is_inconclusive_never_isolated() -> None:
    silent = device("10.66.0.99", "02:66:00:00:00:99", identity())
    report = audit_of(["quiet-camera"], silent)
    entry = _device(report, "10.66.0.99")
    assert entry.verdict.verdict == Verdict.INCONCLUSIVE
    assert entry.verdict.reasons == (NO_TRAFFIC,)
    assert NO_CAPTURE in entry.not_checked
    assert entry.sources == ("discovery",)


def test_a_clean_device_in_a_truncated_capture_is_inconclusive() -> None:
    report = audit_of(["truncated"], device(CAM1_IP, CAM1_MAC))
    cam = _device(report, CAM1_IP)
    assert report.verdict == Verdict.INCONCLUSIVE
    assert cam.verdict.verdict == Verdict.INCONCLUSIVE
    assert any("cannot show isolation" in r.text for r in cam.verdict.reasons)


def test_flows_are_tied_by_mac_when_the_device_answered_discovery_at_another_address() -> None:
    # DHCP moved the camera: discovery met it at .50, the capture holds it at .21.
    report = audit_of(["syn-dropped"], device("10.66.0.50", CAM1_MAC, identity()))
    cam = _device(report, "10.66.0.50")
    assert cam.addresses == ("10.66.0.21", "10.66.0.50")
    assert cam.verdict.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    assert all(d.ip != CAM1_IP for d in report.audit.devices)  # not listed twice


def test_a_mac_seen_for_addresses_outside_the_target_is_a_router_and_ties_nothing() -> None:
    # Hosts of other subnets reach the segment behind their router's MAC: only on-link
    # (target) addresses are tied by MAC, or the router would inherit their flows.
    report = audit_of(["syn-dropped"], device("10.66.0.50", CAM1_MAC), target="10.66.0.48/28")
    router = _device(report, "10.66.0.50")
    assert router.addresses == ("10.66.0.50",)
    assert router.verdict.verdict == Verdict.INCONCLUSIVE
    assert _device(report, CAM1_IP).sources == ("traffic",)


def test_devices_seen_only_in_traffic_join_the_inventory_marked_as_such() -> None:
    report = audit_of(["syn-dropped"])
    cam = _device(report, CAM1_IP)
    assert cam.sources == ("traffic",)
    assert cam.mac == CAM1_MAC and cam.identity is None and cam.inventory_index is None
    assert cam.verdict.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    assert cam.cloud_labels == ("EZVIZ / Hik-Connect cloud",)
    assert any("DHCP host names, mDNS and SSDP" in n for n in report.audit.not_checked)
    assert report.audit.summary.traffic_only == len(report.audit.devices)


def test_without_credentials_the_report_says_firmware_and_cves_were_not_checked() -> None:
    report = audit_of(["quiet-camera"], device(CAM1_IP, CAM1_MAC, identity(firmware=None)))
    cam = _device(report, CAM1_IP)
    assert "firmware unknown: no credentials" in cam.not_checked
    assert "CVEs not checked: firmware unknown" in cam.not_checked
    assert any(n.startswith("no credentials") for n in report.audit.not_checked)


def test_with_credentials_unknown_firmware_is_blamed_on_the_device_not_on_missing_login() -> None:
    report = audit_of(
        ["quiet-camera"], device(CAM1_IP, CAM1_MAC, identity(firmware=None)), credentials=True
    )
    cam = _device(report, CAM1_IP)
    assert "firmware unknown: the device did not say" in cam.not_checked
    assert not any(n.startswith("no credentials") for n in report.audit.not_checked)


def test_config_findings_and_identity_travel_with_the_device() -> None:
    setting = "NTP server 203.0.113.9 is outside the closed network"
    report = audit_of(["quiet-camera"], device(CAM1_IP, CAM1_MAC, identity(), (setting,)))
    cam = _device(report, CAM1_IP)
    assert cam.config_findings == (setting,)
    assert cam.identity is not None and cam.identity.model == "DS-2CD2042WD-I"
    assert cam.inventory_index == 0


def test_the_summary_counts_devices_by_their_verdict() -> None:
    report = audit_of(["syn-dropped"], device("10.66.0.99", None))
    s = report.audit.summary
    assert (s.isolated_with_attempts, s.isolated, s.inconclusive) == (1, 1, 1)
    assert s.devices == s.discovered + s.traffic_only == 3


def test_a_camera_retrying_its_cloud_gets_one_reason_with_a_count_not_one_per_try() -> None:
    verified = verify([capture("syn-dropped")], CLOSED).report
    retried = dataclasses.replace(verified, findings=verified.findings * 3)
    report = build_audit_report(
        retried, inventory(device(CAM1_IP, CAM1_MAC)), recording=None, credentials=False
    )
    cam = _device(report, CAM1_IP)
    assert len(cam.verdict.findings) == 3
    (reason,) = cam.verdict.reasons
    assert reason.text.startswith("tried: ") and reason.text.endswith(" (×3)")
