"""What this host knows about itself: its routes and its own addresses. Sends nothing.

Used when the user names no interface (pick the one that routes to the target, as nmap
does, and only when the target is directly connected: ARP and multicast never cross a
gateway) and to leave the scanner's own address out of the inventory. Both read the
kernel's tables on each call: routes through scapy (``conf.route``), addresses over
rtnetlink.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass

IPv4Network = ipaddress.IPv4Network
ON_LINK = "0.0.0.0"  # noqa: S104  (scapy's gateway for a directly connected route)


@dataclass(frozen=True)
class Route:
    """How this host reaches one address: out of ``interface``, maybe via ``gateway``."""

    destination: str
    interface: str
    source: str
    gateway: str | None  # None: directly connected (on-link)


@dataclass(frozen=True)
class InterfaceChoice:
    """The interface picked for the target (``None``: none fits) and why, in one line."""

    interface: str | None
    reason: str


def _probe_address(network: IPv4Network) -> str:
    """The address whose route stands for the network: its first host (``ip route get``)."""
    return str(next(iter(network.hosts()), network.network_address))


def route_to(address: str) -> Route | None:
    """The kernel's route to ``address``; ``None`` when there is none or it is loopback."""
    import scapy.route  # noqa: F401  (sets conf.route)
    from scapy.config import conf

    conf.route.resync()
    logger = logging.getLogger("scapy.runtime")
    level = logger.level
    logger.setLevel(logging.ERROR)  # "no route found" is an answer here, not a warning
    try:
        interface, source, gateway = conf.route.route(address, verbose=0)
    finally:
        logger.setLevel(level)
    name = str(getattr(interface, "name", interface))
    if name == str(conf.loopback_name) or source == ON_LINK:
        return None
    return Route(address, name, str(source), None if gateway == ON_LINK else str(gateway))


def choose_interface(networks: Sequence[IPv4Network]) -> InterfaceChoice:
    """The interface every target network is directly connected on, or why there is none."""
    if all(network.is_loopback for network in networks):
        return InterfaceChoice(None, "loopback has no link layer: no interface to use")
    chosen: dict[str, list[str]] = {}
    for network in networks:
        address = _probe_address(network)
        route = route_to(address)
        if route is None:
            return InterfaceChoice(
                None, f"no route to {network} other than loopback: no interface to use"
            )
        if route.gateway is not None:
            return InterfaceChoice(
                None,
                f"{network} is reached through gateway {route.gateway} on {route.interface}, "
                "not on this link: ARP and multicast cannot reach it",
            )
        chosen.setdefault(route.interface, []).append(str(network))
    if len(chosen) != 1:
        shown = "; ".join(f"{', '.join(nets)} on {name}" for name, nets in chosen.items())
        return InterfaceChoice(None, f"the targets are on different interfaces ({shown})")
    ((name, nets),) = chosen.items()
    return InterfaceChoice(
        name, f"{name} chosen by the route to {', '.join(nets)} (directly connected)"
    )


def sweeps_a_network(networks: Sequence[IPv4Network]) -> bool:
    """Whether a target is a network that may hold this host (not only single addresses)."""
    return any(n.prefixlen < 32 and not n.is_loopback for n in networks)


def own_addresses() -> frozenset[str]:
    """Every IPv4 address configured on this host's interfaces (this network namespace).

    Read from the kernel over rtnetlink (an ``RTM_GETADDR`` dump), secondary addresses
    included: scapy's interface list gave the same and cost a second to import.
    """
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        # nlmsghdr (len, type, flags, seq, pid) + ifaddrmsg (family, prefixlen, flags, scope, index)
        request = struct.pack("=LHHLL", 24, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
        sock.send(request + struct.pack("=BBBBI", socket.AF_INET, 0, 0, 0, 0))
        found: set[str] = set()
        while True:
            data = sock.recv(65536)
            if not data:
                return frozenset(found)
            for kind, body in _netlink_messages(data):
                if kind == NLMSG_DONE:
                    return frozenset(found)
                if kind == NLMSG_ERROR:
                    raise OSError("rtnetlink refused the address dump")
                if kind == RTM_NEWADDR and len(body) >= 8 and body[0] == socket.AF_INET:
                    found |= _ipv4_of(body[8:])


NETLINK_ROUTE = 0
RTM_NEWADDR, RTM_GETADDR = 20, 22
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFA_ADDRESS, IFA_LOCAL = 1, 2


def _netlink_messages(data: bytes) -> list[tuple[int, bytes]]:
    """(type, payload) of each netlink message in one datagram."""
    messages = []
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=LH", data, offset)
        if length < 16:
            break
        messages.append((kind, data[offset + 16 : offset + length]))
        offset += (length + 3) & ~3
    return messages


def _ipv4_of(attributes: bytes) -> set[str]:
    """The address of one ``ifaddrmsg``: ``IFA_LOCAL`` (the own end), else ``IFA_ADDRESS``."""
    found: dict[int, str] = {}
    offset = 0
    while offset + 4 <= len(attributes):
        length, kind = struct.unpack_from("=HH", attributes, offset)
        if length < 4:
            break
        value = attributes[offset + 4 : offset + length]
        if kind in (IFA_ADDRESS, IFA_LOCAL) and len(value) == 4:
            found[kind] = socket.inet_ntoa(value)
        offset += (length + 3) & ~3
    address = found.get(IFA_LOCAL, found.get(IFA_ADDRESS))
    return {address} if address else set()
