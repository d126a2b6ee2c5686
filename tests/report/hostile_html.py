"""Reports whose untrusted text fields hold hostile text, for the HTML tests.

Each report is a real one (a pcaps/ case, the fake camera's inventory) with the fields an
attacker controls replaced: device names and vendors, banners, DNS names, SNI, capture
paths, finding texts. What the page must show of each is its text, inert.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

from camaudit.model import Evidence, HostInfo, Phrase
from camaudit.report.model import AuditReport, IdentityEntry, InventoryReport, VerifyReport

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
JINJA = "{{ 7*7 }}{% raw %}"
ESCAPE = "\x1b[31mred\x1b[0m"
BIDI = "abc\u202egnp.exe"
LONG = "A" * 65536
# Every hostile text, and the text a reader must see of it (after sanitising).
HOSTILE = (SCRIPT, IMG, JINJA, ESCAPE, BIDI, LONG)
SHOWN = {
    SCRIPT: SCRIPT,
    IMG: IMG,
    JINJA: JINJA,
    ESCAPE: "\\x1b[31mred\\x1b[0m",
    BIDI: "abc\\u202egnp.exe",
    LONG: "A" * 100,  # cut, but its start is shown
}


Traffic = TypeVar("Traffic", VerifyReport, AuditReport)


def hostile_verify(report: Traffic) -> Traffic:
    """``report`` (a verify report, or an audit's verify part) with hostile text in every
    untrusted field a reader sees."""
    devices = tuple(
        HostInfo(ip=f"{SCRIPT}{i}", mac=IMG, oui_vendor=text) for i, text in enumerate(HOSTILE)
    )
    outbound = tuple(
        dataclasses.replace(
            flow, device=devices[0].ip, remote=IMG, sni=JINJA, capture=ESCAPE, names=(BIDI,)
        )
        for flow in report.outbound
    )
    dns = tuple(
        dataclasses.replace(d, name=text, answers=(IMG,), client=SCRIPT, server=BIDI)
        for d in report.dns
        for text in HOSTILE
    )
    findings = tuple(
        dataclasses.replace(
            f,
            device=SCRIPT,
            summary=" ".join(HOSTILE),
            evidence=(
                Evidence(capture=IMG, frames=(1, 2), display_filter=f"frame.number == 1 {SCRIPT}"),
            ),
        )
        for f in report.findings
    )
    inputs = tuple(dataclasses.replace(c, path=f"{IMG}{JINJA}") for c in report.inputs)
    return dataclasses.replace(
        report,
        reasons=(*report.reasons, *(Phrase(h) for h in HOSTILE)),
        devices=devices,
        outbound=outbound,
        dns=dns,
        findings=findings,
        inputs=inputs,
    )


IDENTITY = IdentityEntry(
    vendor=SCRIPT,
    oem_brand=None,
    model=IMG,
    firmware=JINJA,
    build_date=None,
    confidence=1.0,
    evidence=(),
    conflicts=(),
)


def hostile_inventory(report: InventoryReport) -> InventoryReport:
    """``report`` with hostile banners, model and firmware names."""
    identity = IDENTITY
    devices = tuple(
        dataclasses.replace(
            d,
            identity=identity,
            oui_vendor=BIDI,
            config_findings=(ESCAPE, LONG),
            open_ports=(IMG, BIDI),
        )
        for d in report.inventory.devices
    )
    return dataclasses.replace(
        report, inventory=dataclasses.replace(report.inventory, devices=devices)
    )


def hostile_audit(report: AuditReport) -> AuditReport:
    """``report`` with a hostile verify part and hostile devices: names, identity,
    settings, verdict reasons, evidence and what could not be checked."""
    report = hostile_verify(report)
    evidence = Evidence(capture=IMG, frames=(3,), display_filter=f"frame.number == 3 {JINJA}")
    devices = tuple(
        dataclasses.replace(
            d,
            ip=f"{SCRIPT}{i}",
            mac=IMG,
            oui_vendor=BIDI,
            identity=IDENTITY,
            config_findings=(ESCAPE, LONG),
            verdict=dataclasses.replace(
                d.verdict, reasons=tuple(Phrase(h) for h in HOSTILE), evidence=(evidence,)
            ),
            not_checked=(JINJA, BIDI),
        )
        for i, d in enumerate(report.audit.devices)
    )
    audit = dataclasses.replace(report.audit, devices=devices, not_checked=(SCRIPT, LONG))
    return dataclasses.replace(report, audit=audit)
