"""Discovery: find the devices on one segment with every method, and merge what they saw.

>>> inventory = discover(Target(networks=("10.66.0.0/24",), interface="eth0"))  # doctest: +SKIP

Networks are always explicit; public address space is refused unless ``allow_public``.
Without an interface, the one that routes to the target is used when the target is
directly connected (``Target.interface_note`` says which, or why none). The scanner's own
address, seen while sweeping a network, is left out of the inventory and the methods that
saw it say so. Methods run in threads (bounded), each within ``target.timeout`` for
its replies, and the whole run within ``target.budget``: a method still running at the
budget is reported ``timed_out``, one never started ``not_scheduled``.

With a :class:`Stream`, a caller that probes devices itself works while discovery runs:
each method's sightings are handed over as the method ends (nmap's port scan before its
version detection), and nmap's version detection, once the methods whose replies announce
ports have ended (or the budget has), leaves out the ports the caller's probes ask each
host themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from camaudit.attempt import AttemptStatus, guarded, run_all
from camaudit.discover._common import (
    MAX_ADDRESSES,
    IPv4Network,
    ReplyError,
    check_interface,
    one_line,
    target_hosts,
    target_networks,
)
from camaudit.discover._udp import UdpDiscovery
from camaudit.discover.interface import (
    DiscoveryMethod,
    Inventory,
    InventoryDevice,
    MethodAttempt,
    Sighting,
    Target,
)
from camaudit.discover.inventory import leave_out_scanner, mac_conflicts, merge
from camaudit.discover.local import choose_interface, own_addresses, sweeps_a_network
from camaudit.discover.nmapscan import NmapServiceScan
from camaudit.discover.registry import DEFAULT_METHODS, METHODS, create
from camaudit.knowledge import Knowledge, given_or_default

__all__ = [
    "DEFAULT_METHODS",
    "MAX_ADDRESSES",
    "METHODS",
    "DiscoveryMethod",
    "Inventory",
    "InventoryDevice",
    "MethodAttempt",
    "ReplyError",
    "Sighting",
    "Stream",
    "Target",
    "discover",
    "mac_conflicts",
    "merge",
    "target_hosts",
    "target_networks",
]

Progress = Callable[[str, int, int], None]
MAX_WORKERS = 5


@dataclass(frozen=True)
class Stream:
    """Where sightings go while discovery runs (see the module docstring).

    ``sighted`` gets every method's sightings as they come (the scanner's own address
    left out); it must not block. ``covered(ip, sightings)`` names the ports the caller's
    own probes will ask that host, given everything sighted of it.
    """

    sighted: Callable[[Sequence[Sighting]], None]
    covered: Callable[[str, Sequence[Sighting]], frozenset[int]]


def discover(
    target: Target,
    methods: Sequence[str] | None = None,
    allow_public: bool = False,
    progress: Progress | None = None,
    *,
    knowledge: Knowledge | None = None,
    max_workers: int = MAX_WORKERS,
    stream: Stream | None = None,
) -> Inventory:
    """Run ``methods`` (default: all) against ``target`` and merge their sightings.

    Raises :class:`~camaudit.errors.UsageError` (one line) before sending anything when
    the target is invalid, public without ``allow_public``, too large, names an unknown
    interface, or a method name is unknown. Afterwards nothing raises: every method's
    outcome is an attempt. ``progress(method, done, total)`` is called as methods end.
    """
    networks = target_networks(target, allow_public)
    check_interface(target.interface)
    if target.interface is None:
        choice = choose_interface(networks)
        target = replace(target, interface=choice.interface, interface_note=choice.reason)
    known = given_or_default(knowledge)
    if not target.ports:
        target = replace(target, ports=known.camera_ports)
    names = list(dict.fromkeys(methods if methods is not None else DEFAULT_METHODS))
    runners = [create(name, allow_public) for name in names]
    started_wall = time.time()
    started = time.monotonic()
    relay = _Relay(stream, networks, runners, started + target.budget) if stream else None
    try:
        attempts = _run_all(target, runners, progress, max(1, max_workers), relay)
    finally:
        if relay is not None:
            relay.close()
    if sweeps_a_network(networks):  # reading the host's addresses costs a scapy import
        attempts = leave_out_scanner(attempts, networks, own_addresses())
    return Inventory(
        target=target,
        devices=merge(attempts, known),
        attempts=attempts,
        started=started_wall,
        duration=round(time.monotonic() - started, 3),
    )


def _run_all(
    target: Target,
    runners: list[DiscoveryMethod],
    progress: Progress | None,
    max_workers: int,
    relay: _Relay | None = None,
) -> tuple[MethodAttempt, ...]:
    total = len(runners)
    finished: list[str] = []
    if progress is not None:
        progress("", 0, total)

    def done(attempt: MethodAttempt) -> None:
        finished.append(attempt.method)
        if relay is not None:
            relay.ended(attempt)
        if progress is not None:
            progress(attempt.method, len(finished), total)

    def late(runner: DiscoveryMethod, status: AttemptStatus, _elapsed: float) -> MethodAttempt:
        never = status == AttemptStatus.NOT_SCHEDULED
        reason = "never started" if never else "still running"
        return MethodAttempt(
            method=runner.name,
            status=status,
            error=f"{reason} when the {target.budget:g} s budget ran out",
            duration=0.0 if never else round(target.budget, 3),
        )

    def run(runner: DiscoveryMethod, deadline: float) -> MethodAttempt:
        return _timed_run(runner, target, deadline)

    return run_all(runners, run, late, target.budget, max_workers, done, name="discover")


def _timed_run(runner: DiscoveryMethod, target: Target, deadline: float) -> MethodAttempt:
    """Run with what is left of the budget; a method started late gets less."""
    left = max(0.1, deadline - time.monotonic())
    if left < target.budget:
        target = replace(target, timeout=min(target.timeout, left), budget=left)
    return guarded(
        lambda: runner.run(target),
        # a method broke its contract by raising: still an attempt
        lambda error: MethodAttempt(runner.name, AttemptStatus.ERROR, error=one_line(error)),
    )


class _Relay:
    """Hands each method's sightings to a :class:`Stream` and answers nmap's ``covered``.

    nmap's version detection waits for the methods whose replies announce ports
    (WS-Discovery ``xaddrs``, SADP/DHIP ``http_port`` ...; bounded by the budget), so the
    probes' ports are known by then; an ARP sighting names none, so the sweep is not
    waited for. The stream is fed from one thread of its own, in order: planning forty
    hosts' probes took seconds on a loaded machine, and neither nmap's thread (on to
    version detection) nor the thread reporting methods' ends should wait for it.
    """

    def __init__(
        self,
        stream: Stream,
        networks: Sequence[IPv4Network],
        runners: Sequence[DiscoveryMethod],
        deadline: float,
    ) -> None:
        self.stream, self.networks, self.deadline = stream, networks, deadline
        self.sweeps = sweeps_a_network(networks)
        self._own: frozenset[str] | None = None
        self._lock = threading.Lock()
        self._seen: list[Sighting] = []
        self._others = {r.name for r in runners if isinstance(r, UdpDiscovery)}
        self._others_ended = threading.Event()
        if not self._others:
            self._others_ended.set()
        self._feed = ThreadPoolExecutor(1, "camaudit-relay")
        for runner in runners:
            if isinstance(runner, NmapServiceScan):
                runner.covered, runner.sighted = self.covered, self.sighted

    def _leave_out_scanner(self, sightings: Sequence[Sighting]) -> tuple[Sighting, ...]:
        if not self.sweeps:
            return tuple(sightings)
        if self._own is None:
            self._own = frozenset(own_addresses())
        attempt = MethodAttempt("", AttemptStatus.COMPLETED, tuple(sightings))
        return leave_out_scanner((attempt,), self.networks, self._own)[0].sightings

    def sighted(self, sightings: Sequence[Sighting]) -> None:
        with self._lock:
            self._seen += sightings  # for covered(), which asks about the hosts nmap found
        # best effort: whatever the stream misses here, the caller plans at the end
        self._feed.submit(guarded, lambda: self._hand_over(sightings), lambda _error: None)

    def _hand_over(self, sightings: Sequence[Sighting]) -> None:
        # on the feed thread: reading the host's own addresses imports scapy (a second)
        kept = self._leave_out_scanner(sightings)
        if kept:
            self.stream.sighted(kept)

    def ended(self, attempt: MethodAttempt) -> None:
        if attempt.method != NmapServiceScan.name:  # nmap handed its port scan on itself
            self.sighted(attempt.sightings)
        with self._lock:
            self._others.discard(attempt.method)
            if not self._others:
                self._others_ended.set()

    def close(self) -> None:
        """Wait until the stream has every sighting handed over (discovery has ended)."""
        self._feed.shutdown(wait=True)

    def covered(self, hosts: Sequence[str]) -> Mapping[str, frozenset[int]]:
        self._others_ended.wait(max(0.0, self.deadline - time.monotonic()))
        with self._lock:
            seen = list(self._seen)
        # a failing hook leaves every port to nmap: more asked, never less
        return guarded(
            lambda: {ip: self.stream.covered(ip, [s for s in seen if s.ip == ip]) for ip in hosts},
            lambda _error: {},
        )
