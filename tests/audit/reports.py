"""Audit reports built from the stored lab captures (pcaps/) and a given inventory."""

from __future__ import annotations

from pathlib import Path

from camaudit.api import verify
from camaudit.audit import build_audit_report
from camaudit.model import PassiveHost
from camaudit.report.model import (
    AuditReport,
    DeviceEntry,
    IdentityEntry,
    InventoryReport,
    InventorySection,
    InventorySummary,
    RecordingEntry,
    ScopeEntry,
    TargetEntry,
    ToolInfo,
)

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
CLOSED = ("10.66.0.0/24", "fd66::/64")
CAM1_IP, CAM1_MAC = "10.66.0.21", "02:66:00:00:00:21"


def capture(case: str) -> Path:
    return PCAPS / case / f"{case}.pcap"


def identity(firmware: str | None = "V5.5.0") -> IdentityEntry:
    return IdentityEntry("hikvision", None, "DS-2CD2042WD-I", firmware, None, 0.9, ("sadp",), ())


def device(
    ip: str, mac: str | None, ident: IdentityEntry | None = None, config: tuple[str, ...] = ()
) -> DeviceEntry:
    """A discovered device as the inventory stage reports it (facts kept to what matters)."""
    return DeviceEntry(
        ip, mac, None, None, ("arp",), (), False, (), (), ident, (), (), config, False, (), ()
    )


def inventory(*devices: DeviceEntry, target: str = "10.66.0.0/24") -> InventoryReport:
    summary = InventorySummary(len(devices), 0, 0, 0, 0, 0)
    section = InventorySection(
        TargetEntry((target,), "eth0", 2.0, 60.0),
        1.0,
        (),
        summary,
        ScopeEntry(CLOSED, False),
        (),
        devices,
    )
    return InventoryReport(1, "inventory", ToolInfo("camaudit", "test"), "x", 0, section)


def audit_of(
    cases: list[str],
    *devices: DeviceEntry,
    credentials: bool = False,
    recording: RecordingEntry | None = None,
    target: str = "10.66.0.0/24",
    passive: tuple[PassiveHost, ...] | None = None,
) -> AuditReport:
    """``passive``: the names to join (None: those the traffic stage read from the cases)."""
    verified = verify([capture(c) for c in cases], CLOSED)
    return build_audit_report(
        verified.report,
        inventory(*devices, target=target),
        recording=recording,
        credentials=credentials,
        passive=verified.traffic.passive if passive is None else passive,
    )
