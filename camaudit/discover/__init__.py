"""Discovery: find the devices on one segment with every method, and merge what they saw.

>>> inventory = discover(Target(networks=("10.66.0.0/24",), interface="eth0"))  # doctest: +SKIP

Networks are always explicit; public address space is refused unless ``allow_public``.
Without an interface, the one that routes to the target is used when the target is
directly connected (``Target.interface_note`` says which, or why none). The scanner's own
address, seen while sweeping a network, is left out of the inventory and the methods that
saw it say so. Methods run in threads (bounded), each within ``target.timeout`` for
its replies, and the whole run within ``target.budget``: a method still running at the
budget is reported ``timed_out``, one never started ``not_scheduled``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from camaudit.attempt import AttemptStatus, guarded, run_all
from camaudit.discover._common import (
    MAX_ADDRESSES,
    ReplyError,
    check_interface,
    one_line,
    target_hosts,
    target_networks,
)
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
    "Target",
    "discover",
    "mac_conflicts",
    "merge",
    "target_hosts",
    "target_networks",
]

Progress = Callable[[str, int, int], None]
MAX_WORKERS = 5


def discover(
    target: Target,
    methods: Sequence[str] | None = None,
    allow_public: bool = False,
    progress: Progress | None = None,
    *,
    knowledge: Knowledge | None = None,
    max_workers: int = MAX_WORKERS,
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
    attempts = _run_all(target, runners, progress, max(1, max_workers))
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
) -> tuple[MethodAttempt, ...]:
    total = len(runners)
    finished: list[str] = []
    if progress is not None:
        progress("", 0, total)

    def done(attempt: MethodAttempt) -> None:
        finished.append(attempt.method)
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
