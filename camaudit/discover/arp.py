"""ARP sweep: who answers ARP for each target address on the given interface.

On the wire: one broadcast ARP who-has per target host, out of ``target.interface`` only
(a raw ``AF_PACKET`` socket), then a wait of ``target.timeout`` for replies; hosts that
did not answer are asked once more (``retry``) and waited for as long again. Every reply
is a sighting with the replying MAC; several MACs answering for one address are all kept,
so an address conflict shows. The kernel hands the socket ARP replies only (a classic BPF
filter), so the probes running meanwhile cost the sweep nothing. Needs root (raw sockets)
and an interface: without one, the interface whose route reaches the target directly is
used (:func:`~camaudit.discover.local.choose_interface`); a target behind a gateway is not
on this link, so the sweep is not run and the attempt says why. Loopback has no ARP.

Until issue 12 the sweep was scapy's ``srp``: a second to import, and on a loaded machine
twice the time of this loop for the same frames and the same waits.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import select
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

from camaudit.attempt import AttemptStatus, Facts
from camaudit.discover._common import (
    Outcome,
    guarded_run,
    normal_ipv4,
    normal_mac,
    target_hosts,
    target_networks,
)
from camaudit.discover.interface import DiscoveryMethod, MethodAttempt, Sighting, Target
from camaudit.discover.local import choose_interface


class ArpSweep(DiscoveryMethod):
    """Every host that answers ARP on the target interface."""

    name = "arp"

    def __init__(self, allow_public: bool = False, retry: int = 1) -> None:
        self.allow_public = allow_public
        self.retry = retry

    def run(self, target: Target) -> MethodAttempt:
        """Sweep the target networks; never raises."""
        return guarded_run(self.name, lambda: self._run(target))

    def _run(self, target: Target) -> Outcome:
        networks = target_networks(target, self.allow_public)
        hosts = target_hosts(networks)
        interface, note = target.interface, target.interface_note or None
        if interface is None and note is None:
            choice = choose_interface(networks)
            interface, note = choice.interface, choice.reason
        if interface is None:
            return Outcome([], AttemptStatus.NOT_SCHEDULED, f"ARP sweep not run: {note}")
        if interface == "lo":
            return Outcome(
                [], AttemptStatus.ERROR, "loopback has no ARP; give the segment's interface"
            )
        replies = sweep(interface, hosts, min(target.timeout, target.budget), self.retry)
        sightings: dict[tuple[str, str], Sighting] = {}
        for reply in replies:
            ip, mac = normal_ipv4(reply.ip), normal_mac(reply.mac)
            if ip is None or mac is None or (ip, mac) in sightings:
                continue
            facts = Facts()
            ether_source = normal_mac(reply.ether_source)
            if ether_source is not None and ether_source != mac:
                facts.add("ether_source", ether_source)
            sightings[(ip, mac)] = Sighting(
                method=self.name,
                ip=ip,
                mac=mac,
                facts=facts.items(),
                raw_excerpt=f"{ip} is-at {mac}",
                time=reply.time,
            )
        return Outcome(list(sightings.values()), error=note)


ETH_P_ARP = 0x0806
ARP_REQUEST, ARP_REPLY = 1, 2
SO_ATTACH_FILTER = 26
SIOCGIFADDR = 0x8915
#: ``ldh [20]; jeq #2, accept, drop``: the ARP opcode (14-byte Ethernet header + 6) is
#: "reply"; our own requests, seen going out, and every other frame stay in the kernel.
_REPLIES_ONLY = ((0x28, 0, 0, 20), (0x15, 0, 1, ARP_REPLY), (0x06, 0, 0, 0xFFFF), (0x06, 0, 0, 0))


@dataclass(frozen=True)
class ArpReply:
    """One ARP reply as received: who claims which address, from which Ethernet source."""

    ip: str
    mac: str
    ether_source: str
    time: float


def sweep(interface: str, hosts: Sequence[str], timeout: float, retry: int) -> list[ArpReply]:
    """Ask every host, wait ``timeout``; ask the silent ones again ``retry`` times."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        _attach_filter(sock)
        with contextlib.suppress(OSError):  # root: room for a /20's replies at once
            sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 1 << 22)
        sock.bind((interface, ETH_P_ARP))
        own_mac: bytes = sock.getsockname()[4][:6]
        own_ip = _interface_ipv4(interface)
        replies: list[ArpReply] = []
        silent = list(dict.fromkeys(hosts))
        asked = set(silent)  # a late answer to the first round still counts in the second
        for _round in range(1 + max(0, retry)):
            for host in silent:
                sock.send(_request(own_mac, own_ip, host))
            replies += _collect(sock, asked, time.monotonic() + timeout)
            answered = {r.ip for r in replies}
            silent = [h for h in silent if h not in answered]
            if not silent:
                break
        return replies


def _request(own_mac: bytes, own_ip: bytes, host: str) -> bytes:
    ether = b"\xff" * 6 + own_mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, ARP_REQUEST)
    return ether + arp + own_mac + own_ip + bytes(6) + socket.inet_aton(host)


def _collect(sock: socket.socket, asked: set[str], end: float) -> list[ArpReply]:
    """Replies about an address in ``asked`` until ``end`` (several per address kept)."""
    got: list[ArpReply] = []
    while (left := end - time.monotonic()) > 0:
        if not select.select([sock], [], [], left)[0]:
            break
        frame = sock.recv(2048)
        reply = _parse(frame)
        if reply is not None and reply.ip in asked:
            got.append(reply)
    return got


def _parse(frame: bytes) -> ArpReply | None:
    """An Ethernet/ARP reply (IPv4 over Ethernet), or ``None`` for anything else."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
    if (htype, ptype, hlen, plen, op) != (1, 0x0800, 6, 4, ARP_REPLY):
        return None
    return ArpReply(
        ip=socket.inet_ntoa(frame[28:32]),
        mac=frame[22:28].hex(":"),
        ether_source=frame[6:12].hex(":"),
        time=time.time(),
    )


def _attach_filter(sock: socket.socket) -> None:
    code = b"".join(struct.pack("HBBI", *op) for op in _REPLIES_ONLY)
    program = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(_REPLIES_ONLY), ctypes.addressof(program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def _interface_ipv4(interface: str) -> bytes:
    """The interface's IPv4 address as the requests' sender (0.0.0.0 when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("256s", interface.encode()[:15])
        try:
            return fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)[20:24]
        except OSError:
            return bytes(4)
