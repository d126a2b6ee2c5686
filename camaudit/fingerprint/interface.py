"""Contracts of the fingerprint stage: probes return attempts; match joins evidence.

Each probe (HTTP/HTTPS, RTSP, ONVIF) talks to one host and returns a
:class:`ProbeAttempt` whose ``facts`` are what the device said, sanitised.
:mod:`camaudit.fingerprint.match` joins attempts (and discovery sightings) with
the profiles into one :class:`Identity`; :mod:`camaudit.fingerprint.cve` maps it
to advisories. Nothing here ever sends an exploit or guesses credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from camaudit.attempt import Attempter, AttemptStatus
from camaudit.discover.interface import InventoryDevice
from camaudit.model import Finding


@dataclass(frozen=True)
class Credentials:
    """Given by the user through the environment, a file or a prompt; never logged."""

    username: str
    password: str
    # HTTP Basic hands the password itself to whoever answers (TLS here verifies nothing,
    # cameras being self-signed): sent only when the user allows it (--allow-basic-auth)
    allow_basic: bool = False

    def __repr__(self) -> str:  # never print the secret, not even by accident
        return (
            f"Credentials(username={self.username!r}, password=<hidden>, "
            f"allow_basic={self.allow_basic!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class ProbeTarget:
    """One host and the ports a probe may use."""

    host: str
    port: int
    timeout: float = 5.0
    tls: bool = False
    credentials: Credentials | None = None


@dataclass(frozen=True)
class ProbeAttempt:
    """One probe's outcome: ``completed``, ``error``, ``timed_out``, ``not_scheduled`` or
    ``not_applicable`` (:class:`~camaudit.attempt.AttemptStatus`).

    ``facts`` keys are stable: ``server``, ``realm``, ``title``, ``model``,
    ``firmware``, ``build``, ``serial``, ``manufacturer``, ``endpoint:<path>``
    (status seen), ``rtsp_server``, ``rtsp_realm``, ``onvif_*`` ...; config facts
    from authenticated ONVIF calls are ``ntp``, ``dns``, ``gateway``, ``upnp``, ``p2p``.
    """

    probe: str  # e.g. "http:80", "https:443", "rtsp:554", "onvif:80"
    host: str
    status: AttemptStatus
    facts: tuple[tuple[str, str], ...] = ()
    error: str | None = None
    duration: float = 0.0


class Probe(Attempter[ProbeTarget, ProbeAttempt]):
    """A fingerprint probe (``run`` probes one host); registered by name in
    :mod:`camaudit.fingerprint.registry`."""


@dataclass(frozen=True)
class Identity:
    """Who made a device, as far as the evidence shows, and how sure that is."""

    vendor: str | None  # "hikvision" | "dahua" | ...
    oem_brand: str | None  # relabel brand (LTS, Annke, Lorex, Amcrest ...)
    model: str | None
    firmware: str | None
    build_date: date | None
    confidence: float  # 0..1
    evidence: tuple[str, ...]  # one line per fact used, naming its source
    conflicts: tuple[str, ...] = ()  # evidence that disagrees, reported not hidden


@dataclass(frozen=True)
class CveMatch:
    """An advisory whose affected range covers the device's firmware."""

    cve: str
    cvss: float
    kev_date_added: date | None
    reason: str  # why it applies: the range and the firmware/build compared
    fixed_in: str
    source: str


@dataclass(frozen=True)
class Fingerprint:
    """The fingerprint stage's result for one host."""

    host: str
    attempts: tuple[ProbeAttempt, ...]
    identity: Identity
    cves: tuple[CveMatch, ...]
    config_findings: tuple[Finding, ...] = ()  # device settings against the closed network
    warnings: tuple[str, ...] = ()  # e.g. a TLS certificate that changed since first seen


@dataclass(frozen=True)
class IdentifiedDevice:
    """A device and what fingerprinting found about it.

    ``device`` is what discovery saw (``None`` for a host fingerprinted by address alone);
    ``fingerprint`` is ``None`` for a device that was not probed (no address, timed out,
    outside the target, or fingerprinting not asked for).
    """

    ip: str | None
    device: InventoryDevice | None
    fingerprint: Fingerprint | None
