"""The council's inventory table: one row per device, in the councils' column order.

Councils keep a list per location: description, make, model, firmware, closed network
yes/no. :func:`council_rows` derives those rows from any report, with what camaudit adds
(IP, MAC, CVEs, the verdict code and where the evidence is), for the CSV and Markdown
renderings. Each row's "closed network" cell is the device's own isolation outcome:

- an inventory (``discover`` / ``fingerprint``) has seen no traffic: ``not_tested``;
- a verify report judges the traffic as a whole; each device seen in it gets its own
  outcome from the findings and flows that name its address, failing closed: a crossing
  is ``not_isolated``, evidence that cannot show isolation (an inconclusive report) is
  ``inconclusive`` for every device that did not cross, an attempt is
  ``isolated_with_attempts``, and only then ``isolated``.

Location and description come from the council's register (``--register``) when the
report carries one; otherwise they are empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from camaudit.report.model import DeviceEntry, InventoryReport, Report, VerifyReport

__all__ = ["NOT_TESTED", "CouncilRow", "council_rows"]

NOT_TESTED = "not_tested"
# The finding rules that make a device's own outcome a crossing, or an attempt (the same
# rules the verdict stage counts as crossed / attempted).
CROSSED_RULES = frozenset({"BOUNDARY-CROSSED-OUT", "BOUNDARY-CROSSED-IN", "DNS-EXTERNAL-RESOLVED"})
ATTEMPT_RULES = frozenset({"OUTBOUND-ATTEMPT", "DNS-EXTERNAL-LOOKUP"})


@dataclass(frozen=True)
class CouncilRow:
    """One device as the council's table lists it; text as seen (escape it per format)."""

    location: str
    description: str
    make: str
    model: str
    firmware: str
    verdict: str  # a Verdict value, or NOT_TESTED
    ip: str
    mac: str
    cves: tuple[str, ...]
    evidence: tuple[str, ...]  # "capture#frames" or a JSON pointer into the report


def council_rows(report: Report) -> tuple[CouncilRow, ...]:
    """The rows of ``report``'s devices, in the report's device order."""
    if isinstance(report, InventoryReport):
        return tuple(_inventory_row(i, d) for i, d in enumerate(report.inventory.devices))
    if isinstance(report, VerifyReport):
        return tuple(_verify_row(report, h.ip, h.mac, h.oui_vendor) for h in report.devices)
    raise TypeError(f"no council table for {type(report).__name__}")  # pragma: no cover


def _inventory_row(index: int, d: DeviceEntry) -> CouncilRow:
    ident = d.identity
    make = (ident.oem_brand or ident.vendor) if ident else None
    return CouncilRow(
        location="",
        description="",
        make=make or d.oui_vendor or "",
        model=(ident.model if ident else None) or "",
        firmware=(ident.firmware if ident else None) or "",
        verdict=NOT_TESTED,
        ip=d.ip or "",
        mac=d.mac or "",
        cves=tuple(c.cve for c in d.cves),
        evidence=(f"#/inventory/devices/{index}",),
    )


def device_outcome(report: VerifyReport, ip: str) -> str:
    """The verdict of the device at ``ip`` from the evidence that names it (fail closed)."""
    rules = {f.rule for f in report.findings if f.device == ip}
    crossed = bool(rules & CROSSED_RULES) or any(
        o.crossed and not o.allowed_by for o in report.outbound if o.device == ip
    )
    if crossed:
        return "not_isolated"
    if report.verdict == "inconclusive":
        return "inconclusive"
    if rules & ATTEMPT_RULES:
        return "isolated_with_attempts"
    return "isolated"


def _verify_row(report: VerifyReport, ip: str, mac: str | None, oui: str | None) -> CouncilRow:
    evidence = [
        f"{e.capture}#{','.join(map(str, e.frames))}"
        for f in report.findings
        if f.device == ip
        for e in f.evidence
    ]
    return CouncilRow(
        location="",
        description="",
        make=oui or "",
        model="",
        firmware="",
        verdict=device_outcome(report, ip),
        ip=ip,
        mac=mac or "",
        cves=(),
        evidence=tuple(dict.fromkeys(evidence)),
    )
