"""The library's front door: one call per job, each returning plain results."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from camaudit.knowledge import load_knowledge
from camaudit.model import Assessment, TrafficSummary
from camaudit.policy.evaluate import assess
from camaudit.policy.load import load_policy
from camaudit.report.build import build_report
from camaudit.report.model import AuditReport, InventoryReport, VerifyReport
from camaudit.traffic.engine import Progress, analyse

if TYPE_CHECKING:  # importing these packages loads the probe stacks (zeep, scapy ...)
    from camaudit.audit.record import RecordPlan, RecordProgress
    from camaudit.discover.interface import Inventory, Target
    from camaudit.fingerprint.interface import Credentials, Fingerprint, IdentifiedDevice
    from camaudit.fingerprint.known_hosts import KnownHosts
    from camaudit.knowledge import Knowledge
    from camaudit.policy.baseline import Baseline
    from camaudit.policy.load import ClosedNetwork


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify`` found: the traffic, the judgement, and the report built from them."""

    traffic: TrafficSummary
    assessment: Assessment
    report: VerifyReport


def verify(
    captures: Sequence[str | Path],
    closed_network: Sequence[str] = (),
    policy: str | Path | None = None,
    profiles: str | Path | None = None,
    progress: Progress | None = None,
    today: date | None = None,
    zeek: Sequence[str | Path] = (),
    jobs: int = 1,
    scheduler: str | None = None,
) -> VerifyResult:
    """Prove or refute a closed-network claim from packet captures (or, with ``zeek``,
    from the Zeek logs in those directories instead). ``scheduler`` (``tcp://HOST:PORT``)
    reads the captures on that Dask cluster's workers (``pip install 'camaudit[cluster]'``).

    Raises :class:`camaudit.errors.CamauditError` (with a one-line message) for input
    that cannot be used; the verdict itself is returned in the result, never raised.
    """
    loaded_policy = load_policy(Path(policy) if policy else None, closed_network)
    knowledge = load_knowledge(profiles)
    # A cluster's client makes cyclic garbage all the while it waits: collected as usual.
    with nullcontext() if scheduler else _collector_relaxed():
        if zeek:
            from camaudit.traffic.zeek import analyse_zeek  # its reader needs numpy; pcaps may not

            traffic = analyse_zeek(zeek, jobs=jobs, scheduler=scheduler)
        else:
            traffic = analyse(captures, progress=progress, jobs=jobs, scheduler=scheduler)
    with _collector_relaxed():
        assessment = assess(traffic, loaded_policy, knowledge.profiles, today=today)
        report = build_report(assessment, traffic, knowledge=knowledge)
    return VerifyResult(traffic, assessment, report)


# Objects made before the cycle collector's youngest generation is looked at (Python's default
# is 700): see _collector_relaxed.
YOUNG_THRESHOLD = 100_000


@contextmanager
def _collector_relaxed() -> Iterator[None]:
    """Python's cycle collector looks at new objects every 100,000 instead of every 700
    while the stages build their results.

    A scan's 200 k flows are several small objects each, made by the million, none in a
    cycle: the collector had nothing to free but re-walked them again and again (a fifth of
    the CPU of a 2 M-address scan). It is not switched off: cyclic garbage a hostile capture
    makes packet by packet (a decoder's parse tree) is still freed, so memory stays bounded.
    The thresholds are put back after, also on error.
    """
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], YOUNG_THRESHOLD), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@dataclass(frozen=True)
class BaselineResult:
    """What ``baseline`` saw, and the policy text written from it."""

    traffic: TrafficSummary
    baseline: Baseline
    policy_text: str


def baseline(
    captures: Sequence[str | Path],
    closed_network: Sequence[str],
    profiles: str | Path | None = None,
    progress: Progress | None = None,
    name: str = "baseline",
) -> BaselineResult:
    """Write a policy from captures of a known-good network (review it, then enforce it).

    Traffic that crossed the closed network's boundary is listed in the policy as
    commented-out exceptions and in ``baseline.warnings``, never allowed.
    """
    from camaudit.policy.baseline import make_baseline, render_policy

    load_policy(None, closed_network)  # a bad CIDR is a usage error before any reading
    knowledge = load_knowledge(profiles)
    traffic = analyse(captures, progress=progress)
    sources = tuple(f"{item.path} (sha256 {item.sha256})" for item in traffic.inputs)
    summary = make_baseline(traffic, closed_network, knowledge.profiles, name, sources)
    return BaselineResult(traffic, summary, render_policy(summary))


@dataclass(frozen=True)
class ScanResult:
    """What ``scan`` / ``identify`` found, and the inventory report built from it."""

    inventory: Inventory | None
    devices: tuple[IdentifiedDevice, ...]
    fingerprints: tuple[Fingerprint, ...]
    report: InventoryReport


