"""Identify devices while discovery runs: a host's probes start the moment it is sighted.

:class:`SightingStream` takes sightings as discovery hands them over (:meth:`sighted`,
from a :class:`camaudit.discover.Stream`), plans the host's probes from what has been
seen of it so far and starts the probes not yet started, in a bounded pool of threads.
When discovery has ended, :meth:`~SightingStream.finish` plans every device once more
from all its sightings, exactly as :func:`~camaudit.fingerprint.identify_devices` does,
starts what a late sighting added (a port the device announced), and concludes each
device from the attempts of that final plan only: the result is the one probing after
discovery gives, only sooner. ``on_done`` gets a first fingerprint of each host as soon
as its probes have answered (its identity from what was seen by then), so a progress
display names devices while nmap is still at work; it is called once per host.

With credentials *and* a known-hosts file, pinned certificates are checked before any
credential is sent, against the final plan: such runs probe after discovery, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from camaudit.attempt import AttemptStatus
from camaudit.discover.interface import InventoryDevice, Sighting
from camaudit.discover.inventory import ordered_sightings
from camaudit.fingerprint import (
    MAX_HOST_THREADS,
    Batch,
    _check_host,
    conclude,
    identify_devices,
    onvif,
    total_bound,
)
from camaudit.fingerprint.interface import (
    Fingerprint,
    IdentifiedDevice,
    Probe,
    ProbeAttempt,
    ProbeTarget,
)
from camaudit.fingerprint.registry import late_attempt, plan, run_probe

__all__ = ["STREAM_THREADS", "SightingStream"]

#: Probes at once: as many as identify_devices runs (16 hosts, each its four probes).
STREAM_THREADS = MAX_HOST_THREADS * 4

Job = tuple[Probe, ProbeTarget]


@dataclass
class _Run:
    """One probe started for a host: its future, and when it began (for the total bound)."""

    job: Job
    future: Future[ProbeAttempt]
    began: threading.Event = field(default_factory=threading.Event)
    at: float = 0.0


@dataclass
class _Host:
    sightings: list[Sighting] = field(default_factory=list)
    runs: dict[tuple[str, int, bool], _Run] = field(default_factory=dict)
    reported: bool = False


def _key(job: Job) -> tuple[str, int, bool]:
    return (job[0].name, job[1].port, job[1].tls)


class SightingStream:
    """Probes hosts as they are sighted; :meth:`finish` turns them into identified devices.

    ``probe_if(ip)`` says which sighted addresses may be probed at all (inside the
    target); the final choice per device is :meth:`finish`'s ``probe_if``. ``batch``
    holds the run's credentials, timeout, scope, known hosts and knowledge; its ``ports``
    must be ``None`` (each device's own plan).
    """

    def __init__(
        self,
        probe_if: Callable[[str], bool],
        batch: Batch,
        on_done: Callable[[Fingerprint], None] | None = None,
        threads: int = STREAM_THREADS,
    ) -> None:
        self._batch = batch
        self._probe_if = probe_if
        self._on_done = on_done
        self.live = batch.credentials is None or batch.known_hosts is None
        self._pool = ThreadPoolExecutor(max(1, threads), "camaudit-stream")
        self._lock = threading.RLock()  # a probe may end while it is being started
        self._hosts: dict[str, _Host] = {}
        if self.live:  # parse the ONVIF WSDL while the first discovery methods still listen
            self._pool.submit(onvif.prepare)

    def _plan(self, ip: str, sightings: Sequence[Sighting]) -> list[Job]:
        batch = self._batch
        return plan(ip, None, batch.credentials, batch.timeout, sightings, batch.knowledge)

    def covered(self, ip: str, sightings: Sequence[Sighting]) -> frozenset[int]:
        """The ports this stream's probes ask ``ip`` themselves, given its sightings."""
        if not self._probe_if(ip):
            return frozenset()
        return frozenset(target.port for _, target in self._plan(ip, ordered_sightings(sightings)))

    def sighted(self, sightings: Sequence[Sighting]) -> None:
        """Start the probes the new ``sightings`` call for; never blocks on a device."""
        if not self.live:
            return
        with self._lock:
            touched: dict[str, _Host] = {}
            for sighting in sightings:
                if sighting.ip is None or not self._probe_if(sighting.ip):
                    continue
                host = self._hosts.setdefault(sighting.ip, _Host())
                host.sightings.append(sighting)
                touched[sighting.ip] = host
            for ip, host in touched.items():
                for job in self._plan(ip, ordered_sightings(host.sightings)):
                    self._start(ip, host, job)

    def _start(self, ip: str, host: _Host, job: Job) -> _Run:
        """The run of ``job`` on ``host``, started now unless it already was (lock held)."""
        key = _key(job)
        if key in host.runs:
            return host.runs[key]

        def body() -> ProbeAttempt:
            run.at = time.monotonic()
            run.began.set()
            return run_probe(*job)

        run = _Run(job, Future())
        run.future = self._pool.submit(body)
        host.runs[key] = run
        run.future.add_done_callback(lambda _f: self._maybe_report(ip))
        return run

    def _maybe_report(self, ip: str) -> None:
        """A first fingerprint for ``on_done`` once every probe started for ``ip`` ended."""
        with self._lock:
            host = self._hosts[ip]
            if host.reported or not all(r.future.done() for r in host.runs.values()):
                return
            host.reported = True
            attempts = tuple(r.future.result() for r in host.runs.values())
            sightings = ordered_sightings(host.sightings)
        if self._on_done is not None:
            batch = self._batch
            self._on_done(conclude(ip, attempts, sightings, batch.scope, batch.knowledge))

    def _wait(self, run: _Run) -> ProbeAttempt:
        """The run's attempt; ``timed_out`` past the total bound counted from its start."""
        bound = total_bound(self._batch.timeout)
        run.began.wait()  # queued runs start as earlier ones end (each within its timeout)
        try:
            return run.future.result(timeout=max(0.0, run.at + bound - time.monotonic()))
        except FutureTimeout:
            elapsed = time.monotonic() - run.at
            return late_attempt(run.job, AttemptStatus.TIMED_OUT, elapsed, bound)

    def finish(
        self, devices: Sequence[InventoryDevice], probe_if: Callable[[InventoryDevice], bool]
    ) -> tuple[IdentifiedDevice, ...]:
        """Every discovered device, identified from its final plan (discovery order kept)."""
        batch = self._batch
        try:
            if not self.live:
                return identify_devices(
                    devices,
                    probe_if,
                    batch.credentials,
                    batch.timeout,
                    batch.scope,
                    self._on_done,
                    batch.known_hosts,
                    batch.knowledge,
                )
            runs: dict[int, tuple[str, list[_Run]]] = {}
            unreported: set[str] = set()
            with self._lock:
                for device in devices:
                    if device.ip is None or not probe_if(device):
                        continue
                    ip = _check_host(device.ip)
                    host = self._hosts.setdefault(ip, _Host())
                    if not host.reported:  # reported below, with its final fingerprint
                        host.reported = True
                        unreported.add(ip)
                    jobs = self._plan(ip, _own(device, ip))
                    runs[id(device)] = (ip, [self._start(ip, host, job) for job in jobs])
            found: dict[int, Fingerprint] = {}
            for device in devices:
                if id(device) not in runs:
                    continue
                ip, started = runs[id(device)]
                attempts = tuple(self._wait(run) for run in started)
                found[id(device)] = conclude(
                    ip, attempts, _own(device, ip), batch.scope, batch.knowledge, batch.known_hosts
                )
                if ip in unreported and self._on_done is not None:
                    self._on_done(found[id(device)])
            if batch.known_hosts is not None:
                batch.known_hosts.save()
            return tuple(IdentifiedDevice(d.ip, d, found.get(id(d))) for d in devices)
        finally:
            self._pool.shutdown(wait=False, cancel_futures=False)


def _own(device: InventoryDevice, ip: str) -> list[Sighting]:
    # a sighting without this address cannot be tied to the host: nobody's evidence
    return [s for s in device.sightings if s.ip == ip]
