"""Probes by name, which ports they use, and running them concurrently under one time bound."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlparse

from camaudit.attempt import AttemptStatus, guarded, run_all
from camaudit.discover.interface import Sighting
from camaudit.errors import UsageError
from camaudit.fingerprint._attempt import failed_attempt
from camaudit.fingerprint.http import HttpProbe
from camaudit.fingerprint.interface import Credentials, Probe, ProbeAttempt, ProbeTarget
from camaudit.fingerprint.onvif import OnvifProbe
from camaudit.fingerprint.rtsp import RtspProbe
from camaudit.knowledge import Knowledge

__all__ = [
    "MAX_PROBE_THREADS",
    "PROBES",
    "get_probe",
    "late_attempt",
    "plan",
    "ports_from_sightings",
    "run_probe",
    "run_probes",
]

PROBES: dict[str, Callable[[Knowledge], Probe]] = {
    "http": lambda known: HttpProbe(signatures=known.signatures),
    "https": lambda known: HttpProbe(tls=True, signatures=known.signatures),
    "rtsp": lambda _known: RtspProbe(),
    "onvif": lambda _known: OnvifProbe(),
}
MAX_PROBE_THREADS = 8
URL_HTTP_PORT = 80  # an http:// URL without a port means 80
# sighting facts that announce a probe's port
_SIGHTING_PORTS = {"http_port": "http", "https_port": "https", "rtsp_port": "rtsp"}


def get_probe(name: str, knowledge: Knowledge) -> Probe:
    """A new probe by registry name; :class:`UsageError` for an unknown one."""
    try:
        return PROBES[name](knowledge)
    except KeyError:
        known = ", ".join(PROBES)
        raise UsageError(f"unknown probe {name!r}; known probes: {known}") from None


def ports_from_sightings(host: str, sightings: Sequence[Sighting]) -> dict[str, int]:
    """Ports the device itself announced (SADP/DHIP ``http_port``..., ONVIF ``xaddrs``)."""
    ports: dict[str, int] = {}
    for sighting in sightings:
        if sighting.ip not in (None, host):
            continue
        for key, probe in _SIGHTING_PORTS.items():
            value = sighting.fact(key)
            if value and value.isdigit() and 0 < int(value) < 65536:
                ports.setdefault(probe, int(value))
        for xaddr in (sighting.fact("xaddrs") or "").split():
            try:
                url = urlparse(xaddr)
                if url.hostname == host and url.scheme == "http":
                    ports.setdefault("onvif", url.port or URL_HTTP_PORT)
            except ValueError:
                continue
    return ports


def plan(
    host: str,
    ports: Mapping[str, int] | None,
    credentials: Credentials | None,
    timeout: float,
    sightings: Sequence[Sighting],
    knowledge: Knowledge,
) -> list[tuple[Probe, ProbeTarget]]:
    """One ``(probe, target)`` per probe name in ``ports``.

    By default every probe on its port from ``ports.toml``, or the one the device itself
    announced in a sighting.
    """
    usual = dict(knowledge.profiles.probe_ports)
    chosen = {name: usual[name] for name in PROBES if name in usual}  # in registry order
    chosen.update(ports_from_sightings(host, sightings))
    if ports is not None:
        chosen = dict(ports)
    out: list[tuple[Probe, ProbeTarget]] = []
    for name, port in chosen.items():
        if not isinstance(port, int) or not 0 < port < 65536:
            raise UsageError(f"port for probe {name!r} must be 1-65535, got {port!r}")
        probe = get_probe(name, knowledge)
        target = ProbeTarget(
            host=host, port=port, timeout=timeout, tls=name == "https", credentials=credentials
        )
        out.append((probe, target))
    return out


def run_probe(probe: Probe, target: ProbeTarget) -> ProbeAttempt:
    """Run one probe; an exception it raises becomes a failed attempt."""
    started = time.monotonic()
    return guarded(
        lambda: probe.run(target),
        lambda exc: failed_attempt(
            f"{probe.name}:{target.port}", target.host, exc, started, target.credentials
        ),
    )


def run_probes(
    planned: Sequence[tuple[Probe, ProbeTarget]],
    budget: float,
    threads: int = MAX_PROBE_THREADS,
) -> tuple[ProbeAttempt, ...]:
    """Run every planned probe concurrently; one attempt each, in plan order.

    A probe still running when ``budget`` seconds have passed is reported ``timed_out``
    (its own deadline ends its thread soon after).
    """

    def late(job: tuple[Probe, ProbeTarget], status: AttemptStatus, elapsed: float) -> ProbeAttempt:
        return late_attempt(job, status, elapsed, budget)

    return run_all(
        planned,
        lambda job, _deadline: run_probe(*job),
        late,
        budget,
        threads,
        name="camaudit-probe",
    )


def late_attempt(
    job: tuple[Probe, ProbeTarget], status: AttemptStatus, elapsed: float, budget: float
) -> ProbeAttempt:
    """The attempt of a probe still running (or never started) when ``budget`` ran out."""
    probe, target = job
    return ProbeAttempt(
        probe=f"{probe.name}:{target.port}",
        host=target.host,
        status=status,
        error=f"probe did not finish within the total bound of {budget:.1f} s",
        duration=elapsed,
    )
