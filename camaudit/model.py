"""Frozen result types shared by every stage.

Data flows one way: captures -> :class:`TrafficSummary` -> :class:`Assessment`
-> :class:`~camaudit.report.model.VerifyReport` -> a renderer. Each stage takes
the previous stage's frozen result and returns its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    """The answer to "is this a closed network?"."""

    ISOLATED = "isolated"
    ISOLATED_WITH_ATTEMPTS = "isolated_with_attempts"
    NOT_ISOLATED = "not_isolated"
    INCONCLUSIVE = "inconclusive"


class FlowCategory(StrEnum):
    """What a flow amounts to, derived from its Zeek-style ``conn_state``."""

    ESTABLISHED = "established"  # TCP handshake answered (or mid-stream both ways)
    ATTEMPTED = "attempted"  # TCP SYN / ICMP echo with no answer at all
    REJECTED = "rejected"  # RST or ICMP unreachable in answer
    ONE_WAY = "one_way"  # UDP / other: packets one way only
    TWO_WAY = "two_way"  # UDP / ICMP / other: packets both ways


class Direction(StrEnum):
    """Where a flow stands relative to the closed network."""

    OUTBOUND = "outbound"  # an inside host originated towards an outside address
    INBOUND = "inbound"  # an outside host originated towards an inside address
    INTERNAL = "internal"  # both ends inside, or local-only (multicast, link-local ...)
    TRANSIT = "transit"  # neither end inside: not traffic of the audited network


@dataclass(frozen=True)
class FrameRef:
    """One packet as Wireshark numbers it: 1-based frame number within one capture file."""

    capture: str
    frame: int
    time: float


@dataclass(frozen=True, slots=True)
class Phrase:
    """A sentence for a person: its English ``text``, and the message ``code`` and
    ``params`` that write it in any language (:func:`camaudit.phrases.phrase_text`).

    A param is a name with a string (an address, a name: shown as it is), an int (a
    quantity: written as a number of the reader's language), a phrase of its own, or a
    tuple of those (a list, written with commas). ``code`` None: text only, as in a
    report saved before phrases had codes.
    """

    text: str
    code: str | None = None
    params: PhraseParams = ()


# A phrase's params, as (name, value) pairs in order (a JSON object in a report).
PhraseParams = tuple[tuple[str, "str | int | Phrase | tuple[str | int | Phrase, ...]"], ...]


@dataclass(frozen=True)
class Problem:
    """Something about the evidence that a reader must know; never silently dropped.

    ``code`` is stable and machine-readable (``truncated``, ``snaplen``, ``drops``,
    ``undecodable``, ``unknown_linktype``, ``one_direction`` ...); ``message`` is
    one line for a person, in English; ``message_code`` and ``params`` write it in the
    reader's language (:func:`camaudit.phrases.problem_text`), where it has them.
    """

    code: str
    message: str
    capture: str | None = None
    count: int = 1
    message_code: str | None = None
    params: PhraseParams = field(default=(), metadata={"phrase_params": True})


@dataclass(frozen=True, kw_only=True)  # fields in the report's JSON order (report.inputs)
class CaptureInput:
    """One capture file as read."""

    path: str
    sha256: str
    format: str  # "pcap" | "pcapng"
    compression: str | None  # "gzip" or None
    packets: int
    ip_packets: int = 0  # decoded into a flow
    other_packets: int = 0  # not IP (ARP, LLDP, STP ...): counted, not flows
    first_time: float | None
    last_time: float | None
    link_types: tuple[str, ...]
    snaplen: int | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class FlowCore:
    """The two ends of a conversation, its state and its counts: the first fields of a
    :class:`Flow` and of the traffic stage's record it is made from (traffic/flows.py)."""

    proto: str  # "tcp" | "udp" | "icmp" | "icmpv6" | "ip-<n>"
    orig: str
    orig_port: int
    resp: str
    resp_port: int
    conn_state: str  # S0 S1 SF REJ RSTO RSTR RSTOS0 RSTRH SH SHR OTH
    category: FlowCategory
    first: FrameRef
    last: FrameRef
    orig_packets: int
    orig_bytes: int
    resp_packets: int
    resp_bytes: int


@dataclass(frozen=True)
class Flow(FlowCore):
    """A bidirectional conversation, its state modelled on Zeek's ``conn_state``.

    ``orig`` is the side that started it (the SYN sender, else the first sender).
    Packet and byte counts are frames and frame lengths on the wire, as in
    Wireshark's Conversations view. ICMP errors that refer to the flow are not
    counted in it; they are kept in ``rejected_by``.
    """

    orig_mac: str | None = None
    resp_mac: str | None = None
    vlan: int | None = None
    sni: str | None = None
    http_host: str | None = None
    app: str | None = None  # "dns" | "tls" | "http" | "ntp" | None
    dns_names: tuple[str, ...] = ()  # names a resolver gave for ``resp`` before this flow
    rejected_by: FrameRef | None = None
    rejected_from: str | None = None  # who sent the RST / ICMP error
    payload_orig: bytes = b""  # first bytes the originator sent (for payload rules)
    payload_resp: bytes = b""
    reply_unseen: bool = False  # orig ACKed a SYN-ACK the capture does not hold
    mid_stream: bool = False  # TCP with no handshake in the capture: orig guessed from ports
    zeek_uid: str | None = None  # read from a Zeek conn.log: its uid (first/last: file, line)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name this flow is known by: DNS answers, SNI, HTTP Host."""
        seen: list[str] = list(self.dns_names)
        for extra in (self.sni, self.http_host):
            if extra and extra not in seen:
                seen.append(extra)
        return tuple(seen)


@dataclass(frozen=True)
class DnsLookup:
    """One DNS question and what (if anything) answered it."""

    name: str
    qtype: str
    client: str
    server: str
    query: FrameRef | None
    response: FrameRef | None = None  # the defaults: a question nothing (yet) answered
    rcode: str | None = None  # None: no response in the capture
    answers: tuple[str, ...] = ()  # addresses (A/AAAA) and names (CNAME ...), in order
    truncated: bool = False  # the packet was cut by the snaplen
    zeek_uid: str | None = None  # read from a Zeek dns.log: its uid (query/response: file, line)
    # Past traffic.dnslog.DNS_LIMIT look-ups of a client at a resolver: the look-ups this entry
    # counts (it shows the first); 0: one look-up of its own. ``names_pooled``: the names
    # asked were not kept (past NAME_LIMIT), so they are judged as outside names no rule allows.
    pooled: int = 0
    names_pooled: bool = False


@dataclass(frozen=True)
class HostInfo:
    """A local address and the MAC it was seen with."""

    ip: str
    mac: str | None
    oui_vendor: str | None = None


@dataclass(frozen=True)
class PassiveFact:
    """One thing a host said about itself in its own DHCP, mDNS or SSDP packets.

    A name the device chose: it may name a vendor or model, but it is never proof of
    either, never allows a flow and never changes a verdict. ``value`` is sanitised.
    """

    protocol: str  # "dhcp" | "mdns" | "ssdp"
    key: str  # e.g. "host_name", "vendor_class", "service", "txt:model", "server"
    value: str
    first: FrameRef  # the first frame that said it
    count: int = 1  # packets that said it


@dataclass(frozen=True)
class PassiveHost:
    """What one host announced about itself: keyed by MAC where the packet carried one
    (the DHCP client hardware address, else the Ethernet source), else by address."""

    mac: str | None
    ip: str | None  # the source address (None for a DHCP client with no address yet)
    facts: tuple[PassiveFact, ...]


@dataclass(frozen=True)
class TrafficSummary:
    """Everything the traffic stage learned from the captures."""

    inputs: tuple[CaptureInput, ...]
    flows: tuple[Flow, ...]
    dns: tuple[DnsLookup, ...]
    hosts: tuple[HostInfo, ...]
    problems: tuple[Problem, ...]
    packets: int
    passive: tuple[PassiveHost, ...] = ()  # DHCP/mDNS/SSDP self-descriptions, per host


@dataclass(frozen=True)
class Evidence:
    """Where to look: a capture, frame numbers in it, and a Wireshark display filter
    that shows exactly those frames."""

    capture: str
    frames: tuple[int, ...]
    display_filter: str
    first_time: float | None = None


@dataclass(frozen=True)
class Finding:
    """One rule that fired, with the evidence behind it."""

    rule: str
    severity: str  # "high" | "medium" | "low" | "info"
    device: str | None
    summary: Phrase
    evidence: tuple[Evidence, ...]
    label: str | None = None


class AllowBasis(StrEnum):
    """Why a policy rule accepted a flow: what in the capture matched the rule."""

    ADDRESS = "address"  # the remote address is in the rule's hosts
    DNS = "dns"  # the device's own look-up of an allowed name answered this address
    CLIENT_NAME = "sni/host (trusted by policy)"  # SNI / HTTP Host, the rule trusts them
    ANY_REMOTE = "any remote"  # the rule names no host and no name (ports / proto only)


@dataclass(frozen=True)
class OutboundFlow:
    """A flow that leaves (or enters) the closed network, as judged by the policy."""

    flow: Flow
    direction: Direction
    device: str  # the inside end
    remote: str  # the outside end
    crossed: bool  # traffic got across the boundary
    label: str | None  # phone-home label from the profiles
    label_source: str | None
    allowed_by: str | None  # policy allow/exception that accepts it, with its reason
    allowed_basis: AllowBasis | None = None  # what matched that rule


@dataclass(frozen=True)
class ClassifiedLookup:
    """A DNS look-up judged against the closed network."""

    lookup: DnsLookup
    external: bool
    label: str | None
    answered_with_addresses: bool


@dataclass(frozen=True)
class Assessment:
    """The verdict stage's result: returned, never raised."""

    verdict: Verdict
    reasons: tuple[Phrase, ...]
    closed_network: tuple[str, ...]
    closed_network_is_default: bool
    fail_on: str
    outbound: tuple[OutboundFlow, ...]
    dns: tuple[ClassifiedLookup, ...]
    findings: tuple[Finding, ...]
    devices: tuple[HostInfo, ...]
    policy_name: str
    policy_path: str | None
    rhythms: tuple[Rhythm, ...] = ()  # repeated connections (policy/rhythm.py): never judged
    # Boundary flows judged but not listed in ``outbound``: past a device's first
    # policy.evaluate.DETAIL_LIMIT, summarised in findings per destination network
    summarised: int = 0
    summarised_crossed: int = 0  # of those, crossings no policy rule accepts


@dataclass(frozen=True)
class Rhythm:
    """Connections one device repeats to one destination on a timer (a phone-home rhythm).

    ``destination`` is what the connections share: a name the flows carried (DNS answer,
    SNI, HTTP Host), else their vendor label, else the remote address (``destination_kind``
    says which). ``period`` is the median time between the connections' starts and
    ``jitter`` the median absolute deviation from it. ``score`` (0..1) is how regular
    the series is, in the manner of RITA's beacon analysis: ``timing_score`` from the
    intervals, ``size_score`` from the bytes the device sent per connection.
    """

    device: str
    destination: str
    destination_kind: str  # "name" | "label" | "address"
    remotes: tuple[str, ...]
    proto: str
    port: int
    count: int
    period: float
    jitter: float
    first: FrameRef
    last: FrameRef
    score: float
    timing_score: float
    size_score: float
    crossed: int  # how many of the connections got across the boundary
    label: str | None = None
