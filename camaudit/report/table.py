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
  ``isolated_with_attempts``, and only then ``isolated``;
- an audit report carries each device's own verdict (``audit.devices``): its row shows
  that verdict, the identity fingerprinting found and the frames behind the verdict.

Location and description come from the council's register (``--register``) when the
report carries one; otherwise they are empty.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from camaudit.i18n import Translator
from camaudit.messages import TERMS
from camaudit.model import Evidence
from camaudit.report.model import (
    AuditDeviceEntry,
    AuditReport,
    CveEntry,
    DeviceEntry,
    IdentityEntry,
    InventoryReport,
    Report,
    VerifyReport,
)
from camaudit.report.render import by_kind
from camaudit.report.sections import headings

__all__ = [
    "NOT_TESTED",
    "CouncilRow",
    "IdentifiedDevice",
    "TrafficReport",
    "council_header",
    "council_rows",
    "evidence_refs",
    "passive_cells",
    "passive_lines",
]

# The verify part of a report: a verify report, or the same fields inside an audit one.
# Every renderer draws both with one code path.
TrafficReport = VerifyReport | AuditReport


class IdentifiedDevice(Protocol):
    """A device fingerprinting looked at, an inventory's or an audit's: what every
    renderer reads of it (who it is, what applies to it)."""

    @property
    def ip(self) -> str | None: ...
    @property
    def mac(self) -> str | None: ...
    @property
    def oui_vendor(self) -> str | None: ...
    @property
    def identity(self) -> IdentityEntry | None: ...
    @property
    def cves(self) -> tuple[CveEntry, ...]: ...
    @property
    def config_findings(self) -> tuple[str, ...]: ...


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
    # make and model are guessed from names the device chose (no identity of its own):
    # a renderer marks them with passive_cells
    passive: bool = False


def council_header(t: Translator, closed_network: str) -> list[str]:
    """The headings of a :class:`CouncilRow`'s columns up to its CVEs, in ``t``'s language;
    ``closed_network`` is the message (untranslated) that heads the yes/no column."""
    return [
        *headings(t, "location", "description", "make", "model", "firmware"),
        t.gettext(closed_network),
        *headings(t, "ip", "mac", "cves"),
    ]


def council_rows(report: Report) -> tuple[CouncilRow, ...]:
    """The rows of ``report``'s devices, in the report's device order."""
    return by_kind(report, _verify_rows, _inventory_rows, _audit_rows)


def _verify_rows(report: VerifyReport) -> tuple[CouncilRow, ...]:
    return tuple(_verify_row(report, h.ip, h.mac, h.oui_vendor) for h in report.devices)


def _inventory_rows(report: InventoryReport) -> tuple[CouncilRow, ...]:
    return tuple(_inventory_row(i, d) for i, d in enumerate(report.inventory.devices))


def _audit_rows(report: AuditReport) -> tuple[CouncilRow, ...]:
    return tuple(_audit_row(i, d) for i, d in enumerate(report.audit.devices))


def _identified_row(d: IdentifiedDevice, verdict: str, evidence: tuple[str, ...]) -> CouncilRow:
    """A row of a device fingerprinting looked at (an inventory's or an audit's)."""
    ident: IdentityEntry | None = d.identity
    make = (ident.oem_brand or ident.vendor) if ident else None
    return CouncilRow(
        location="",
        description="",
        make=make or d.oui_vendor or "",
        model=(ident.model if ident else None) or "",
        firmware=(ident.firmware if ident else None) or "",
        verdict=verdict,
        ip=d.ip or "",
        mac=d.mac or "",
        cves=tuple(c.cve for c in d.cves),
        evidence=evidence,
    )


def _inventory_row(index: int, d: DeviceEntry) -> CouncilRow:
    return _identified_row(d, NOT_TESTED, (f"#/inventory/devices/{index}",))


def _audit_row(index: int, d: AuditDeviceEntry) -> CouncilRow:
    """The device's own verdict; its evidence is the frames behind it, or where the report
    says why there are none. With no identity of its own, the make and model its passive
    names suggest (marked passive)."""
    frames = evidence_refs(d.verdict.evidence)
    row = _identified_row(d, d.verdict.verdict.value, frames or (f"#/audit/devices/{index}",))
    guess = d.passive_identity
    if d.identity is not None or guess is None:
        return row
    make = guess.oem_brand or guess.vendor or ""
    return dataclasses.replace(row, make=make, model=guess.model or "", passive=True)


def passive_cells(make: str, model: str, t: Translator) -> tuple[str, str]:
    """A make and model guessed from names the device chose, marked "(passive)" in the
    reader's language (an unknown make is said so: the mark must show)."""
    mark = t.gettext(TERMS["passive_mark"], value=make or t.gettext(TERMS["unknown"]))
    return mark, t.gettext(TERMS["passive_mark"], value=model) if model else ""


def passive_lines(d: AuditDeviceEntry, t: Translator) -> list[str]:
    """The names a device gave itself, one line per protocol, from the first frame on
    (untrusted text: escape it per format)."""
    said: dict[str, list[str]] = {}
    first: dict[str, int] = {}
    for f in d.passive:
        said.setdefault(f.protocol, []).append(f"{f.key}={f.value}")
        first.setdefault(f.protocol, f.evidence.frames[0])
    return [
        t.gettext(
            TERMS["passive_names"],
            protocol=protocol,
            frame=t.format_number(first[protocol]),
            names=", ".join(names),
        )
        for protocol, names in said.items()
    ]


def evidence_refs(evidence: Iterable[Evidence]) -> tuple[str, ...]:
    """Each piece of evidence as ``capture#frame,frame``, once each, in order."""
    return tuple(dict.fromkeys(f"{e.capture}#{','.join(map(str, e.frames))}" for e in evidence))


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
    evidence = evidence_refs(e for f in report.findings if f.device == ip for e in f.evidence)
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
        evidence=evidence,
    )
