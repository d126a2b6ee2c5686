"""Fingerprint stage: who made a camera, which firmware it runs, which advisories apply.

:func:`fingerprint` runs the HTTP, HTTPS, RTSP and ONVIF probes against one host
concurrently (each bounded by ``timeout``, all together by a total bound), joins their
attempts with any discovery sightings into an :class:`Identity`, maps it to CVEs and,
with credentials, turns the device's network settings into closed-network findings.
Only unauthenticated read-only requests are sent, or authenticated ones with the user's
own credentials; never an exploit, never a guessed password.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from camaudit.discover.interface import InventoryDevice, Sighting
from camaudit.errors import UsageError
from camaudit.fingerprint._attempt import secret_forms
from camaudit.fingerprint._net import Deadline, certificate_sha256
from camaudit.fingerprint.cve import match_cves
from camaudit.fingerprint.findings import config_findings
from camaudit.fingerprint.interface import (
    Credentials,
    CveMatch,
    Fingerprint,
    IdentifiedDevice,
    Identity,
    Probe,
    ProbeAttempt,
    ProbeTarget,
)
from camaudit.fingerprint.known_hosts import KnownHosts
from camaudit.fingerprint.match import identify
from camaudit.fingerprint.registry import plan, run_probes
from camaudit.knowledge import Knowledge, given_or_default
from camaudit.policy.load import ClosedNetwork, load_policy

__all__ = [
    "Batch",
    "Credentials",
    "CveMatch",
    "Fingerprint",
    "IdentifiedDevice",
    "Identity",
    "KnownHosts",
    "Probe",
    "ProbeAttempt",
    "ProbeTarget",
    "closed_network_scope",
    "fingerprint",
    "fingerprint_many",
    "identify_devices",
    "secret_forms",
    "total_bound",
]

MAX_HOST_THREADS = 16


def total_bound(timeout: float) -> float:
    """Wall-clock bound for one host: probes run in parallel, each within ``timeout``."""
    return timeout * 1.5 + 1.0


def _check_host(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host.strip()))
    except ValueError:
        raise UsageError(
            f"{host!r} is not an IP address; fingerprint takes addresses (names are not resolved)"
        ) from None


def closed_network_scope(closed_network: Sequence[str] | ClosedNetwork) -> ClosedNetwork:
    """The given closed network, or verify's default when none is (built by the policy
    loader, so verify and fingerprint share one term, one default and one membership test)."""
    if isinstance(closed_network, ClosedNetwork):
        return closed_network
    return load_policy(None, closed_network).scope


def _certificate_changed(address: str, port: int, pinned: str, seen: str | None, path: str) -> str:
    now = f"now sha256:{seen}" if seen else "now no certificate could be read"
    return (
        f"TLS certificate of {address}:{port} differs from the one first seen "
        f"(pinned sha256:{pinned} in {path}; {now}); credentials were not sent to this device"
    )


def _withhold_on_changed_pin(
    address: str,
    planned: Sequence[tuple[Probe, ProbeTarget]],
    timeout: float,
    known_hosts: KnownHosts,
) -> list[str]:
    """Warnings for pinned HTTPS ports that now show another certificate, checked by a bare
    TLS handshake before any credential is sent (probes run concurrently, so the HTTPS
    probe's own answer would come too late)."""
    warnings: list[str] = []
    for _probe, target in planned:
        pinned = known_hosts.pinned(address, target.port) if target.tls else None
        if pinned is None:
            continue
        try:
            seen = certificate_sha256(address, target.port, Deadline(timeout))
        except Exception:  # no answer where a pinned certificate was: not the same device
            seen = None
        if seen != pinned:
            warnings.append(
                _certificate_changed(address, target.port, pinned, seen, str(known_hosts.path))
            )
    return warnings


def _pin_certificates(
    address: str, attempts: Sequence[ProbeAttempt], known_hosts: KnownHosts
) -> list[str]:
    """Pin certificates seen for the first time; warnings for ones that changed."""
    warnings: list[str] = []
    for attempt in attempts:
        seen = dict(attempt.facts).get("tls_sha256")
        port = attempt.probe.rpartition(":")[2]
        if not seen or not port.isdigit():
            continue
        earlier = known_hosts.remember(address, int(port), seen)
        if earlier is not None:
            warnings.append(
                _certificate_changed(address, int(port), earlier, seen, str(known_hosts.path))
            )
    return warnings


def fingerprint(
    host: str,
    ports: Mapping[str, int] | None = None,
    credentials: Credentials | None = None,
    timeout: float = 5.0,
    closed_network: Sequence[str] | ClosedNetwork = (),
    sightings: Sequence[Sighting] = (),
    known_hosts: KnownHosts | None = None,
    knowledge: Knowledge | None = None,
) -> Fingerprint:
    """Probe ``host`` and identify it.

    ``ports`` maps probe names (``http``, ``https``, ``rtsp``, ``onvif``) to ports; by
    default every probe runs on its usual port or the one the device announced in a
    sighting of this address. ``closed_network`` defaults to verify's default (see
    :func:`closed_network_scope`). With ``known_hosts``, HTTPS certificates are pinned on
    first use, and a device whose pinned certificate changed gets no credentials.
    Raises :class:`UsageError` for a bad host, port or CIDR and
    :class:`~camaudit.errors.ProfileError` for invalid profile data; device behaviour
    never raises.
    """
    address = _check_host(host)
    scope = closed_network_scope(closed_network)
    if timeout <= 0:
        raise UsageError(f"timeout must be positive, got {timeout!r}")
    known = given_or_default(knowledge)
    # a sighting without an address cannot be tied to this host: it is nobody's evidence
    mine = [s for s in sightings if s.ip == address]
    planned = plan(address, ports, credentials, timeout, mine, known)
    warnings: list[str] = []
    if known_hosts is not None and credentials is not None:
        warnings = _withhold_on_changed_pin(address, planned, timeout, known_hosts)
        if warnings:
            planned = plan(address, ports, None, timeout, mine, known)
    attempts = run_probes(planned, total_bound(timeout))
    return conclude(address, attempts, mine, scope, known, known_hosts, warnings)


def conclude(
    address: str,
    attempts: tuple[ProbeAttempt, ...],
    sightings: Sequence[Sighting],
    scope: ClosedNetwork,
    knowledge: Knowledge,
    known_hosts: KnownHosts | None = None,
    warnings: Sequence[str] = (),
) -> Fingerprint:
    """The fingerprint of ``address`` from its probe attempts (in plan order) and its own
    sightings: certificates pinned, identity, CVEs and closed-network findings."""
    found = list(warnings)
    if known_hosts is not None:
        found += [w for w in _pin_certificates(address, attempts, known_hosts) if w not in found]
    identity = identify(attempts, sightings, knowledge)
    return Fingerprint(
        host=address,
        attempts=attempts,
        identity=identity,
        cves=match_cves(identity, knowledge),
        config_findings=config_findings(attempts, scope),
        warnings=tuple(found),
    )


def fingerprint_many(
    hosts: Sequence[str],
    ports: Mapping[str, int] | None = None,
    credentials: Credentials | None = None,
    timeout: float = 5.0,
    closed_network: Sequence[str] | ClosedNetwork = (),
    sightings: Sequence[Sighting] = (),
    threads: int = MAX_HOST_THREADS,
    on_done: Callable[[Fingerprint], None] | None = None,
    known_hosts: KnownHosts | None = None,
    knowledge: Knowledge | None = None,
) -> tuple[Fingerprint, ...]:
    """:func:`fingerprint` for several hosts, ``threads`` at a time, in the order given.

    ``on_done`` is called once per host as it finishes (for a progress bar); certificates
    first seen are saved to ``known_hosts`` at the end.
    """
    jobs = [(_check_host(h), sightings) for h in hosts]
    return Batch(ports, credentials, timeout, closed_network, known_hosts, knowledge).run(
        jobs, threads, on_done
    )


def identify_devices(
    devices: Sequence[InventoryDevice],
    probe_if: Callable[[InventoryDevice], bool],
    credentials: Credentials | None = None,
    timeout: float = 5.0,
    closed_network: Sequence[str] | ClosedNetwork = (),
    on_done: Callable[[Fingerprint], None] | None = None,
    known_hosts: KnownHosts | None = None,
    knowledge: Knowledge | None = None,
) -> tuple[IdentifiedDevice, ...]:
    """Every discovered device, identified.

    A device with an address for which ``probe_if`` holds is fingerprinted with its own
    sightings (concurrently, as :func:`fingerprint_many`); the others are returned
    unprobed. Discovery order is kept.
    """
    chosen = [d for d in devices if d.ip is not None and probe_if(d)]
    jobs = [(_check_host(d.ip or ""), d.sightings) for d in chosen]
    batch = Batch(None, credentials, timeout, closed_network, known_hosts, knowledge)
    probed = batch.run(jobs, MAX_HOST_THREADS, on_done) if jobs else ()
    found = dict(zip(map(id, chosen), probed, strict=True))
    return tuple(IdentifiedDevice(d.ip, d, found.get(id(d))) for d in devices)


class Batch:
    """Settings shared by every host of one run; the scope and knowledge are built once.

    ``ports`` maps probe names to ports for every host (``None``: each probe's usual port
    or the one the device announced)."""

    def __init__(
        self,
        ports: Mapping[str, int] | None,
        credentials: Credentials | None,
        timeout: float,
        closed_network: Sequence[str] | ClosedNetwork,
        known_hosts: KnownHosts | None,
        knowledge: Knowledge | None,
    ) -> None:
        self.ports, self.credentials, self.timeout = ports, credentials, timeout
        self.scope = closed_network_scope(closed_network)
        self.known_hosts = known_hosts
        self.knowledge = given_or_default(knowledge)

    def run(
        self,
        jobs: Sequence[tuple[str, Sequence[Sighting]]],
        threads: int,
        on_done: Callable[[Fingerprint], None] | None,
    ) -> tuple[Fingerprint, ...]:
        def one(job: tuple[str, Sequence[Sighting]]) -> Fingerprint:
            result = fingerprint(
                job[0],
                self.ports,
                self.credentials,
                self.timeout,
                self.scope,
                job[1],
                self.known_hosts,
                self.knowledge,
            )
            if on_done is not None:
                on_done(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, min(threads, len(jobs) or 1))) as pool:
            results = tuple(pool.map(one, jobs))
        if self.known_hosts is not None:
            self.known_hosts.save()
        return results
