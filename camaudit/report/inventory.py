"""The inventory report: discovery and fingerprint results as an :class:`InventoryReport`.

Same top-level shape as the verify report (``schema_version``, ``kind``, ``tool``,
``generated``, ``exit_code``), validated by the same committed schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from camaudit.discover._udp import OUTSIDE_TARGET, in_target
from camaudit.discover.interface import Inventory, MethodAttempt, Sighting
from camaudit.discover.inventory import mac_conflicts
from camaudit.fingerprint.interface import (
    CveMatch,
    Fingerprint,
    IdentifiedDevice,
    Identity,
    ProbeAttempt,
)
from camaudit.knowledge import Knowledge
from camaudit.report.build import TOOL, generated_at
from camaudit.report.compliance import with_controls
from camaudit.report.model import (
    SCHEMA_VERSION,
    CertificateEntry,
    ClaimEntry,
    CveEntry,
    DeviceEntry,
    Facts,
    IdentityEntry,
    InventoryReport,
    InventorySection,
    InventorySummary,
    MethodEntry,
    OutsideEntry,
    ProbeEntry,
    ScopeEntry,
    SightingEntry,
    TargetEntry,
    copy_fields,
)


def _facts(pairs: Sequence[tuple[str, str]]) -> Facts:
    return tuple((key, value) for key, value in pairs)


def _sighting(s: Sighting) -> SightingEntry:
    return SightingEntry(s.method, s.ip, s.mac, _facts(s.facts), s.raw_excerpt)


def _attempt(a: MethodAttempt) -> MethodEntry:
    duration = round(a.duration, 3)
    return MethodEntry(
        a.method,
        a.status,
        a.error,
        duration,
        len(a.sightings),
        tuple(a.timed_out_hosts),
        tuple(a.commands),
    )


def _probe(p: ProbeAttempt) -> ProbeEntry:
    return ProbeEntry(p.probe, p.status, p.error, round(p.duration, 3), _facts(p.facts))


def _identity(i: Identity) -> IdentityEntry:
    return copy_fields(
        IdentityEntry,
        i,
        build_date=i.build_date.isoformat() if i.build_date else None,
        confidence=round(i.confidence, 3),
        evidence=tuple(i.evidence),
        conflicts=tuple(i.conflicts),
    )


def _cve(c: CveMatch) -> CveEntry:
    kev = c.kev_date_added.isoformat() if c.kev_date_added else None
    return copy_fields(CveEntry, c, kev_date_added=kev)


def _certificates(f: Fingerprint | None) -> tuple[CertificateEntry, ...]:
    seen = [(p.probe, dict(p.facts).get("tls_sha256")) for p in (f.attempts if f else ())]
    return tuple(CertificateEntry(probe, sha) for probe, sha in seen if sha)


def _outside(entry: IdentifiedDevice) -> OutsideEntry:
    """A device that answered from outside ``--target``: the finding and what it claimed."""
    d = entry.device
    assert d is not None and entry.ip is not None
    finding = (
        f"{entry.ip} answered discovery ({', '.join(d.methods)}) from outside --target; "
        "it was not probed and no credentials were sent to it"
    )
    claims = tuple(
        ClaimEntry(s.method, s.ip, _facts([(k, v) for k, v in s.facts if k != OUTSIDE_TARGET]))
        for s in d.sightings
    )
    return OutsideEntry(entry.ip, finding, claims)


def _is_outside(entry: IdentifiedDevice, inventory: Inventory | None) -> bool:
    return (
        inventory is not None
        and entry.device is not None
        and entry.ip is not None
        and not in_target(entry.ip, inventory.target)
    )


def _device(entry: IdentifiedDevice, outside: bool = False) -> DeviceEntry:
    d, f = entry.device, entry.fingerprint
    return DeviceEntry(
        ip=entry.ip,
        mac=d.mac if d else None,
        oui_vendor=d.oui_vendor if d else None,
        oui_organisation=d.oui_organisation if d else None,
        found_by=tuple(d.methods) if d else (),
        open_ports=tuple(d.open_ports) if d else (),
        timed_out=d.timed_out if d else False,
        mac_conflicts=tuple(mac_conflicts(d)) if d else (),
        sightings=tuple(_sighting(s) for s in d.sightings) if d else (),
        identity=_identity(f.identity) if f else None,
        cves=tuple(_cve(c) for c in f.cves) if f else (),
        probes=tuple(_probe(p) for p in f.attempts) if f else (),
        config_findings=tuple(c.summary.text for c in f.config_findings) if f else (),
        outside_target=outside,
        tls_certificates=_certificates(f),
        warnings=tuple(f.warnings) if f else (),
    )


def _summary(devices: Sequence[DeviceEntry], outside: int) -> InventorySummary:
    return InventorySummary(
        devices=len(devices),
        identified=sum(1 for d in devices if d.identity and d.identity.vendor),
        with_cves=sum(1 for d in devices if d.cves),
        with_kev=sum(1 for d in devices if any(c.kev_date_added for c in d.cves)),
        timed_out=sum(1 for d in devices if d.timed_out),
        outside_target=outside,
    )


def build_inventory_report(
    inventory: Inventory | None,
    found: Sequence[IdentifiedDevice],
    generated: datetime | None = None,
    closed_network: tuple[Sequence[str], bool] = ((), False),
    knowledge: Knowledge | None = None,
) -> InventoryReport:
    """The inventory report: every device with its evidence, identity and advisories.

    ``closed_network`` is ``(CIDRs, is_default)`` as the device settings were checked
    (:func:`camaudit.fingerprint.closed_network_scope`); the report says when the
    default applied. Devices that answered from outside the target are listed apart.
    ``found`` holds the devices as fingerprinting returned them (discovery order).
    """
    outside = tuple(_outside(e) for e in found if _is_outside(e, inventory))
    devices = tuple(_device(e, _is_outside(e, inventory)) for e in found)
    target = None
    if inventory is not None:
        t = inventory.target
        target = TargetEntry(tuple(t.networks), t.interface, t.timeout, t.budget)
    section = InventorySection(
        target=target,
        duration=inventory.duration if inventory else None,
        attempts=tuple(_attempt(a) for a in inventory.attempts) if inventory else (),
        summary=_summary(devices, len(outside)),
        closed_network=ScopeEntry(tuple(closed_network[0]), closed_network[1]),
        outside_target=outside,
        devices=devices,
    )
    report = InventoryReport(
        schema_version=SCHEMA_VERSION,
        kind="inventory",
        tool=TOOL,
        generated=generated_at(generated),
        exit_code=0,
        inventory=section,
    )
    return with_controls(report, knowledge)
