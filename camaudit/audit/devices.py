"""One isolation verdict per device, from the verify and inventory parts of an audit.

The overall verdict stays the verify verdict; each device gets the same four values
computed from its own outbound flows, look-ups and findings, tied to it by MAC and
address. Fail closed: a device with no traffic in the evidence, or an otherwise clean
device in a capture with blocking problems, is ``inconclusive``, never ``isolated``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache

from camaudit.audit.passive import PassiveJoin, fact_entries, guess_identity
from camaudit.i18n import N_, Translator
from camaudit.knowledge import Knowledge, given_or_default
from camaudit.model import Evidence, HostInfo, PassiveHost, Phrase, Verdict
from camaudit.phrases import finding_phrase, phrase
from camaudit.policy.evaluate import DEVICE, blocking_problems, decide, tally
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
# What could not be checked, by code: each a catalogue message whose {fields} are filled in.
# The JSON keeps the English sentence; :func:`audit_text` gives a renderer the sentence in
# the reader's language.
_SENTENCES: tuple[tuple[str, str], ...] = (
    ("no_capture", N_("no capture of this device's traffic")),
    (
        "passive_names_missing",
        N_(
            "no DHCP, mDNS or SSDP names in the evidence: devices seen only in traffic are "
            "named by MAC/OUI and vendor-cloud look-ups only"
        ),
    ),
    ("no_identity", N_("identity unknown: the device was not fingerprinted or did not answer")),
    ("firmware_silent", N_("firmware unknown: the device did not say")),
    ("firmware_no_login", N_("firmware unknown: no credentials")),
    ("no_cves", N_("CVEs not checked: firmware unknown")),
    (
        "onvif_no_login",
        N_(
            "ONVIF GetDeviceInformation and the network settings calls (GetNetworkInterfaces, "
            "GetNTP, GetDNS, GetNetworkDefaultGateway, GetNetworkProtocols) not made: no "
            "credentials"
        ),
    ),
    ("onvif_failed", N_("ONVIF {call} failed: {error}")),
    ("http_no_login", N_("web pages behind the login not read: no credentials")),
    (
        "settings_no_login",
        N_("device settings (NTP, DNS, gateway, UPnP, P2P) not checked: no credentials"),
    ),
    ("probe_unfinished", N_("probe {probe} did not complete ({status}): {error}")),
    (
        "not_probed",
        N_("not probed: seen only in traffic (outside --target or silent to discovery)"),
    ),
    ("nothing_known", N_("identity, firmware, CVEs and settings unknown")),
    ("run_no_login", N_("no credentials: firmware and settings behind a login were not read")),
    ("run_silent", N_("{count} device(s) sent nothing in the evidence: no verdict for them")),
)
SAY = dict(_SENTENCES)
MESSAGES = tuple(SAY.values())
NO_CAPTURE = SAY["no_capture"]
NOT_PROBED = (SAY["not_probed"], SAY["nothing_known"])
ONLY_ANNOUNCED = phrase("device_only_announced")


@cache
def _pattern(message: str) -> re.Pattern[str]:
    """``message`` as a pattern whose groups are its ``{fields}``."""
    parts = re.split(r"\{(\w+)\}", message)
    text = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*)" for i, p in enumerate(parts))
    return re.compile(text, re.DOTALL)


def audit_text(text: str, t: Translator) -> str:
    """A sentence of what an audit could not check in the language of ``t``; a sentence
    this module did not write (an older report's) stays as it is."""
    for message in MESSAGES:
        found = _pattern(message).fullmatch(text)
        if found:
            return t.gettext(message, **found.groupdict())
    return text


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
    passive: Sequence[PassiveHost] = (),
    knowledge: Knowledge | None = None,
) -> AuditReport:
    """The audit report: verify and inventory parts side by side, every device judged.

    ``passive`` (the traffic stage's DHCP/mDNS/SSDP names per host) is joined to the
    devices by MAC, then by address; hosts no device claims join as devices seen only in
    traffic. Their names never change a verdict.
    """
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
    devices = _with_passive_names(verify, devices, passive, blocking, knowledge)
    section = AuditSection(
        mode="recorded" if recording is not None else "captures",
        recording=recording,
        credentials=credentials,
        summary=_summary(devices),
        devices=tuple(devices),
        not_checked=_run_not_checked(credentials, devices, bool(passive)),
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
    verdict, reasons = decide(
        crossed,
        attempts,
        blocking,
        DEVICE,
        unseen=None if ties.seen else NO_TRAFFIC,
        inherited=verify.reasons if verify.verdict == Verdict.INCONCLUSIVE else (),
    )
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
        missing.append(SAY["no_identity"])
    elif identity.firmware is None:
        missing.append(SAY["firmware_silent"] if credentials else SAY["firmware_no_login"])
    if identity is None or identity.firmware is None:
        missing.append(SAY["no_cves"])
    missing += _probe_gaps(found, credentials)
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


def _probe_gaps(found: DeviceEntry, credentials: bool) -> list[str]:
    """What the device's own probes could not ask or read: the calls and pages behind a
    login when there were no credentials, an ONVIF call that failed, a probe cut short."""
    gaps: list[str] = []
    names = {p.probe.split(":", 1)[0] for p in found.probes}
    if not credentials and found.probes:
        gaps += [SAY["onvif_no_login"]] if "onvif" in names else []
        gaps += [SAY["http_no_login"]] if names & {"http", "https"} else []
        gaps.append(SAY["settings_no_login"])
    for probe in found.probes:
        for key, value in probe.facts:
            if key.startswith("onvif_call:") and value.startswith("failed: "):
                call, error = key.split(":", 1)[1], value.removeprefix("failed: ")
                gaps.append(SAY["onvif_failed"].format(call=call, error=error))
        if probe.status in ("error", "timed_out"):
            error = probe.error or "-"
            gaps.append(
                SAY["probe_unfinished"].format(probe=probe.probe, status=probe.status, error=error)
            )
    return gaps


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
        not_checked=NOT_PROBED,
    )


