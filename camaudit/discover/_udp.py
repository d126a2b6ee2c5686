"""One UDP request, many replies: the shared wire logic of SADP, DHIP and WS-Discovery.

A probe goes to the multicast group out of the given interface (``IP_MULTICAST_IF``,
TTL 1, no loopback of our own packet) and, for robustness, unicast to every target
host. Replies are collected until the timeout from two sockets: the sending socket
(devices that answer the sender) and, with an interface, a socket joined to the group on
the protocol port (devices that answer by multicast, as SADP and DHIP devices do).
Every reply is capped in size, their number is capped, and the wait ends at a deadline
whatever the devices do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import select
import selectors
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from camaudit.attempt import AttemptStatus, Facts
from camaudit.discover._common import (
    Outcome,
    ReplyError,
    excerpt,
    guarded_run,
    normal_mac,
    one_line,
    target_hosts,
    target_networks,
)
from camaudit.discover.interface import DiscoveryMethod, MethodAttempt, Sighting, Target
from camaudit.sanitize import clean_text

OUTSIDE_TARGET = "outside_target"  # sighting fact: the sender is not in --target
MAX_DATAGRAM = 65535
MAX_REPLIES = 2048  # a device flooding replies cannot make us collect forever


@dataclass(frozen=True)
class Datagram:
    """One reply as received: who sent it, what, when; ``size`` is the size before capping."""

    source: str
    payload: bytes
    size: int
    time: float


@dataclass(frozen=True)
class Exchange:
    """The replies of one probe round, and the problems met while sending."""

    replies: tuple[Datagram, ...]
    sent: int
    send_errors: tuple[str, ...]
    capped: bool = False


def _mreqn(group: str, ifindex: int) -> bytes:
    # struct ip_mreqn {imr_multiaddr, imr_address, imr_ifindex}: choose the interface by index
    any_address = bytes(4)  # the kernel picks the interface's address from its index
    return struct.pack("4s4si", socket.inet_aton(group), any_address, ifindex)


def _group_listener(group: str, port: int, ifindex: int) -> socket.socket | None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind((group, port))
        listener.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, _mreqn(group, ifindex))
    except OSError:
        listener.close()
        return None  # replies to the sender still arrive on the sending socket
    return listener


def exchange(
    probe: bytes,
    port: int,
    hosts: Sequence[str],
    *,
    group: str | None,
    interface: str | None,
    timeout: float,
    max_reply: int,
    deadline: float | None = None,
) -> Exchange:
    """Send ``probe`` and collect distinct replies until ``timeout`` after the last send.

    Multicast is used only when an ``interface`` is given (no default network). Replies
    identical to the probe (our own packet looped back) are ignored; a reply longer than
    ``max_reply`` keeps its first ``max_reply`` bytes and its real ``size``.
    """
    sockets: list[socket.socket] = []
    errors: list[str] = []
    sent = 0
    try:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sockets.append(sender)
        sender.bind(("", 0))  # an ephemeral port; where probes go is decided per send
        if interface is not None and group is not None:
            ifindex = socket.if_nametoindex(interface)
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, _mreqn(group, ifindex))
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            listener = _group_listener(group, port, ifindex)
            if listener is not None:
                sockets.append(listener)
            try:
                sender.sendto(probe, (group, port))
                sent += 1
            except OSError as error:
                errors.append(f"multicast to {group}:{port} on {interface}: {one_line(error)}")
        sent += _unicast(sender, probe, port, hosts, timeout, errors)
        replies, capped = _collect(sockets, probe, timeout, max_reply, deadline)
    finally:
        for sock in sockets:
            sock.close()
    return Exchange(replies, sent, tuple(errors), capped)


def _unicast(
    sender: socket.socket,
    probe: bytes,
    port: int,
    hosts: Sequence[str],
    timeout: float,
    errors: list[str],
) -> int:
    """Send to each host without ever blocking past ``timeout``; count what was sent.

    Datagrams to absent hosts wait in the socket's buffer for ARP to fail (about 3 s),
    so a large sweep fills the buffer: it is enlarged, and a send that would block waits
    for room only until ``timeout``, after which the remaining hosts are skipped.
    """
    room = min(len(hosts) * 4096, 1 << 24)
    try:  # root may pass net.core.wmem_max (SO_SNDBUFFORCE is 32 on Linux)
        sender.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_SNDBUFFORCE", 32), room)
    except OSError:
        with contextlib.suppress(OSError):
            sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, room)
    sender.setblocking(False)
    end = time.monotonic() + timeout
    sent = 0
    for index, host in enumerate(hosts):
        while True:
            try:
                sender.sendto(probe, (host, port))
                sent += 1
                break
            except BlockingIOError:
                left = end - time.monotonic()
                if left <= 0 or not select.select([], [sender], [], left)[1]:
                    errors.append(f"{len(hosts) - index} unicast probes skipped: send buffer full")
                    return sent
            except OSError as error:
                if len(errors) < 3:
                    errors.append(f"unicast to {host}:{port}: {one_line(error)}")
                break
    return sent


def _collect(
    sockets: list[socket.socket],
    probe: bytes,
    timeout: float,
    max_reply: int,
    deadline: float | None,
) -> tuple[tuple[Datagram, ...], bool]:
    end = time.monotonic() + timeout
    if deadline is not None:
        end = min(end, deadline)
    seen: set[tuple[str, bytes]] = set()
    replies: list[Datagram] = []
    with selectors.DefaultSelector() as selector:
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, sock)
        while (left := end - time.monotonic()) > 0:
            for key, _ in selector.select(left):
                sock = key.data
                with contextlib.suppress(BlockingIOError, InterruptedError):
                    data, (source, _port) = sock.recvfrom(MAX_DATAGRAM)
                    if data == probe or (source, data) in seen:
                        continue
                    seen.add((source, data))
                    replies.append(Datagram(source, data[:max_reply], len(data), time.time()))
                    if len(replies) >= MAX_REPLIES:
                        return tuple(replies), True
    return tuple(replies), False


def add_version(
    facts: Facts, version: str | None, split: Callable[[str], tuple[str | None, str | None]]
) -> None:
    """``firmware`` and ``build`` facts from a reply's software version, split the vendor's way."""
    if version:
        firmware, build = split(version)
        facts.add("firmware", firmware)
        facts.add("build", build)


def reported_mac(facts: Facts, reported: object) -> str | None:
    """The MAC a reply reports, normalised; a value that is no MAC is kept as ``reported_mac``."""
    mac = normal_mac(reported) if isinstance(reported, str) else None
    if reported and mac is None:
        facts.add("reported_mac", reported, limit=64)
    return mac


def in_target(ip: str | None, target: Target) -> bool:
    """True when ``ip`` lies in one of ``target``'s networks.

    Multicast discovery is answered by whoever hears it, so a reply may come from an
    address the user never named; such a device is reported, never probed.
    """
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    for text in target.networks:
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        if address.version == network.version and address in network:
            return True
    return False


class UdpDiscovery(DiscoveryMethod):
    """A discovery protocol of one UDP request and parsed replies (SADP, DHIP, WS-Discovery).

    A protocol declares itself in its class line, ``class Sadp(UdpDiscovery, name=...,
    port=..., group=..., request=..., reply=...)``; a subclass of a protocol (a test's
    loopback variant) keeps what it does not give. ``port`` and ``group`` are overridable
    per instance so tests can run responders on loopback.
    """

    name: str
    default_port: int
    default_group: str
    max_reply: int = 16384  # real replies are a few kB; larger ones are not parsed

    def __init_subclass__(
        cls,
        *,
        name: str | None = None,
        port: int | None = None,
        group: str | None = None,
        request: Callable[[], bytes] | None = None,
        reply: Callable[[bytes], tuple[Facts, str | None] | None] | None = None,
    ) -> None:
        super().__init_subclass__()
        declared = {
            "name": name,
            "default_port": port,
            "default_group": group,
            "new_request": staticmethod(request) if request else None,
            "read_reply": staticmethod(reply) if reply else None,
        }
        for attribute, value in declared.items():
            if value is not None:
                setattr(cls, attribute, value)

    def __init__(
        self,
        allow_public: bool = False,
        port: int | None = None,
        group: str | None = None,
    ) -> None:
        self.allow_public = allow_public
        self.port = port if port is not None else self.default_port
        self.group = group if group is not None else self.default_group

    # The protocol's request, made afresh for each run (a new id each time): ``request``.
    new_request: Callable[[], bytes]

    def probe(self) -> bytes:
        """The request sent to the group and to each host."""
        return type(self).new_request()

    # The protocol's reply reader: (facts, MAC) of one reply, ``None`` for a packet that is
    # not a reply (another scanner's probe): ``reply``, unless a subclass overrides parse.
    read_reply: Callable[[bytes], tuple[Facts, str | None] | None]

    def parse(self, reply: Datagram) -> Sighting | None:
        """A sighting from one reply (``None`` for a packet that is not a reply, e.g. a probe).

        May raise :class:`ReplyError`; the caller keeps the device with an ``error`` fact.
        """
        parsed = type(self).read_reply(reply.payload)
        if parsed is None:
            return None
        facts, mac = parsed
        return self.sighting(reply, facts.items(), mac)

    def sighting(
        self, reply: Datagram, facts: Sequence[tuple[str, str]], mac: str | None
    ) -> Sighting:
        """This method's sighting of the device that sent ``reply``, its excerpt kept."""
        return Sighting(
            method=self.name,
            ip=reply.source,
            mac=mac,
            facts=tuple(facts),
            raw_excerpt=excerpt(reply.payload),
            time=reply.time,
        )

    def run(self, target: Target) -> MethodAttempt:
        """Probe, collect until ``target.timeout``, parse every reply; never raises."""
        return guarded_run(self.name, lambda: self._run(target))

    def _run(self, target: Target) -> Outcome:
        hosts = target_hosts(target_networks(target, self.allow_public))
        result = exchange(
            self.probe(),
            self.port,
            hosts,
            group=self.group,
            interface=target.interface,
            timeout=min(target.timeout, target.budget),
            max_reply=self.max_reply,
            deadline=time.monotonic() + target.budget,
        )
        if result.sent == 0:
            return Outcome(
                [], AttemptStatus.ERROR, "no probe could be sent: " + "; ".join(result.send_errors)
            )
        sightings = [
            _mark_outside(s, target)
            for s in map(self._parse_guarded, result.replies)
            if s is not None
        ]
        problems = list(result.send_errors)
        if result.capped:
            problems.insert(0, f"stopped after {MAX_REPLIES} replies (flood)")
        error = clean_text("; ".join(problems), 240) if problems else None
        return Outcome(sightings, AttemptStatus.COMPLETED, error)

    def _parse_guarded(self, reply: Datagram) -> Sighting | None:
        if reply.size > self.max_reply:
            problem = (
                f"reply of {reply.size} bytes exceeds the {self.max_reply}-byte cap; not parsed"
            )
            return self.error_sighting(reply, problem)
        try:
            return self.parse(reply)
        except ReplyError as error:
            return self.error_sighting(reply, one_line(error))
        except (ValueError, TypeError, KeyError, RecursionError) as error:
            return self.error_sighting(reply, f"unparsable reply: {one_line(error)}")

    def error_sighting(self, reply: Datagram, problem: str) -> Sighting:
        """A device answered, but its reply is unusable: kept, with the reason as ``error``."""
        return Sighting(
            method=self.name,
            ip=reply.source,
            mac=None,
            facts=(("error", problem),),
            raw_excerpt=excerpt(reply.payload),
            time=reply.time,
        )


def _mark_outside(sighting: Sighting, target: Target) -> Sighting:
    """``sighting`` with an ``outside_target`` fact when its sender is not in ``target``."""
    if in_target(sighting.ip, target):
        return sighting
    note = (OUTSIDE_TARGET, f"reply from {sighting.ip}, outside --target; not probed")
    return dataclasses.replace(sighting, facts=(*sighting.facts, note))
