"""The inventory half of the report model: discovery and fingerprint results as JSON data.

Same top-level shape as the verify report (``schema_version``, ``kind``, ``tool``,
``generated``, ``exit_code``), validated by the same committed schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from camaudit import __version__
from camaudit.discover._udp import OUTSIDE_TARGET, in_target
from camaudit.discover.interface import Inventory, InventoryDevice, MethodAttempt, Sighting
from camaudit.discover.inventory import mac_conflicts
from camaudit.fingerprint.interface import Fingerprint, Identity, ProbeAttempt
from camaudit.report.build import SCHEMA_VERSION, Report


@dataclass(frozen=True)
class InventoryEntry:
    """One device: what discovery saw (if it ran) and what fingerprinting found (if it ran)."""

    ip: str | None
    device: InventoryDevice | None
    fingerprint: Fingerprint | None


def _facts(pairs: Sequence[tuple[str, str]]) -> list[list[str]]:
    return [[key, value] for key, value in pairs]


def _sighting(s: Sighting) -> dict[str, Any]:
    return {
        "method": s.method,
        "ip": s.ip,
        "mac": s.mac,
        "facts": _facts(s.facts),
        "raw_excerpt": s.raw_excerpt,
    }


def _attempt(a: MethodAttempt) -> dict[str, Any]:
    return {
        "method": a.method,
        "status": a.status,
        "error": a.error,
        "duration": round(a.duration, 3),
        "sightings": len(a.sightings),
        "timed_out_hosts": list(a.timed_out_hosts),
    }


def _probe(p: ProbeAttempt) -> dict[str, Any]:
    return {
        "probe": p.probe,
        "status": p.status,
        "error": p.error,
        "duration": round(p.duration, 3),
        "facts": _facts(p.facts),
    }


def _identity(i: Identity) -> dict[str, Any]:
    return {
        "vendor": i.vendor,
        "oem_brand": i.oem_brand,
        "model": i.model,
        "firmware": i.firmware,
        "build_date": i.build_date.isoformat() if i.build_date else None,
        "confidence": round(i.confidence, 3),
        "evidence": list(i.evidence),
        "conflicts": list(i.conflicts),
    }


def _certificates(f: Fingerprint | None) -> list[dict[str, str]]:
    seen = [(p.probe, dict(p.facts).get("tls_sha256")) for p in (f.attempts if f else ())]
    return [{"probe": probe, "sha256": sha} for probe, sha in seen if sha]


def _outside(entry: InventoryEntry) -> dict[str, Any]:
    """A device that answered from outside ``--target``: the finding and what it claimed."""
    d = entry.device
    assert d is not None and entry.ip is not None
    return {
        "ip": entry.ip,
        "finding": (
            f"{entry.ip} answered discovery ({', '.join(d.methods)}) from outside --target; "
            "it was not probed and no credentials were sent to it"
        ),
        "evidence": [
            {
                "method": s.method,
                "sender": s.ip,
                "claims": [[k, v] for k, v in s.facts if k != OUTSIDE_TARGET],
            }
            for s in d.sightings
        ],
    }


def _is_outside(entry: InventoryEntry, inventory: Inventory | None) -> bool:
    return (
        inventory is not None
        and entry.device is not None
        and entry.ip is not None
        and not in_target(entry.ip, inventory.target)
    )


def _device(entry: InventoryEntry, outside: bool = False) -> dict[str, Any]:
    d, f = entry.device, entry.fingerprint
    return {
        "ip": entry.ip,
        "mac": d.mac if d else None,
        "oui_vendor": d.oui_vendor if d else None,
        "oui_organisation": d.oui_organisation if d else None,
        "found_by": list(d.methods) if d else [],
        "open_ports": list(d.open_ports) if d else [],
        "timed_out": d.timed_out if d else False,
        "mac_conflicts": list(mac_conflicts(d)) if d else [],
        "sightings": [_sighting(s) for s in d.sightings] if d else [],
        "identity": _identity(f.identity) if f else None,
        "cves": [
            {
                "cve": c.cve,
                "cvss": c.cvss,
                "kev_date_added": c.kev_date_added.isoformat() if c.kev_date_added else None,
                "reason": c.reason,
                "fixed_in": c.fixed_in,
                "source": c.source,
            }
            for c in (f.cves if f else ())
        ],
        "probes": [_probe(p) for p in f.attempts] if f else [],
        "config_findings": list(f.config_findings) if f else [],
        "outside_target": outside,
        "tls_certificates": _certificates(f),
        "warnings": list(f.warnings) if f else [],
    }


def entries(
    inventory: Inventory | None, fingerprints: Sequence[Fingerprint]
) -> tuple[InventoryEntry, ...]:
    """Join discovery devices and fingerprints by IP address, discovery order first."""
    by_ip = {f.host: f for f in fingerprints}
    out: list[InventoryEntry] = []
    seen: set[str] = set()
    for device in inventory.devices if inventory else ():
        fp = by_ip.get(device.ip) if device.ip else None
        out.append(InventoryEntry(device.ip, device, fp))
        if device.ip:
            seen.add(device.ip)
    out.extend(InventoryEntry(f.host, None, f) for f in fingerprints if f.host not in seen)
    return tuple(out)


def build_inventory_report(
    inventory: Inventory | None,
    fingerprints: Sequence[Fingerprint],
    generated: datetime | None = None,
    closed_network: tuple[Sequence[str], bool] = ((), False),
) -> Report:
    """The inventory report: every device with its evidence, identity and advisories.

    ``closed_network`` is ``(CIDRs, is_default)`` as the device settings were checked
    (:func:`camaudit.fingerprint.closed_network_scope`); the report says when the
    default applied. Devices that answered from outside the target are listed apart.
    """
    joined = entries(inventory, fingerprints)
    outside = [e for e in joined if _is_outside(e, inventory)]
    devices = [_device(e, _is_outside(e, inventory)) for e in joined]
    target = None
    if inventory is not None:
        t = inventory.target
        target = {
            "networks": list(t.networks),
            "interface": t.interface,
            "timeout": t.timeout,
            "budget": t.budget,
        }
    identified = sum(1 for d in devices if d["identity"] and d["identity"]["vendor"])
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "inventory",
        "tool": {"name": "camaudit", "version": __version__},
        "generated": (generated or datetime.now(UTC)).isoformat(timespec="seconds"),
        "exit_code": 0,
        "inventory": {
            "target": target,
            "duration": inventory.duration if inventory else None,
            "attempts": [_attempt(a) for a in inventory.attempts] if inventory else [],
            "summary": {
                "devices": len(devices),
                "identified": identified,
                "with_cves": sum(1 for d in devices if d["cves"]),
                "with_kev": sum(1 for d in devices if any(c["kev_date_added"] for c in d["cves"])),
                "timed_out": sum(1 for d in devices if d["timed_out"]),
                "outside_target": len(outside),
            },
            "closed_network": {
                "networks": list(closed_network[0]),
                "default": closed_network[1],
            },
            "outside_target": [_outside(e) for e in outside],
            "devices": devices,
        },
    }