def _with_passive_names(
    verify: VerifyReport,
    devices: list[AuditDeviceEntry],
    hosts: Sequence[PassiveHost],
    blocking: Sequence[Phrase],
    knowledge: Knowledge | None,
) -> list[AuditDeviceEntry]:
    """Each device with the names it gave itself (by MAC first, then by address), and
    the hosts no device claims as devices of their own (seen only in traffic)."""
    join = PassiveJoin(hosts)
    mine = [join.by_mac(d.mac) for d in devices]
    for index, device in enumerate(devices):
        mine[index] += join.by_address(device.mac, device.addresses or _own(device.ip))
    named = [_named(d, found, knowledge) for d, found in zip(devices, mine, strict=True)]
    for host in join.left:
        ties = _tie(verify, host.ip, None, ())
        verdict = device_verdict(verify, ties, blocking)
        if not ties.seen:  # it announced itself, but sent nothing a verdict could read
            verdict = replace(verdict, reasons=(ONLY_ANNOUNCED,))
        oui = given_or_default(knowledge).profiles.oui_lookup(host.mac) if host.mac else None
        device = AuditDeviceEntry(
            ip=host.ip,
            mac=host.mac,
            addresses=ties.addresses,
            sources=("traffic",),
            oui_vendor=oui.organisation if oui else None,  # as verify names its devices
            identity=None,
            cves=(),
            config_findings=(),
            inventory_index=None,
            cloud_labels=_labels(verify, ties),
            verdict=verdict,
            not_checked=NOT_PROBED,
        )
        named.append(_named(device, [host], knowledge))
    return named


def _own(ip: str | None) -> tuple[str, ...]:
    return (ip,) if ip else ()


def _named(
    device: AuditDeviceEntry, hosts: Sequence[PassiveHost], knowledge: Knowledge | None
) -> AuditDeviceEntry:
    if not hosts:
        return device
    facts = fact_entries(hosts)
    guess = guess_identity(device.mac, device.ip, facts, knowledge)
    return replace(device, passive=facts, passive_identity=guess)


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


def _run_not_checked(
    credentials: bool, devices: Sequence[AuditDeviceEntry], named: bool
) -> tuple[str, ...]:
    missing = [] if named else [SAY["passive_names_missing"]]
    if not credentials:
        missing.append(SAY["run_no_login"])
    silent = sum(1 for d in devices if d.verdict.reasons in ((NO_TRAFFIC,), (ONLY_ANNOUNCED,)))
    if silent:
        missing.append(SAY["run_silent"].format(count=silent))
    return tuple(missing)
