"""A report full of hostile text: what a device, a DNS answer or a file name may say.

Built from a real report (the tls-established lab capture, the fake camera's inventory
and the golden audit of the lab segment) with every text field the renderers show
replaced by something that would execute, link, format or hide text if it passed
unescaped.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from camaudit.model import Evidence, HostInfo, Phrase
from camaudit.report.model import AuditDeviceEntry, AuditReport, InventoryReport, VerifyReport
from tests.report.reports import fake_camera_inventory, golden_audit, golden_verify

HOSTILE = (
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click me](http://evil.example/)",
    "![pixel](http://evil.example/p.png)",
    "# Heading",
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\x1b[31mred\x1b[0m\x1b]0;title\x07",
    "invoice\u202egnp.exe",
    "\u2066isolated\u2069",
    "a|b|c",
    "`code` ``x``",
    "www.evil.example",
    "http://evil.example/x",
    "mail@evil.example",
    "{0} {{braces}}",
    "line1\nline2\r\n## injected",
    "\ud800 lone surrogate",
    "A" * 65536,
)
JOINED = " ".join(HOSTILE)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
EVIDENCE = Evidence(JOINED, (18, 32), "tcp.port==443 && `x` | <b>" + JOINED)

Traffic = TypeVar("Traffic", VerifyReport, AuditReport)


def hostile_verify() -> VerifyReport:
    return _hostile_traffic(golden_verify("tls-established"))


def _hostile_traffic(report: Traffic) -> Traffic:
    """The verify part of ``report`` (a verify report or an audit) made hostile."""
    out = report.outbound[0]
    finding = report.findings[0]
    evidence = EVIDENCE
    return dataclasses.replace(
        report,
        reasons=tuple(Phrase(h) for h in HOSTILE),
        policy=dataclasses.replace(report.policy, name=JOINED),
        devices=(*report.devices, *(HostInfo(h, h, h) for h in HOSTILE)),
        outbound=(
            dataclasses.replace(
                out, names=HOSTILE, sni=JOINED, label=JOINED, device=HOSTILE[0], remote=JOINED
            ),
        ),
        findings=tuple(
            dataclasses.replace(finding, device=h, summary=h, label=h, evidence=(evidence,))
            for h in HOSTILE
        ),
    )


def hostile_inventory() -> InventoryReport:
    report = fake_camera_inventory()
    device = report.inventory.devices[0]
    assert device.identity is not None
    devices = tuple(
        dataclasses.replace(
            device,
            ip=h,
            mac=h,
            oui_vendor=h,
            identity=dataclasses.replace(
                device.identity, vendor=h, oem_brand=h, model=h, firmware=h
            ),
            cves=tuple(dataclasses.replace(c, cve=h, reason=h) for c in device.cves),
            config_findings=(h,),
            warnings=(h,),
        )
        for h in HOSTILE
    )
    return dataclasses.replace(
        report, inventory=dataclasses.replace(report.inventory, devices=devices)
    )


def hostile_audit() -> AuditReport:
    """The golden audit with a hostile verify part and one device per hostile text: its
    address, MAC, identity, vulnerabilities, settings, verdict reasons and evidence."""
    report = _hostile_traffic(golden_audit())
    devices = tuple(_hostile_device(report.audit.devices[0], h) for h in HOSTILE)
    audit = dataclasses.replace(report.audit, devices=devices, not_checked=HOSTILE)
    return dataclasses.replace(report, audit=audit)


def _hostile_device(device: AuditDeviceEntry, h: str) -> AuditDeviceEntry:
    assert device.identity is not None
    identity = dataclasses.replace(device.identity, vendor=h, oem_brand=h, model=h, firmware=h)
    cves = tuple(dataclasses.replace(c, cve=h, reason=h, fixed_in=h) for c in device.cves)
    verdict = dataclasses.replace(device.verdict, reasons=(Phrase(h),), evidence=(EVIDENCE,))
    return dataclasses.replace(
        device,
        ip=h,
        mac=h,
        addresses=(h,),
        oui_vendor=h,
        identity=identity,
        cves=cves,
        config_findings=(h,),
        cloud_labels=(h,),
        verdict=verdict,
        not_checked=(h,),
    )
