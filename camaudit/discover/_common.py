"""What every discovery method shares: target checks, guarded runs, device addresses.

The network rule lives here: a target is a list of explicit CIDRs inside private,
loopback, link-local or shared (CGNAT) address space; anything else (including the
documentation ranges, which the lab uses to play "the internet") is public and refused
unless the caller passes ``allow_public=True``. Discovery never picks a network itself.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from camaudit.attempt import AttemptStatus, guarded
from camaudit.discover.interface import MethodAttempt, Sighting, Target
from camaudit.errors import UsageError
from camaudit.policy.load import DEFAULT_CLOSED_NETWORK, LOOPBACK, networks
from camaudit.sanitize import clean_text

MAX_ADDRESSES = 4096  # a /20: above this a sweep takes minutes and floods the segment
EXCERPT_LIMIT = 400

IPv4Network = ipaddress.IPv4Network

# what may be probed without --allow-public: the default closed network, and loopback
_LOCAL_V4 = tuple(
    net for net in networks((*DEFAULT_CLOSED_NETWORK, *LOOPBACK)) if isinstance(net, IPv4Network)
)
_NEVER_V4 = tuple(
    ipaddress.IPv4Network(cidr) for cidr in ("0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")
)


class ReplyError(Exception):
    """A device's reply could not be used; the message is one line for the report."""


def is_local_network(network: IPv4Network) -> bool:
    """True when ``network`` lies wholly inside private, loopback, link-local or CGNAT space."""
    return any(network.subnet_of(local) for local in _LOCAL_V4)


def target_networks(target: Target, allow_public: bool = False) -> tuple[IPv4Network, ...]:
    """The target's networks, checked; raises :class:`UsageError` with a one-line reason.

    Refused: no network at all, text that is not an IPv4 address or CIDR, IPv6 (not
    supported by discovery yet), multicast/reserved/unspecified space, more than
    :data:`MAX_ADDRESSES` addresses in total, and public space unless ``allow_public``.
    """
    if not target.networks:
        raise UsageError("no target network given; discovery never chooses one by itself")
    if target.timeout <= 0 or target.budget <= 0:
        raise UsageError("timeout and budget must be positive numbers of seconds")
    networks: list[IPv4Network] = []
    for text in target.networks:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise UsageError(f"not an IPv4 address or CIDR: {clean_text(text, 60)!r}") from None
        if not isinstance(network, IPv4Network):
            raise UsageError(f"{network}: IPv6 targets are not supported by discovery yet")
        if any(network.overlaps(never) for never in _NEVER_V4):
            raise UsageError(f"{network}: multicast, reserved or unspecified space is not a target")
        if not allow_public and not is_local_network(network):
            raise UsageError(
                f"{network} is public address space; camaudit only probes private, loopback "
                "or link-local networks unless --allow-public is given"
            )
        networks.append(network)
    total = sum(network.num_addresses for network in networks)
    if total > MAX_ADDRESSES:
        raise UsageError(
            f"the targets hold {total} addresses; discovery sweeps at most {MAX_ADDRESSES} "
            "(a /20) per run: give smaller CIDRs"
        )
    return tuple(networks)


def target_hosts(networks: Iterable[IPv4Network]) -> tuple[str, ...]:
    """Every unicast host address of ``networks`` (no network or broadcast address), no repeats."""
    seen: dict[str, None] = {}
    for network in networks:
        for host in network.hosts():
            seen.setdefault(str(host), None)
    return tuple(seen)


def check_interface(name: str | None) -> None:
    """Raise :class:`UsageError` when ``name`` is given but is no interface here."""
    if name is None:
        return
    try:
        socket.if_nametoindex(name)
    except (OSError, ValueError):
        raise UsageError(f"no network interface named {clean_text(name, 40)!r}") from None


def one_line(error: BaseException) -> str:
    """An exception as one sanitised line (type name when the message is empty)."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, PermissionError):
        text = f"permission denied ({text}); this method needs root or CAP_NET_RAW"
    return clean_text(text, 240)


@dataclass
class Outcome:
    """What a method body hands back to :func:`guarded_run`."""

    sightings: list[Sighting]
    status: AttemptStatus = AttemptStatus.COMPLETED
    error: str | None = None
    timed_out_hosts: tuple[str, ...] = ()


def _refused(error: Exception) -> Outcome:
    if isinstance(error, UsageError):
        return Outcome([], AttemptStatus.ERROR, f"refused: {one_line(error)}")
    return Outcome([], AttemptStatus.ERROR, one_line(error))


def guarded_run(name: str, body: Callable[[], Outcome]) -> MethodAttempt:
    """Run ``body``; every exception becomes an ``error`` attempt with one sanitised line."""
    started = time.monotonic()
    outcome = guarded(body, _refused)
    return MethodAttempt(
        method=name,
        status=outcome.status,
        sightings=tuple(outcome.sightings),
        error=outcome.error,
        duration=round(time.monotonic() - started, 3),
        timed_out_hosts=outcome.timed_out_hosts,
    )


# -- sanitised facts ----------------------------------------------------------------------

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$")


def normal_mac(text: str | None) -> str | None:
    """``aa:bb:cc:dd:ee:ff`` from the usual spellings, or ``None`` for anything else."""
    if not text:
        return None
    value = text.strip().lower()
    if not _MAC.match(value):
        return None
    digits = re.sub(r"[:-]", "", value)
    if digits in ("000000000000", "ffffffffffff"):
        return None
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def normal_ipv4(text: str | None) -> str | None:
    """A dotted IPv4 address, or ``None``."""
    if not text:
        return None
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        return None


def excerpt(payload: bytes) -> str:
    """The first few hundred bytes of a reply, sanitised, for the report."""
    return clean_text(payload[:EXCERPT_LIMIT], EXCERPT_LIMIT)


def port_fact(value: object) -> str | None:
    """A TCP/UDP port number as text when ``value`` is one (devices send text or numbers)."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return str(number) if 0 < number < 65536 else None
