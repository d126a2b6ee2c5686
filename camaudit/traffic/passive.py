"""What hosts say about themselves in DHCP, mDNS and SSDP: names the device chose.

A camera that asks for an address names itself (DHCP option 12 host name, option 60
vendor class, option 55 parameter list); it announces its services and model over mDNS
and its UPnP description over SSDP. These are passive facts: they help name a device
seen only in traffic, but the device chose them, so they never allow a flow and never
change a verdict.

DHCP is read by scapy and mDNS by dnspython (both imported on the first such packet);
SSDP is HTTP over UDP and is read by a few bounded lines here. Every value is
sanitised; a packet that does not decode is counted (a problem in the summary), never
raised. The LOCATION an SSDP packet names is recorded, never fetched.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from camaudit.model import FrameRef, PassiveFact, PassiveHost, Problem
from camaudit.phrases import phrase, problem
from camaudit.sanitize import clean_name, clean_text

DHCP_PORTS = (67, 68)
MDNS_PORT = 5353
SSDP_PORT = 1900
#: Packets to or from these ports are decoded here (the compiled pass hands them over).
PASSIVE_PORTS = frozenset((*DHCP_PORTS, MDNS_PORT, SSDP_PORT))

# Bounds: a flood of distinct names (hostile or broken hosts) must not grow memory.
MAX_HOSTS = 4096
MAX_FACTS_PER_HOST = 48
MAX_SSDP_LINES = 40
MAX_MDNS_RECORDS = 64

_DHCP_MESSAGES = {
    1: "DISCOVER",
    2: "OFFER",
    3: "REQUEST",
    4: "DECLINE",
    5: "ACK",
    6: "NAK",
    7: "RELEASE",
    8: "INFORM",
}
# Messages a client sends about itself; a server's OFFER/ACK names the client's
# address but not what the client calls itself.
_CLIENT_MESSAGES = frozenset({1, 3, 4, 7, 8})
_SSDP_HEADERS = {
    "server": "server",
    "usn": "usn",
    "location": "location",
    "nt": "type",
    "st": "type",
}
# TXT keys that name a make or model (DNS-SD conventions: ty/md/mf, plus plain words).
_TXT_KEYS = frozenset(
    {"model", "md", "ty", "mf", "manufacturer", "vendor", "product", "fn", "name", "usb_mdl"}
)
_MDNS_META = "_services._dns-sd._udp.local"
_MDNS_TYPES = frozenset({1, 12, 16, 28, 33})  # A, PTR, TXT, AAAA, SRV: the records read here
_OPAQUE_TYPE = 65534  # private use (RFC 6895): dnspython keeps its data as bytes

Pairs = list[tuple[str, str]]
Said = tuple[tuple[str, str], ...]  # what one packet said: (key, value) pairs


@dataclass(frozen=True)
class DhcpClient:
    """What one DHCP packet from a client says about that client."""

    mac: str | None  # client hardware address (chaddr), Ethernet only
    address: str | None  # ciaddr when the client already has one
    facts: tuple[tuple[str, str], ...]


_NOT_A_CLIENT = DhcpClient(None, None, ())


# Devices repeat the same announcement: each distinct payload is decoded once.
@lru_cache(maxsize=4096)
def parse_dhcp(payload: bytes) -> DhcpClient | None:
    """What a client's DHCP message says about the client (nothing for a server's
    message), or ``None`` if it does not decode. scapy reads it; values are sanitised."""
    if len(payload) < 240 or payload[236:240] != b"\x63\x82\x53\x63":
        return None
    if payload[0] != 1:
        return _NOT_A_CLIENT
    # scapy is imported on the first DHCP packet: a capture without DHCP does not pay.
    from scapy.layers.dhcp import BOOTP, DHCP

    try:
        return _dhcp_client(BOOTP(payload), DHCP)
    except Exception:  # scapy raises assorted errors on hostile bytes: undecodable
        return None


def _dhcp_client(packet: Any, layer: Any) -> DhcpClient | None:
    dhcp = packet.getlayer(layer)
    if dhcp is None or not isinstance(dhcp.options, list):
        return None
    options = {o[0]: o[1:] for o in dhcp.options if isinstance(o, tuple) and len(o) >= 2}
    kind = options.get("message-type", (None,))[0]
    if not isinstance(kind, int) or kind not in _CLIENT_MESSAGES:
        return _NOT_A_CLIENT
    facts: Pairs = [("message", _DHCP_MESSAGES[kind])]
    facts += _dhcp_option(options, "hostname", "host_name")
    facts += _dhcp_option(options, "vendor_class_id", "vendor_class")
    facts += _dhcp_option(options, "requested_addr", "requested_address")
    wanted = options.get("param_req_list")
    if wanted and isinstance(wanted[0], list):
        codes = ",".join(str(n) for n in wanted[0] if isinstance(n, int))
        facts.append(("parameter_list", clean_text(codes)))
    mac = None
    if packet.htype == 1 and packet.hlen == 6 and isinstance(packet.chaddr, bytes):
        mac = ":".join(f"{b:02x}" for b in packet.chaddr[:6])
    address = str(packet.ciaddr) if packet.ciaddr and not _unspecified(str(packet.ciaddr)) else None
    return DhcpClient(mac, address, tuple(facts))


def _dhcp_option(options: dict[object, tuple[object, ...]], name: str, key: str) -> Pairs:
    value = options.get(name)
    if not value:
        return []
    first = value[0]
    text = clean_text(first if isinstance(first, (bytes, str)) else str(first))
    return [(key, text)] if text else []


@lru_cache(maxsize=4096)
def parse_ssdp(payload: bytes) -> Said | None:
    """SERVER, USN, LOCATION and NT/ST of an SSDP NOTIFY or M-SEARCH reply (an M-SEARCH
    request names what its sender looks for, not itself: ``()``); ``None`` if not SSDP."""
    head = payload[:4096]
    lines = head.split(b"\r\n", MAX_SSDP_LINES)[:MAX_SSDP_LINES]
    start = lines[0].upper()
    if start.startswith(b"M-SEARCH "):
        return ()
    if not (start.startswith(b"NOTIFY ") or start.startswith(b"HTTP/1.")):
        return None
    facts: Pairs = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        key = _SSDP_HEADERS.get(name.strip().lower().decode("latin-1"))
        if colon and key and (text := clean_text(value.strip())):
            facts.append((key, text))
    return tuple(facts)


@lru_cache(maxsize=4096)
def parse_mdns(payload: bytes) -> Said | None:
    """Instance, service and host names and TXT model fields of an mDNS response
    (a query asks about others: ``()``); ``None`` if it is not DNS."""
    if len(payload) < 12:
        return None
    if not payload[2] & 0x80:
        return ()
    import dns.exception
    import dns.message

    try:
        msg = dns.message.from_wire(_as_plain_dns(payload), ignore_trailing=True)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError, struct.error):
        return None
    facts: Pairs = []
    for rrset in [*msg.answer, *msg.additional][:MAX_MDNS_RECORDS]:
        owner = clean_name(rrset.name.to_text())
        for rdata in list(rrset)[:MAX_MDNS_RECORDS]:
            facts += _mdns_record(owner, rrset.rdtype, rdata)
    return tuple(dict.fromkeys(facts))


def _mdns_record(owner: str, rdtype: int, rdata: Any) -> Pairs:
    import dns.rdatatype as t

    if owner.endswith(".arpa"):
        return []  # reverse names repeat the address, they do not name the device
    if rdtype == t.PTR and owner == _MDNS_META:
        return [("service", clean_name(rdata.target.to_text()))]
    if rdtype == t.PTR:
        instance = rdata.target.labels[0] if rdata.target.labels else b""
        return [("service", owner), ("instance", clean_text(instance))]
    if rdtype == t.SRV:
        return [("host", clean_name(rdata.target.to_text()))]
    if rdtype in (t.A, t.AAAA):
        return [("host", owner)]
    if rdtype == t.TXT:
        out: Pairs = []
        for item in rdata.strings:
            key, equals, value = bytes(item).partition(b"=")
            name = clean_text(key, 40).lower()
            if equals and name in _TXT_KEYS and (text := clean_text(value)):
                out.append((f"txt:{name}", text))
        return out
    return []


def _as_plain_dns(payload: bytes) -> bytes:
    """The message as plain DNS can read it, record positions unchanged.

    mDNS sets the top bit of a record's class (cache-flush, RFC 6762 10.2): read as plain
    DNS that is an unknown class whose SRV and A would not decode, so it is cleared. mDNS
    also compresses names where DNS forbids it (NSEC, RFC 6762 18.14), which dnspython
    refuses: records of a type not read here become an opaque private type.
    """
    import dns.wire

    data = bytearray(payload)
    parser = dns.wire.Parser(payload)
    qd, an, ns, ar = struct.unpack_from("!4H", payload, 4)
    parser.seek(12)
    for _ in range(qd):
        parser.get_name(decompress=True)
        parser.get_struct("!HH")
    for _ in range(min(an + ns + ar, MAX_MDNS_RECORDS * 4)):
        parser.get_name(decompress=True)
        at = parser.current
        rdtype, _, _, rdlen = parser.get_struct("!HHIH")
        if rdtype not in _MDNS_TYPES:
            struct.pack_into("!H", data, at, _OPAQUE_TYPE)
        data[at + 2] &= 0x7F
        parser.seek(parser.current + rdlen)
    return bytes(data)


def read_packet(
    log: PassiveLog,
    payload: bytes,
    ports: tuple[int, int],
    sender: tuple[str | None, str],
    where: FrameRef,
    order: int,
) -> None:
    """Decode one UDP payload on a passive port into ``log`` (``sender``: Ethernet
    source MAC, if the link has one, and source address)."""
    mac, src = sender
    if MDNS_PORT in ports:
        log.note("mdns", mac, src, parse_mdns(payload), where, order)
    elif SSDP_PORT in ports:
        log.note("ssdp", mac, src, parse_ssdp(payload), where, order)
    else:
        client = parse_dhcp(payload)
        if client is None:
            log.bad("dhcp")
            return
        # the client hardware address names the client even when a relay forwarded it
        log.add("dhcp", client.mac or mac, client.address or src, client.facts, where, order)


@dataclass
class _Host:
    mac: str | None
    ip: str | None
    order: int  # of the first frame that named this host
    facts: dict[tuple[str, str, str], tuple[int, PassiveFact]] = field(default_factory=dict)


@dataclass
class PassiveLog:
    """Per-host passive facts, earliest frame first; bounded."""

    hosts: dict[str, _Host] = field(default_factory=dict)
    undecodable: dict[str, int] = field(default_factory=dict)  # per protocol
    dropped: int = 0

    def bad(self, protocol: str) -> None:
        """A packet on a passive port that did not decode."""
        self.undecodable[protocol] = self.undecodable.get(protocol, 0) + 1

    def note(
        self,
        protocol: str,
        mac: str | None,
        ip: str,
        pairs: Said | None,
        where: FrameRef,
        order: int,
    ) -> None:
        """A decoded packet's facts, or a packet that did not decode (``None``)."""
        if pairs is None:
            self.bad(protocol)
        else:
            self.add(protocol, mac, ip, pairs, where, order)

    def add(
        self,
        protocol: str,
        mac: str | None,
        ip: str | None,
        pairs: Said,
        where: FrameRef,
        order: int,
    ) -> None:
        """Facts one packet said about its sender (``order``: the frame's global order)."""
        if not pairs:
            return
        host = self._host(mac, ip, order)
        if host is None:
            self.dropped += len(pairs)
            return
        for name, value in pairs:
            self._fact(host, PassiveFact(protocol, name, value, where), order)

    def _host(self, mac: str | None, ip: str | None, order: int) -> _Host | None:
        """The host record for a sender (made on first sight), None past the bound."""
        ip = None if ip is None or _unspecified(ip) else ip
        key = mac or ip
        if key is None:
            return None
        host = self.hosts.get(key)
        if host is None:
            if len(self.hosts) >= MAX_HOSTS:
                return None
            host = self.hosts[key] = _Host(mac, ip, order)
        if ip and (host.ip is None or order < host.order):
            host.ip = ip
        host.order = min(order, host.order)
        return host

    def _fact(self, host: _Host, fact: PassiveFact, order: int) -> None:
        ident = (fact.protocol, fact.key, fact.value)
        seen = host.facts.get(ident)
        if seen is None and len(host.facts) >= MAX_FACTS_PER_HOST:
            self.dropped += 1
            return
        if seen is None:
            host.facts[ident] = (order, fact)
            return
        first_order, first = seen
        count = first.count + fact.count
        if order < first_order:
            host.facts[ident] = (order, replace(fact, count=count))
        else:
            host.facts[ident] = (first_order, replace(first, count=count))

    def merge(self, other: PassiveLog, shift: int) -> None:
        """Fold in another part's log (``--jobs``); its frame numbers move by ``shift``."""
        for theirs in other.hosts.values():
            for order, fact in theirs.facts.values():
                host = self._host(theirs.mac, theirs.ip, order)
                if host is None:
                    self.dropped += 1
                    continue
                where = replace(fact.first, frame=fact.first.frame + shift)
                self._fact(host, replace(fact, first=where), order)
        for protocol, count in other.undecodable.items():
            self.undecodable[protocol] = self.undecodable.get(protocol, 0) + count
        self.dropped += other.dropped

    def summary(self) -> tuple[PassiveHost, ...]:
        """Every host with its facts, hosts and facts in the order first seen."""
        out = []
        for host in sorted(self.hosts.values(), key=lambda h: h.order):
            facts = sorted(host.facts.values(), key=lambda item: item[0])
            out.append(PassiveHost(host.mac, host.ip, tuple(f for _, f in facts)))
        return tuple(out)

    def problems(self) -> list[Problem]:
        """What a reader must know: packets not decoded, facts not kept."""
        problems = [
            problem(
                "passive_undecodable",
                phrase("problem_passive_undecodable", count=count, protocol=protocol.upper()),
                None,
                count,
            )
            for protocol, count in sorted(self.undecodable.items())
        ]
        if self.dropped:
            problems.append(
                problem(
                    "passive_bounded",
                    phrase(
                        "problem_passive_bounded",
                        count=self.dropped,
                        hosts=MAX_HOSTS,
                        names=MAX_FACTS_PER_HOST,
                    ),
                    None,
                    self.dropped,
                )
            )
        return problems


def _unspecified(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_unspecified
    except ValueError:
        return True
