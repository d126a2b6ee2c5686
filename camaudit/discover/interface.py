"""Contracts of the discovery stage: every method returns an attempt, never raises.

A method (ARP sweep, WS-Discovery, SADP, DHIP, nmap service scan) looks at one
segment and reports what each device said about itself as :class:`Sighting` s.
:func:`camaudit.discover.inventory.merge` joins them into one
:class:`InventoryDevice` per device, keyed by MAC and IP.
"""

from __future__ import annotations

from dataclasses import dataclass

from camaudit.attempt import Attempter, AttemptStatus


@dataclass(frozen=True)
class Target:
    """What to look at, given explicitly by the user (never a default network)."""

    networks: tuple[str, ...]  # CIDRs (or single addresses) to probe
    interface: str | None = None  # interface for link-layer and multicast methods
    ports: tuple[int, ...] = ()  # service-scan ports; empty = the profiles' camera ports
    timeout: float = 3.0  # per probe / per method wait for replies, seconds
    budget: float = 120.0  # wall-clock bound for the whole run, seconds
    # set by discover() when no interface was given: which one the route picked, or why none
    interface_note: str = ""


@dataclass(frozen=True)
class Sighting:
    """One method's evidence that a device exists, in the device's own (sanitised) words.

    ``facts`` keys are stable: ``model``, ``serial``, ``firmware``, ``build``,
    ``device_type``, ``vendor``, ``http_port``, ``https_port``, ``rtsp_port``,
    ``sdk_port``, ``xaddrs``, ``scopes``, ``service`` (``"554/tcp rtsp <product> <version>"``),
    ``hostname``, ``ipv4_gateway``, ``dhcp``, ``activated`` ...
    """

    method: str  # "arp" | "wsdiscovery" | "sadp" | "dhip" | "nmap"
    ip: str | None
    mac: str | None  # lower-case aa:bb:cc:dd:ee:ff
    facts: tuple[tuple[str, str], ...] = ()
    raw_excerpt: str = ""  # sanitised, at most a few hundred characters of the reply
    time: float = 0.0

    def fact(self, key: str) -> str | None:
        """First value recorded under ``key``."""
        for name, value in self.facts:
            if name == key:
                return value
        return None


@dataclass(frozen=True)
class MethodAttempt:
    """What one method did, as an :class:`~camaudit.attempt.AttemptStatus`."""

    method: str
    status: AttemptStatus
    sightings: tuple[Sighting, ...] = ()
    error: str | None = None  # one sanitised line
    duration: float = 0.0
    timed_out_hosts: tuple[str, ...] = ()  # hosts the method gave up on (reported, not dropped)
    commands: tuple[str, ...] = ()  # external command lines run (nmap), as run


class DiscoveryMethod(Attempter[Target, MethodAttempt]):
    """A way of finding devices (``run`` looks on the target's networks); registered by
    name in :mod:`camaudit.discover.registry`."""


@dataclass(frozen=True)
class InventoryDevice:
    """One device, with every sighting that found it."""

    ip: str | None
    mac: str | None
    oui_vendor: str | None  # vendor family from profiles/oui.toml ("hikvision", "dahua" ...)
    oui_organisation: str | None
    methods: tuple[str, ...]
    sightings: tuple[Sighting, ...]
    open_ports: tuple[str, ...] = ()  # "554/tcp rtsp"
    timed_out: bool = False


@dataclass(frozen=True)
class Inventory:
    """The discovery stage's result."""

    target: Target
    devices: tuple[InventoryDevice, ...]
    attempts: tuple[MethodAttempt, ...]
    started: float
    duration: float