def scan(
    target: Target,
    methods: Sequence[str] | None = None,
    allow_public: bool = False,
    fingerprint_devices: bool = True,
    credentials: Credentials | None = None,
    closed_network: Sequence[str] = (),
    method_progress: Callable[[str, int, int], None] | None = None,
    host_progress: Callable[[Fingerprint], None] | None = None,
    known_hosts: str | Path | None = None,
    profiles: str | Path | None = None,
) -> ScanResult:
    """Find the devices on a segment and (by default) identify each one.

    Refuses public address space unless ``allow_public``; raises
    :class:`camaudit.errors.UsageError` before sending anything when the target is bad.
    Only devices inside ``target`` are probed: one that answered discovery from elsewhere
    is reported (``outside_target``) and never sent a request, let alone credentials.
    """
    # Imported here so that `camaudit verify` does not pay for the probe stacks.
    from camaudit.discover import Stream, discover
    from camaudit.discover._udp import in_target
    from camaudit.fingerprint import Batch, IdentifiedDevice
    from camaudit.fingerprint.stream import SightingStream

    scope, knowledge, pins = _prepare(closed_network, profiles, known_hosts)
    if not fingerprint_devices:
        inventory = discover(target, methods, allow_public, method_progress, knowledge=knowledge)
        unprobed = tuple(IdentifiedDevice(d.ip, d, None) for d in inventory.devices)
        return _result(inventory, unprobed, scope, knowledge)
    # devices are probed as discovery sights them; nmap -sV leaves their probed ports alone
    settings = Batch(None, credentials, target.timeout, scope, pins, knowledge)
    stream = SightingStream(lambda ip: in_target(ip, target), settings, host_progress)
    inventory = discover(
        target,
        methods,
        allow_public,
        method_progress,
        knowledge=knowledge,
        stream=Stream(stream.sighted, stream.covered),
    )
    devices = stream.finish(
        inventory.devices,
        lambda d: d.ip is not None and not d.timed_out and in_target(d.ip, target),
    )
    return _result(inventory, devices, scope, knowledge)


def identify(
    hosts: Sequence[str],
    ports: Mapping[str, int] | None = None,
    credentials: Credentials | None = None,
    timeout: float = 5.0,
    closed_network: Sequence[str] = (),
    host_progress: Callable[[Fingerprint], None] | None = None,
    known_hosts: str | Path | None = None,
    profiles: str | Path | None = None,
) -> ScanResult:
    """Fingerprint the given hosts (addresses, never names) without a discovery sweep.

    With ``known_hosts`` (a file), HTTPS certificates are pinned on first use and a
    device whose certificate changed is warned about and gets no credentials.
    """
    from camaudit.fingerprint import IdentifiedDevice, fingerprint_many

    scope, knowledge, pins = _prepare(closed_network, profiles, known_hosts)
    fingerprints = fingerprint_many(
        hosts,
        ports,
        credentials,
        timeout,
        scope,
        on_done=host_progress,
        known_hosts=pins,
        knowledge=knowledge,
    )
    found = tuple(IdentifiedDevice(f.host, None, f) for f in fingerprints)
    return _result(None, found, scope, knowledge)


def _prepare(
    closed_network: Sequence[str], profiles: str | Path | None, known_hosts: str | Path | None
) -> tuple[ClosedNetwork, Knowledge, KnownHosts | None]:
    """What every probing job builds once: the scope, the vendor knowledge and the pins."""
    from camaudit.fingerprint import KnownHosts, closed_network_scope

    pins = KnownHosts(Path(known_hosts)) if known_hosts is not None else None
    return closed_network_scope(closed_network), load_knowledge(profiles), pins


def _result(
    inventory: Inventory | None,
    devices: tuple[IdentifiedDevice, ...],
    scope: ClosedNetwork,
    knowledge: Knowledge | None = None,
) -> ScanResult:
    from camaudit.report.inventory import build_inventory_report

    closed = (scope.cidrs, scope.is_default)
    report = build_inventory_report(inventory, devices, closed_network=closed, knowledge=knowledge)
    fingerprints = tuple(d.fingerprint for d in devices if d.fingerprint is not None)
    return ScanResult(inventory, devices, fingerprints, report)


@dataclass(frozen=True)
class AuditResult:
    """What ``audit`` found: the scan, the verify result, and the one report of both."""

    scan: ScanResult
    verify: VerifyResult
    report: AuditReport


def audit(
    target: Target,
    captures: Sequence[str | Path] = (),
    recording: RecordPlan | None = None,
    *,
    credentials: Credentials | None = None,
    closed_network: Sequence[str] = (),
    policy: str | Path | None = None,
    methods: Sequence[str] | None = None,
    allow_public: bool = False,
    known_hosts: str | Path | None = None,
    profiles: str | Path | None = None,
    method_progress: Callable[[str, int, int], None] | None = None,
    host_progress: Callable[[Fingerprint], None] | None = None,
    record_progress: RecordProgress | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    """Discover and fingerprint ``target``, then record it (``recording``) or read
    ``captures``, verify, and judge every device on its own traffic.

    Exactly one of ``captures`` and ``recording`` is given. The overall verdict is the
    verify verdict; each device in ``report.audit.devices`` carries its own.
    """
    from camaudit.audit import build_audit_report
    from camaudit.audit.record import record
    from camaudit.errors import InputError, UsageError
    from camaudit.report.compliance import with_controls

    if bool(captures) == (recording is not None):
        raise UsageError("give --duration to record, or --captures FILES (one of them)")
    # Usage and input errors before a single probe is sent.
    loaded = load_policy(Path(policy) if policy else None, closed_network)
    missing = [str(c) for c in captures if not Path(c).exists()]
    if missing:
        raise InputError(f"{missing[0]}: no such file or directory")
    scanned = scan(
        target,
        methods,
        allow_public,
        True,
        credentials,
        closed_network,
        method_progress,
        host_progress,
        known_hosts,
        profiles,
    )
    entry = None
    if recording is not None:
        from camaudit.watch import Watch

        # The progress line's flows and findings: each closed file folded once, judged
        # by the verify policy. Only a view: the report below verifies every file.
        judge = Watch(loaded, load_knowledge(profiles)) if record_progress else None
        entry = record(recording, record_progress, judge)
    files: Sequence[str | Path] = entry.files if entry is not None else captures
    verified = verify(files, closed_network, policy, profiles, progress)
    report = build_audit_report(
        verified.report,
        scanned.report,
        recording=entry,
        credentials=credentials is not None,
        passive=verified.traffic.passive,
        knowledge=load_knowledge(profiles),
    )
    return AuditResult(scanned, verified, with_controls(report, load_knowledge(profiles)))
