"""Names a device chose (DHCP, mDNS, SSDP) join the audit's devices, marked passive.

They name devices seen only in traffic and suggest a maker and model through the
knowledge signatures; they never allow a flow and never change a verdict.
"""

from __future__ import annotations

import json

import jsonschema

from camaudit.audit.devices import ONLY_ANNOUNCED
from camaudit.model import FrameRef, PassiveFact, PassiveHost, Verdict
from camaudit.report.console import render_audit
from camaudit.report.model import AuditDeviceEntry, AuditReport, from_json, schema, to_json
from tests.audit.reports import CAM1_IP, CAM1_MAC, audit_of, device, identity

CAM2_IP, CAM2_MAC = "10.66.0.22", "02:66:00:00:00:22"
HIK_MAC = "02:66:00:00:00:21"
DAHUA_MAC = "02:66:00:00:00:22"


def fact(protocol: str, key: str, value: str, frame: int = 3) -> PassiveFact:
    return PassiveFact(protocol, key, value, FrameRef("x.pcap", frame, 1.0))


def host(mac: str | None, ip: str | None, *facts: PassiveFact) -> PassiveHost:
    return PassiveHost(mac, ip, facts)


def by_mac(report: AuditReport, mac: str) -> list[AuditDeviceEntry]:
    return [d for d in report.audit.devices if d.mac == mac]


def test_traffic_only_cameras_get_their_passive_names_and_a_passive_make_and_model() -> None:
    report = audit_of(["passive-names"])
    (hik,) = by_mac(report, HIK_MAC)
    (dahua,) = by_mac(report, DAHUA_MAC)
    for cam in (hik, dahua):
        assert cam.sources == ("traffic",) and cam.identity is None
        assert cam.passive and all(f.evidence.frames for f in cam.passive)
    names = {(f.protocol, f.key, f.value) for f in hik.passive}
    assert {("dhcp", "host_name", "yard"), ("mdns", "instance", "yard")} <= names
    assert hik.passive_identity is not None and dahua.passive_identity is not None
    assert (hik.passive_identity.vendor, hik.passive_identity.model) == (
        "hikvision",
        "DS-2CD2143G0-I",
    )
    assert (dahua.passive_identity.vendor, dahua.passive_identity.model) == (
        "dahua",
        "IPC-HDW3441T-ZAS",
    )
    assert any("passive sighting" in line for line in hik.passive_identity.evidence)
    assert not any("no DHCP, mDNS or SSDP names" in n for n in report.audit.not_checked)


def test_passive_names_never_change_a_verdict() -> None:
    for cases in (["passive-names"], ["syn-dropped"], ["tls-established"]):
        named = audit_of(cases, passive=(host(CAM1_MAC, CAM1_IP, fact("ssdp", "server", "x")),))
        plain = audit_of(cases, passive=())
        assert named.verdict == plain.verdict and named.exit_code == plain.exit_code
        assert [d.verdict for d in named.audit.devices] == [d.verdict for d in plain.audit.devices]


def test_a_passive_name_that_claims_a_vendor_cloud_allows_nothing() -> None:
    claim = host(CAM1_MAC, CAM1_IP, fact("mdns", "host", "dev.hik-connect.com"))
    named = audit_of(["syn-dropped"], passive=(claim,))
    (cam,) = by_mac(named, CAM1_MAC)
    assert cam.verdict.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    assert named.outbound == audit_of(["syn-dropped"], passive=()).outbound


def test_names_join_a_discovered_device_by_mac_before_address() -> None:
    # the name at cam1's address carries cam2's MAC: the address moved, it names cam2
    moved = host(CAM2_MAC, CAM1_IP, fact("dhcp", "host_name", "hall"))
    mine = host(CAM1_MAC, None, fact("dhcp", "host_name", "yard"))
    report = audit_of(
        ["syn-dropped"],
        device(CAM1_IP, CAM1_MAC, identity()),
        device(CAM2_IP, CAM2_MAC),
        passive=(moved, mine),
    )
    (cam1,) = by_mac(report, CAM1_MAC)
    (cam2,) = by_mac(report, CAM2_MAC)
    assert [f.value for f in cam1.passive] == ["yard"]
    assert [f.value for f in cam2.passive] == ["hall"]
    assert cam1.identity == identity()  # the probe's identity stands; the names sit beside it


def test_names_join_by_address_when_the_host_carries_no_mac() -> None:
    report = audit_of(
        ["syn-dropped"],
        device(CAM1_IP, CAM1_MAC),
        passive=(host(None, CAM1_IP, fact("ssdp", "server", "Linux/3.10, UPnP/1.0, DNVRS-Webs")),),
    )
    (cam,) = by_mac(report, CAM1_MAC)
    assert cam.passive[0].value == "Linux/3.10, UPnP/1.0, DNVRS-Webs"
    assert cam.passive_identity is not None and cam.passive_identity.vendor == "hikvision"


def test_a_host_that_only_announced_itself_joins_inconclusive() -> None:
    only = host("44:19:b6:00:00:77", None, fact("dhcp", "host_name", "ghost"))
    report = audit_of(["syn-dropped"], passive=(only,))
    (ghost,) = by_mac(report, "44:19:b6:00:00:77")
    assert ghost.ip is None and ghost.sources == ("traffic",)
    assert ghost.oui_vendor is not None and "Hikvision" in ghost.oui_vendor
    assert ghost.verdict.verdict == Verdict.INCONCLUSIVE
    assert ghost.verdict.reasons == (ONLY_ANNOUNCED,)
    assert ghost.passive_identity is not None  # the OUI votes; the name "ghost" names no maker
    assert not any("ghost" in line for line in ghost.passive_identity.evidence)


def test_passive_names_survive_json_and_the_schema() -> None:
    report = audit_of(["passive-names"])
    text = to_json(report)
    data = json.loads(text)
    jsonschema.validate(data, schema())
    hik = next(d for d in data["audit"]["devices"] if d["mac"] == HIK_MAC)
    assert hik["passive"][0]["evidence"]["display_filter"].startswith("frame.number==")
    assert hik["passive_identity"]["vendor"] == "hikvision"
    assert from_json(text) == report


def test_an_older_audit_report_without_passive_names_still_reads() -> None:
    data = json.loads(to_json(audit_of(["syn-dropped"])))
    for d in data["audit"]["devices"]:
        d.pop("passive"), d.pop("passive_identity")
    back = from_json(json.dumps(data))
    assert isinstance(back, AuditReport)
    assert all(d.passive == () and d.passive_identity is None for d in back.audit.devices)


def test_the_console_marks_passive_names_and_the_guess_as_passive() -> None:
    from rich.console import Console

    from camaudit.i18n import translator

    console = Console(record=True, width=200, color_system=None)
    render_audit(audit_of(["passive-names"]), console, translator("en"))
    text = console.export_text()
    assert "hikvision (passive)" in text and "DS-2CD2143G0-I (passive)" in text
    said = "passive dhcp (names the device chose, frame 3): message=DISCOVER, host_name=yard"
    assert said in text
