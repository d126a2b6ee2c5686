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

from camaudit.discover.interface import Sighting
from camaudit.errors import UsageError
from camaudit.fingerprint.cve import match_cves
from camaudit.fingerprint.findings import config_findings, parse_networks
from camaudit.fingerprint.interface import (
    Credentials,
    CveMatch,
    Fingerprint,
    Identity,
    Probe,
    ProbeAttempt,
    ProbeTarget,
)
from camaudit.fingerprint.match import identify
from camaudit.fingerprint.registry import plan, run_probes
from camaudit.fingerprint.signatures import load_signatures
from camaudit.profiles import load_profiles

__all__ = [
    "Credentials",
    "CveMatch",
    "Fingerprint",
    "Identity",
    "Probe",
    "ProbeAttempt",
    "ProbeTarget",
    "fingerprint",
    "fingerprint_many",
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


def fingerprint(
    host: str,
    ports: Mapping[str, int] | None = None,
    credentials: Credentials | None = None,
    timeout: float = 5.0,
    closed_network: Sequence[str] = (),
    sightings: Sequence[Sighting] = (),
) -> Fingerprint:
    """Probe ``host`` and identify it.

    ``ports`` maps probe names (``http``, ``https``, ``rtsp``, ``onvif``) to ports; by
    default every probe runs on its usual port or the one the device announced in a
    sighting. Raises :class:`UsageError` for a bad host, port or CIDR and
    :class:`~camaudit.errors.ProfileError` for invalid profile data; device behaviour
    never raises.
    """
    address = _check_host(host)
    parse_networks(closed_network)
    if timeout <= 0:
        raise UsageError(f"timeout must be positive, got {timeout!r}")
    signatures, profiles = load_signatures(), load_profiles()
    mine = [s for s in sightings if s.ip in (None, address)]
    attempts = run_probes(plan(address, ports, credentials, timeout, mine), total_bound(timeout))
    identity = identify(attempts, mine, signatures, profiles)
    return Fingerprint(
        host=address,
        attempts=attempts,
        identity=identity,
        cves=match_cves(identity, profiles, signatures),
        config_findings=config_findings(attempts, closed_network),
    )


def fingerprint_many(
    hosts: Sequence[str],
    ports: Mapping[str, int] | None = None,
    credentials: Credentials | None = None,
    timeout: float = 5.0,
    closed_network: Sequence[str] = (),
    sightings: Sequence[Sighting] = (),
    threads: int = MAX_HOST_THREADS,
    on_done: Callable[[Fingerprint], None] | None = None,
) -> tuple[Fingerprint, ...]:
    """:func:`fingerprint` for several hosts, ``threads`` at a time, in the order given.

    ``on_done`` is called once per host as it finishes (for a progress bar).
    """
    checked = [_check_host(h) for h in hosts]
    parse_networks(closed_network)
    load_signatures()
    load_profiles()

    def one(host: str) -> Fingerprint:
        result = fingerprint(host, ports, credentials, timeout, closed_network, sightings)
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(checked) or 1))) as pool:
        return tuple(pool.map(one, checked))
