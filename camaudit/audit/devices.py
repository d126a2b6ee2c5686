"""One isolation verdict per device, from the verify and inventory parts of an audit.

The overall verdict stays the verify verdict; each device gets the same four values
computed from its own outbound flows, look-ups and findings, tied to it by MAC and
address. Fail closed: a device with no traffic in the evidence, or an otherwise clean
device in a capture with blocking problems, is ``inconclusive``, never ``isolated``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from camaudit.model import Evidence, HostInfo, Phrase, Verdict
from camaudit.phrases import finding_phrase, phrase
from camaudit.policy.evaluate import blocking_problems, tally
from camaudit.report.model import (
    AuditDeviceEntry,
    AuditReport,
    AuditSection,
    AuditSummary,
    DeviceEntry,
    DeviceVerdictEntry,
    InventoryReport,
    RecordingEntry,
    VerifyReport,
)

# The verify stage's rule ids (policy/evaluate.py): what crossed, what only tried.
CROSSED_RULES = frozenset({"BOUNDARY-CROSSED-OUT", "BOUNDARY-CROSSED-IN", "DNS-EXTERNAL-RESOLVED"})
ATTEMPT_RULES = frozenset({"OUTBOUND-ATTEMPT", "DNS-EXTERNAL-LOOKUP"})

NO_TRAFFIC = phrase("device_no_traffic")
NO_CAPTURE = "no capture of this device's traffic"
ISOLATED_REASON = "no packet from this device was addressed outside; it looked up no outside name"
PASSIVE_NAMES_MISSING = (
    "DHCP host names, mDNS and SSDP names are not read from traffic (the traffic stage does "
    "not decode them): devices seen only in traffic are named by MAC/OUI and vendor-cloud "
    "look-ups only"
)


@dataclass(frozen=True)
class _Ties:
    """What of the verify part belongs to one device (indices into its lists)."""

    addresses: tuple[str, ...]
    seen: bool
    outbound: tuple[int, ...]
    dns: tuple[int, ...]
    findings: tuple[int, ...]


def build_audit_report(
    verify: VerifyReport,
    inventory: InventoryReport,
    *,
    recording: RecordingEntry | None,
    credentials: bool,
) -> AuditReport:
    """The audit report: verify and inventory parts side by side, every device judged."""
    networks = inventory.inventory.target.networks if inventory.inventory.target else ()
    blocking = _blocking(verify)
    devices: list[AuditDeviceEntry] = []
    claimed: set[str] = set()
    for index, found in enumerate(inventory.inventory.devices):
        ties = _tie(verify, found.ip, found.mac, networks)
        claimed.update(ties.addresses)
        devices.append(_discovered(verify, index, found, ties, blocking, credentials))
    for host in verify.devices:
        if host.ip not in claimed:
            ties = _tie(verify, host.ip, None, ())
            devices.append(_passive(verify, host, ties, blocking))
    section = AuditSection(
        mode="recorded" if recording is not None else "captures",
        recording=recording,
        credentials=credentials,
        summary=_summary(devices),
        devices=tuple(devices),
        not_checked=_run_not_checked(credentials, devices),
    )
    return AuditReport(
        schema_version=verify.schema_version,
        kind="audit",
        tool=verify.tool,
        generated=verify.generated,
        verdict=verify.verdict,
        exit_code=verify.exit_code,
        reasons=verify.reasons,
        closed_network=verify.closed_network,
        policy=verify.policy,
        summary=verify.summary,
        inputs=verify.inputs,
        problems=verify.problems,
        devices=verify.devices,
        outbound=verify.outbound,
        dns=verify.dns,
        findings=verify.findings,
        inventory=inventory.inventory,
        audit=section,
        rhythm=verify.rhythm,
    )


def _in(ip: str, networks: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        return any(address in ipaddress.ip_network(n, strict=False) for n in networks)
    except ValueError:
        return False


def _tie(verify: VerifyReport, ip: str | None, mac: str | None, networks: Sequence[str]) -> _Ties:
    """The device's addresses (its own, plus those its MAC used inside the target: a
    router's MAC carries other subnets' hosts, so only on-link addresses are tied by
    MAC), whether it sent anything, and its flows, look-ups and findings."""
    addresses = {ip} if ip else set()
    if mac:
        sides = [(h.ip, h.mac) for h in verify.devices]
        sides += [(o.device, o.device_mac) for o in verify.outbound]
        addresses |= {a for a, m in sides if m and m.lower() == mac.lower() and _in(a, networks)}
    seen = any(h.ip in addresses for h in verify.devices)
    seen = seen or any(d.client in addresses for d in verify.dns)
    return _Ties(
        addresses=tuple(sorted(addresses, key=_sort_key)),
        seen=seen,
        outbound=tuple(i for i, o in enumerate(verify.outbound) if o.device in addresses),
        dns=tuple(i for i, d in enumerate(verify.dns) if d.client in addresses),
        findings=tuple(i for i, f in enumerate(verify.findings) if f.device in addresses),
    )


def _sort_key(ip: str) -> tuple[int, int]:
    address = ipaddress.ip_address(ip)
    return address.version, int(address)


def _blocking(verify: VerifyReport) -> tuple[Phrase, ...]:
    """Problems that keep any capture from showing isolation (the verify stage's list)."""
    problems = list(verify.problems)
    for item in verify.inputs:
        problems.extend(item.problems)
    return tuple(blocking_problems(problems))


def device_verdict(
    verify: VerifyReport, ties: _Ties, blocking: Sequence[Phrase]
) -> DeviceVerdictEntry:
    """The device's verdict from its own evidence; fail closed where that is thin."""
    findings = [verify.findings[i] for i in ties.findings]
    crossed = [finding_phrase(f) for f in findings if f.rule in CROSSED_RULES]
    # An outbound flow that crossed unallowed is a crossing even if no finding said so.
    if not crossed:
        crossed = [
            phrase("device_flow_crossed", device=o.device, remote=o.remote)
            for o in (verify.outbound[i] for i in ties.outbound)
            if o.crossed and not o.allowed_by
        ]
    attempts = tally(finding_phrase(f) for f in findings if f.rule in ATTEMPT_RULES)
    crossed = tally(crossed)
    evidence = tuple(e for f in findings for e in f.evidence)
    reasons: list[Phrase]
    if crossed:
        verdict, reasons = (
            Verdict.NOT_ISOLATED,
            [phrase("device_crossed", detail=c) for c in crossed],
        )
    elif not ties.seen:
        verdict, reasons = Verdict.INCONCLUSIVE, [NO_TRAFFIC]
    elif blocking:
        verdict = Verdict.INCONCLUSIVE
        reasons = [phrase("cannot_show", detail=b) for b in blocking]
        reasons += [phrase("attempt", detail=a) for a in attempts]
    elif attempts:
        verdict = Verdict.ISOLATED_WITH_ATTEMPTS
        reasons = [phrase("device_tried", detail=a) for a in attempts]
    elif verify.verdict == Verdict.INCONCLUSIVE:
        # The overall verdict could not be reached for a reason this device shares.
        verdict = Verdict.INCONCLUSIVE
        reasons = [phrase("whole_inconclusive", detail=r) for r in verify.reasons]
    else:
        verdict, reasons = Verdict.ISOLATED, [phrase("device_nothing_out")]
    return DeviceVerdictEntry(
        verdict=verdict,
        reasons=tuple(reasons),
        outbound=ties.outbound,
        dns=ties.dns,
        findings=ties.findings,
        evidence=_unique(evidence),
    )


def _unique(items: Iterable[Evidence]) -> tuple[Evidence, ...]:
    return tuple(dict.fromkeys(items))


def _labels(verify: VerifyReport, ties: _Ties) -> tuple[str, ...]:
    labels = [verify.outbound[i].label for i in ties.outbound]
    labels += [verify.dns[i].label for i in ties.dns]
    return tuple(sorted({label for label in labels if label}))


def _discovered(
    verify: VerifyReport,
    index: int,
    found: DeviceEntry,
    ties: _Ties,
    blocking: Sequence[Phrase],
    credentials: bool,
) -> AuditDeviceEntry:
    missing: list[str] = []
    identity = found.identity
    if identity is None:
        missing.append("identity unknown: the device was not fingerprinted or did not answer")
    elif identity.firmware is None:
        why = "the device did not say" if credentials else "no credentials"
        missing.append(f"firmware unknown: {why}")
    if identity is None or identity.firmware is None:
        missing.append("CVEs not checked: firmware unknown")
    if not ties.seen:
        missing.append(NO_CAPTURE)
    return AuditDeviceEntry(
        ip=found.ip,
        mac=found.mac,
        addresses=ties.addresses,
        sources=("discovery", "traffic") if ties.seen else ("discovery",),
        oui_vendor=found.oui_vendor,
        identity=identity,
        cves=found.cves,
        config_findings=found.config_findings,
        inventory_index=index,
        cloud_labels=_labels(verify, ties),
        verdict=device_verdict(verify, ties, blocking),
        not_checked=tuple(missing),
    )


def _passive(
    verify: VerifyReport, host: HostInfo, ties: _Ties, blocking: Sequence[Phrase]
) -> AuditDeviceEntry:
    return AuditDeviceEntry(
        ip=host.ip,
        mac=host.mac,
        addresses=ties.addresses,
        sources=("traffic",),
        oui_vendor=host.oui_vendor,
        identity=None,
        cves=(),
        config_findings=(),
        inventory_index=None,
        cloud_labels=_labels(verify, ties),
        verdict=device_verdict(verify, ties, blocking),
        not_checked=(
            "not probed: seen only in traffic (outside --target or silent to discovery)",
            "identity, firmware, CVEs and settings unknown",
        ),
    )


def _summary(devices: Sequence[AuditDeviceEntry]) -> AuditSummary:
    def count(v: Verdict) -> int:
        return sum(1 for d in devices if d.verdict.verdict == v)

    return AuditSummary(
        devices=len(devices),
        discovered=sum(1 for d in devices if "discovery" in d.sources),
        traffic_only=sum(1 for d in devices if d.sources == ("traffic",)),
        isolated=count(Verdict.ISOLATED),
        isolated_with_attempts=count(Verdict.ISOLATED_WITH_ATTEMPTS),
        not_isolated=count(Verdict.NOT_ISOLATED),
        inconclusive=count(Verdict.INCONCLUSIVE),
    )


def _run_not_checked(credentials: bool, devices: Sequence[AuditDeviceEntry]) -> tuple[str, ...]:
    missing = [PASSIVE_NAMES_MISSING]
    if not credentials:
        missing.append("no credentials: firmware and settings behind a login were not read")
    silent = sum(1 for d in devices if d.verdict.reasons == (NO_TRAFFIC,))
    if silent:
        missing.append(f"{silent} device(s) sent nothing in the evidence: no verdict for them")
    return tuple(missing)
