"""Bidirectional flows, aggregated a batch at a time; states modelled on Zeek's ``conn_state``.

Aggregates are order-free (counts, sums, flag unions, earliest and latest
packet), so flows that span several files merge correctly whatever order the
files are read in. Memory is one small accumulator per flow, up to a limit (see
:data:`FLOW_LIMIT`, :data:`PAIR_LIMIT` and :data:`NETWORK_LIMIT`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from camaudit.addresses import parse_address
from camaudit.model import FlowCategory, FlowCore, FrameRef
from camaudit.traffic import apps
from camaudit.traffic._fastpass import NETWORK, PAIR, SPILL
from camaudit.traffic._lazy import LazyModule
from camaudit.traffic.capfile import RawBatch
from camaudit.traffic.slowpath import IcmpError, address

if TYPE_CHECKING:
    from camaudit.traffic import decode as d
else:
    d = LazyModule("camaudit.traffic.decode")  # numpy: only once a frame is handed over

# proto, a_hi, a_lo, a_port, b_hi, b_lo, b_port; a pooled entry has no ports and PAIR,
# NETWORK or SPILL added to its protocol (a NETWORK entry: a is an address, b a network's
# first one; a SPILL entry: both ends the address family's unspecified address)
Key = tuple[int, int, int, int, int, int, int]

# per-direction flag bits
SYN, SYNACK, ACK, FIN, RST, DATA = 1, 2, 4, 8, 16, 32
PAYLOAD_KEEP = 2048
TLS_KEEP = 16384

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58  # IP protocol numbers
_PROTO_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6"}
# Flows kept exactly per table; later ones (a scan, a flood) are counted per address pair,
# without ports, so that memory stays bounded (the compiled pass does the same). Past
# PAIR_LIMIT pairs (a scan of many addresses), per source address and destination network
# (:func:`network`): then memory grows with networks, not addresses. Past NETWORK_LIMIT of
# those (a flood from spoofed sources, each its own entry), flows spill into one entry per
# protocol and address family: memory stays bounded, and the addresses are lost (fail
# closed: engine's flows_spilled problem keeps the verdict from reading isolated).
FLOW_LIMIT = 100_000
PAIR_LIMIT = 100_000
NETWORK_LIMIT = 100_000
_PROTO = 0xFF  # a key's protocol without its pool mark
_V4_MAPPED = 0xFFFF << 32
_LOW64 = (1 << 64) - 1
KEEP_CHUNKS = 64  # payload chunks kept per side at most (a TLS record in tiny segments)
SEG_SHIFT = 40  # ord = segment << SEG_SHIFT | frame (the compiled pass uses the same)
FRAME_MASK = (1 << SEG_SHIFT) - 1
_INF = float("inf")
_MAX_ORD = 1 << 62


@dataclass(slots=True)
class FlowAcc:
    """Running totals of one flow; ``a`` and ``b`` are the key's two ends (index 0 and 1).

    Frames are ordered as read, by ``ord`` = ``segment << 40 | frame`` (a segment is a file,
    or a range of one under ``--jobs``; files are read in the order of their first packet's
    time), as Wireshark numbers them; times are carried along but never compared, since two
    interfaces or files may disagree on the clock. Every total here is order-free, so two
    accumulators of the same flow merge exactly (:meth:`merge`).
    """

    key: Key
    packets: list[int] = field(default_factory=lambda: [0, 0])
    octets: list[int] = field(default_factory=lambda: [0, 0])
    bits: list[int] = field(default_factory=lambda: [0, 0])
    first: tuple[float, int, int] = (_INF, _MAX_ORD, 0)  # time, ord, direction
    last: tuple[float, int] = (-_INF, -1)
    syn: tuple[float, int, int] | None = None  # earliest bare SYN: time, ord, direction
    synack: tuple[float, int, int] | None = None
    # The first payload chunks of each side, in frame order, up to TLS_KEEP bytes in all
    # (only the first when it starts no TLS record):
    # enough to fold the first bytes (a TLS record split over segments joined) at the end;
    # and the bytes each side kept. None until a side keeps one: most entries of a flood
    # (the compiled pass's, every pooled one) never do, and three lists less each is
    # 250 bytes less per entry (75 MB of a 300 k-entry table).
    chunks: list[list[bytes]] | None = None
    kept: list[int] | None = None
    vlan: int | None = None

    def merge(self, other: FlowAcc) -> None:
        """Fold in the totals of the same flow from other frames (another range or table)."""
        for side in (0, 1):
            self.packets[side] += other.packets[side]
            self.octets[side] += other.octets[side]
            self.bits[side] |= other.bits[side]
        if other.first[1] < self.first[1]:
            self.first, self.vlan = other.first, other.vlan
        if other.last[1] > self.last[1]:
            self.last = other.last
        self.syn = _earliest(self.syn, other.syn)
        self.synack = _earliest(self.synack, other.synack)

    def merge_chunks(self, other: FlowAcc) -> None:
        """Append ``other``'s payload chunks, ``other`` holding later frames than ``self``."""
        if other.chunks is None:
            return
        for side in (0, 1):
            for chunk in other.chunks[side]:
                if not _keep_more(self, side):
                    break
                self._keep(side, chunk)

    def _keep(self, side: int, chunk: bytes, from_start: bool = False) -> None:
        """Keep ``chunk``; ``from_start``: this entry has seen the flow's earlier frames."""
        if self.chunks is None or self.kept is None:
            self.chunks, self.kept = [[], []], [0, 0]
        self.chunks[side].append(chunk[: max(0, TLS_KEEP - self.kept[side])])
        self.kept[side] += min(len(chunk), TLS_KEEP)
        if from_start and len(self.chunks[side]) == 1 and apps.tls_record_length(chunk) is None:
            # payload() reads nothing past a first chunk that starts no TLS record: keep no
            # more of this side (a DNS flood's flows kept every question: 2 M chunks). Not
            # in a later range, whose first chunk may continue an earlier range's record.
            self.kept[side] = TLS_KEEP

    def payload(self, side: int) -> bytes:
        """The first bytes this side sent; a TLS record split over segments is joined."""
        chunks = self.chunks[side] if self.chunks is not None else None
        if not chunks:
            return b""
        first = chunks[0]
        payload = first[:TLS_KEEP]
        record = apps.tls_record_length(first)
        want = max(0, min(record or 0, TLS_KEEP) - len(first))
        if len(payload) > PAYLOAD_KEEP and record is None:
            payload = payload[:PAYLOAD_KEEP]
        for chunk in chunks[1:]:
            if not want:
                break
            payload += chunk[:want]
            want = max(0, want - len(chunk))
        return payload


def _earliest(
    a: tuple[float, int, int] | None, b: tuple[float, int, int] | None
) -> tuple[float, int, int] | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a[1] <= b[1] else b


def _keep_more(acc: FlowAcc, side: int) -> bool:
    # The same rule as the compiled pass: it hands a side's payload frames over until then.
    if acc.chunks is None or acc.kept is None:
        return True
    return acc.kept[side] < TLS_KEEP and len(acc.chunks[side]) < KEEP_CHUNKS


@dataclass(frozen=True)
class FlowRecord(FlowCore):
    """A finished flow before names and policy are attached (see :mod:`engine`)."""

    vlan: int | None
    payload_orig: bytes
    payload_resp: bytes
    reply_unseen: bool
    is_icmp_error: bool
    mid_stream: bool


Segments = Sequence[tuple[str, int]]  # per segment: capture name, frame number of its frame 0


class FlowTable:
    """All flows seen so far."""

    def __init__(self) -> None:
        self.flows: dict[Key, FlowAcc] = {}
        self.summarised = 0  # packets counted per address pair (see FLOW_LIMIT, settle)
        self.pairs = 0  # address pairs pooled while read (see PAIR_LIMIT)
        self.nets = 0  # network entries pooled while read (see NETWORK_LIMIT)
        # the first frames added are of segment 0: every flow's earlier frames are here
        self.from_start: bool | None = None

    def __len__(self) -> int:
        return len(self.flows)

    def add(self, batch: RawBatch, cols: d.Columns) -> None:
        """Fold every decoded packet of ``batch`` (frames the compiled pass handed over)."""
        rows = (cols.status == d.OK).nonzero()[0]
        if not len(rows):
            return
        flows = self.flows
        data = batch.data
        seg = batch.seg << SEG_SHIFT
        if self.from_start is None:
            self.from_start = batch.seg == 0
        from_start = self.from_start

        def col(values: Any) -> list[Any]:
            return values[rows].tolist()  # type: ignore[no-any-return]

        for (
            proto,
            s_hi,
            s_lo,
            sp,
            t_hi,
            t_lo,
            tp,
            flags,
            pay_len,
            cap,
            start,
            vlan,
            ts,
            frame,
            size,
        ) in zip(
            col(cols.proto),
            col(cols.src_hi),
            col(cols.src_lo),
            col(cols.sport),
            col(cols.dst_hi),
            col(cols.dst_lo),
            col(cols.dport),
            col(cols.flags),
            col(cols.pay_len),
            col(cols.pay_cap),
            col(cols.pay_off),
            col(cols.vlan),
            col(batch.ts),
            col(batch.frame),
            col(batch.origlen),
            strict=True,
        ):
            src = (s_hi, s_lo, sp)
            dst = (t_hi, t_lo, tp)
            side = int(src > dst)
            key: Key = (proto, *dst, *src) if side else (proto, *src, *dst)
            acc = flows.get(key)
            keep = True
            if acc is None and len(flows) >= FLOW_LIMIT:
                acc, side = self._pooled(proto, s_hi, s_lo, t_hi, t_lo)
                keep = False
                self.summarised += 1
            if acc is None:
                acc = flows[key] = FlowAcc(key=key)
            order = seg | frame
            bits = DATA if pay_len > 0 else 0
            if proto == TCP:
                bits |= _tcp_bits(flags)
                if bits & SYN:
                    acc.syn = _earliest(acc.syn, (ts, order, side))
                if bits & SYNACK:
                    acc.synack = _earliest(acc.synack, (ts, order, side))
            acc.packets[side] += 1
            acc.octets[side] += size
            acc.bits[side] |= bits
            if order < acc.first[1]:
                acc.first = (ts, order, side)
                acc.vlan = vlan if vlan >= 0 else None
            if order > acc.last[1]:
                acc.last = (ts, order)
            if keep and cap > 0 and _keep_more(acc, side):
                acc._keep(side, data[start : start + cap], from_start)

    def _pooled(
        self, proto: int, s_hi: int, s_lo: int, t_hi: int, t_lo: int
    ) -> tuple[FlowAcc, int]:
        """The entry a flow past :data:`FLOW_LIMIT` is counted in, and the sender's side: its
        address pair's, or past :data:`PAIR_LIMIT` pairs, its source's entry for the
        destination network; a reply counts in its destination's entry, if there is one.
        Past :data:`NETWORK_LIMIT` network entries, a flow none of them holds spills into
        its protocol and address family's entry, on side 0 (``pooled`` in the compiled
        pass)."""
        flows = self.flows
        side = int((s_hi, s_lo) > (t_hi, t_lo))
        ends = ((t_hi, t_lo), (s_hi, s_lo)) if side else ((s_hi, s_lo), (t_hi, t_lo))
        key: Key = (proto | PAIR, *ends[0], 0, *ends[1], 0)
        acc = flows.get(key)
        if acc is None and (not PAIR_LIMIT or self.pairs < PAIR_LIMIT):
            self.pairs += 1
            acc = flows[key] = FlowAcc(key=key)
        if acc is not None:
            return acc, side
        reply = flows.get((proto | NETWORK, t_hi, t_lo, 0, *network(s_hi, s_lo), 0))
        if reply is not None:
            return reply, 1
        key = (proto | NETWORK, s_hi, s_lo, 0, *network(t_hi, t_lo), 0)
        acc = flows.get(key)
        if acc is None and (not NETWORK_LIMIT or self.nets < NETWORK_LIMIT):
            self.nets += 1
            acc = flows[key] = FlowAcc(key=key)
        if acc is None:
            key = _spill_key(proto, s_hi, s_lo)
            acc = flows.get(key)
            if acc is None:
                acc = flows[key] = FlowAcc(key=key)
        return acc, 0

    def add_compiled(self, rows: list[tuple[Any, ...]]) -> None:
        """Fold in the compiled pass's aggregates (``_fastpass.Pass.flows()``), in their
        order. Consumes ``rows``: each is dropped as it is folded, so that the table does
        not sit in memory twice (300 k entries: 150 MB less at the peak)."""
        flows = self.flows
        rows.reverse()
        while rows:
            key, packets, octets, bits, first, last, syn, synack, vlan = rows.pop()
            acc = FlowAcc(
                key=key,
                packets=list(packets),
                octets=list(octets),
                bits=list(bits),
                first=first,
                last=last,
                syn=syn,
                synack=synack,
                vlan=vlan if vlan >= 0 else None,
            )
            mine = flows.get(key)
            if mine is None:
                flows[key] = acc
            else:
                mine.merge(acc)

    def merge(self, later: FlowTable) -> None:
        """Fold in a table of later frames (the next range or file, under ``--jobs``)."""
        self.summarised += later.summarised
        flows = self.flows
        for key, acc in later.flows.items():
            mine = flows.get(key)
            if mine is None:
                flows[key] = acc
            else:
                mine.merge(acc)
                mine.merge_chunks(acc)

    def settle(self) -> None:
        """Hold the whole table to the limits each part of it was held to as it was read.

        Under ``--jobs`` (and between the compiled pass's table and Python's) each part
        pools past its own limits; once merged, the flows past the first
        :data:`FLOW_LIMIT` (in frame order) are pooled per address pair, the pairs past
        the first :data:`PAIR_LIMIT` per source and network, and the network entries past
        the first :data:`NETWORK_LIMIT` spill into their protocol and address family's
        entry, as one reading would have done. Pooling only adds totals up, so this is
        exact whatever the parts were. ``summarised`` is then the packets pooled per
        address pair.
        """
        flows = self.flows
        moving = _past([acc for key, acc in flows.items() if key[0] <= _PROTO], FLOW_LIMIT)
        firsts = {key: acc.first[1] for key, acc in flows.items() if key[0] & PAIR}
        for acc in moving:
            del flows[acc.key]
            pair = _pair_key(acc.key)
            firsts[pair] = min(firsts.get(pair, _MAX_ORD), acc.first[1])
        kept = set(sorted(firsts, key=firsts.__getitem__)[:PAIR_LIMIT] if PAIR_LIMIT else firsts)
        for acc in moving:  # by its ports, a flow knows its originator better than a pair
            pair = _pair_key(acc.key)
            if pair in kept:
                self._fold(acc, pair, 0)
            else:
                self._fold(acc, *_network_key(acc))
        for key in firsts.keys() - kept:
            pooled = flows.pop(key, None)  # None: a pair only the moving flows made
            if pooled is not None:
                self._fold(pooled, *_network_key(pooled))
        nets = [acc for key, acc in flows.items() if key[0] & NETWORK]
        for acc in _past(nets, NETWORK_LIMIT):
            del flows[acc.key]
            self._fold(acc, _spill_key(acc.key[0] & _PROTO, acc.key[1], acc.key[2]), SPILL)
        self.summarised = sum(
            acc.packets[0] + acc.packets[1] for key, acc in self.flows.items() if key[0] & PAIR
        )

    def _fold(self, acc: FlowAcc, key: Key, flip: int) -> None:
        """Add ``acc`` (out of the table) to the pooled entry ``key``, sides swapped if
        ``flip`` (:data:`SPILL`: both sides on side 0)."""
        moved = _turned(acc, key, flip)
        mine = self.flows.get(key)
        if mine is None:
            self.flows[key] = moved
        else:
            mine.merge(moved)

    def pools(self, mark: int) -> list[tuple[int, int]]:
        """Per entry pooled as ``mark`` (:data:`NETWORK`, :data:`SPILL`): the ``ord`` of its
        first frame and its packets."""
        return [
            (acc.first[1], acc.packets[0] + acc.packets[1])
            for key, acc in self.flows.items()
            if key[0] & mark
        ]

    def records(
        self, icmp_errors: list[IcmpError], segments: Segments
    ) -> Iterator[tuple[FlowRecord, list[IcmpError]]]:
        """Every flow as a :class:`FlowRecord`, with the ICMP errors that quote it.

        Consumes the table: each accumulator is dropped as its record is made, so the
        finished flows never sit in memory twice.
        """
        quoted: dict[Key, list[IcmpError]] = {}
        for err in icmp_errors:
            quoted.setdefault(err.inner_key, []).append(err)
        while self.flows:
            key, acc = self.flows.popitem()
            yield _finish(acc, segments), quoted.get(key, [])


def network(hi: int, lo: int) -> tuple[int, int]:
    """The network an address is pooled in: its /24 (IPv4, held IPv4-mapped), else its /64."""
    if hi == 0 and lo >> 32 == 0xFFFF:
        return hi, lo & ~0xFF
    return hi, 0


def network_of(text: str) -> str | None:
    """The network (a CIDR) an address written as text is pooled in past :data:`PAIR_LIMIT`,
    as :func:`network` pools a packet's (Zeek logs give addresses as text); None when the
    text is no address."""
    try:
        value = parse_address(text)
    except ValueError:
        return None
    number = int(value)
    hi, lo = (0, _V4_MAPPED | number) if value.version == 4 else (number >> 64, number & _LOW64)
    return _cidr(address(*network(hi, lo)))


def _cidr(text: str) -> str:
    """A pooled network's first address as the network it stands for."""
    return f"{text}/24" if "." in text else f"{text}/64"


def _spill_key(proto: int, hi: int, lo: int) -> Key:
    """The entry flows from address ``hi, lo`` spill into past :data:`NETWORK_LIMIT`: one per
    protocol and address family, both ends the family's unspecified address."""
    family = _V4_MAPPED if hi == 0 and lo >> 32 == 0xFFFF else 0
    return (proto | SPILL, 0, family, 0, 0, family, 0)


def _pair_key(key: Key) -> Key:
    """The address pair entry a flow is pooled in (its ends stay in order: addresses first)."""
    return (key[0] | PAIR, key[1], key[2], 0, key[4], key[5], 0)


def _network_key(acc: FlowAcc) -> tuple[Key, int]:
    """The network entry a flow or pair is pooled in, as its originator's (the first SYN's
    sender would have made it), and whether its sides swap."""
    proto = acc.key[0] & _PROTO
    ends = ((acc.key[1], acc.key[2]), (acc.key[4], acc.key[5]))
    o = _origin(acc, proto)
    return (proto | NETWORK, *ends[o], 0, *network(*ends[1 - o]), 0), o


def _past(accs: list[FlowAcc], limit: int) -> list[FlowAcc]:
    """The accumulators after the first ``limit`` in frame order (none if unbounded)."""
    if not limit or len(accs) <= limit:
        return []
    return sorted(accs, key=lambda acc: acc.first[1])[limit:]


def _turned(acc: FlowAcc, key: Key, flip: int) -> FlowAcc:
    """``acc``'s totals under ``key``, sides swapped if ``flip`` (:data:`SPILL`: both sides
    on side 0, as a spilled packet is counted); pooled: no payload kept."""
    spill = flip == SPILL

    def sides(pair: list[int], both: int) -> list[int]:
        if spill:
            return [both, 0]
        return pair[::-1] if flip else list(pair)

    def event(at: tuple[float, int, int] | None) -> tuple[float, int, int] | None:
        if at is None:
            return None
        return (at[0], at[1], 0 if spill else at[2] ^ flip)

    first = event(acc.first)
    assert first is not None
    return FlowAcc(
        key=key,
        packets=sides(acc.packets, sum(acc.packets)),
        octets=sides(acc.octets, sum(acc.octets)),
        bits=sides(acc.bits, acc.bits[0] | acc.bits[1]),
        first=first,
        last=acc.last,
        syn=event(acc.syn),
        synack=event(acc.synack),
        vlan=acc.vlan,
    )


def _tcp_bits(flags: int) -> int:
    bits = 0
    syn_ack = flags & 0x12
    if syn_ack == 0x02:
        bits |= SYN
    elif syn_ack == 0x12:
        bits |= SYNACK
    elif syn_ack == 0x10:
        bits |= ACK
    if flags & 0x01:
        bits |= FIN
    if flags & 0x04:
        bits |= RST
    return bits


def frame_ref(segments: Segments, time: float, order: int) -> FrameRef:
    """The frame an ``ord`` names: its capture and its frame number in that capture."""
    capture, base = segments[order >> SEG_SHIFT]
    return FrameRef(capture, base + (order & FRAME_MASK), time)


def _origin(acc: FlowAcc, proto: int) -> int:
    """Which end started the flow: the bare-SYN sender, else the SYN-ACK's peer, else the first.

    A TCP flow whose handshake the capture does not hold (it started inside an
    open connection) is turned round as Zeek does when its first packet carries
    no SYN (``TCPAnalyzer::WantConnection``): the end on the likelier server
    port is the responder.
    """
    if acc.syn is not None:
        return acc.syn[2]
    if acc.synack is not None:
        return 1 - acc.synack[2]
    first = acc.first[2]
    ports = (acc.key[3], acc.key[6])
    if proto == TCP:
        return 1 - first if _server_side_first(ports[first], ports[1 - first]) else first
    # UDP: a reply seen before its request (capture started late): the server port is low.
    if proto == UDP and ports[first] < 1024 <= ports[1 - first]:
        return 1 - first
    return first


#: Linux (and so camera) ephemeral ports start here (net.ipv4.ip_local_port_range);
#: IANA's dynamic range starts higher, at 49152. Ports below are services'.
EPHEMERAL_FROM = 32768


def _server_side_first(src: int, dst: int) -> bool:
    """Did a mid-stream TCP flow's first packet come from the server's port?

    Zeek flips when the source port is a likely server port and the destination
    is not; when both are, only if the source port is the lower. Zeek's
    ``likely_server_ports`` is the ports its analysers register; without that
    table, a port below :data:`EPHEMERAL_FROM` is a likely server port, a
    well-known one (below 1024) likelier than a registered one.
    """
    if src >= EPHEMERAL_FROM:
        return False
    if dst >= EPHEMERAL_FROM:
        return True
    if (src < 1024) != (dst < 1024):
        return src < 1024
    return src < dst


# How a TCP connection ended, by the flags each side sent: the first row whose originator
# and responder flags were all sent gives Zeek's conn_state. After a SYN and its SYN-ACK:
_ANSWERED = ((RST, 0, "RSTO"), (0, RST, "RSTR"), (FIN, FIN, "SF"), (FIN, 0, "S2"), (0, FIN, "S3"))
_UNANSWERED = ((RST, 0, "RSTOS0"), (FIN, 0, "SH"))  # a SYN with no reply at all
_SYN_UNSEEN = ((0, RST, "RSTRH"), (0, FIN, "SHR"))  # a SYN-ACK whose SYN was not captured


def _ending(rows: tuple[tuple[int, int, str], ...], o: int, r: int, otherwise: str) -> str:
    return next((state for ob, rb, state in rows if o & ob == ob and r & rb == rb), otherwise)


def _tcp_state(o: int, r: int, o_pk: int, r_pk: int) -> tuple[str, FlowCategory, bool]:
    """Zeek-style conn_state from the flags each side sent."""
    if o & SYN:
        if r & SYNACK:
            return _ending(_ANSWERED, o, r, "S1"), FlowCategory.ESTABLISHED, False
        if r & RST:
            return "REJ", FlowCategory.REJECTED, False
        if r_pk == 0:
            if o & (ACK | DATA) and not o & RST:
                # The originator acknowledged a SYN-ACK this capture does not hold.
                return "OTH", FlowCategory.ESTABLISHED, True
            return _ending(_UNANSWERED, o, r, "S0"), FlowCategory.ATTEMPTED, False
        return "OTH", FlowCategory.ESTABLISHED, False
    if r & SYNACK:
        # The SYN was not captured; the SYN-ACK shows the originator did send one.
        return _ending(_SYN_UNSEEN, o, r, "OTH"), FlowCategory.ESTABLISHED, False
    if r_pk and o_pk:
        return "OTH", FlowCategory.ESTABLISHED, False
    if (o | r) & (ACK | DATA) and not (o | r) & RST:
        # Mid-stream, one side only: acknowledgements or data show a connection the
        # capture holds the other half of (or none of the handshake of).
        return "OTH", FlowCategory.ESTABLISHED, True
    return "OTH", FlowCategory.ATTEMPTED, False


def icmp_category(answered: bool, paired: bool) -> FlowCategory:
    """An ICMP flow: answered is two-way; unanswered, a request (a type with a reply type,
    ``paired``) is an attempt and anything else one-way."""
    if answered:
        return FlowCategory.TWO_WAY
    return FlowCategory.ATTEMPTED if paired else FlowCategory.ONE_WAY


def _end_text(acc: FlowAcc, end: int) -> str:
    """An end's address, or for a network entry's second end, its network (a CIDR); a
    spilled entry's ends are its whole address family (``0.0.0.0/0``, ``::/0``)."""
    hi, lo = acc.key[1 + 3 * end], acc.key[2 + 3 * end]
    text = address(hi, lo)
    if acc.key[0] & SPILL:
        return f"{text}/0"
    if end and acc.key[0] & NETWORK:
        return _cidr(text)
    return text


def _finish(acc: FlowAcc, segments: Segments) -> FlowRecord:
    proto_num = acc.key[0] & _PROTO
    o = _origin(acc, proto_num)
    r = 1 - o
    ends = ((acc.key[1], acc.key[2], acc.key[3]), (acc.key[4], acc.key[5], acc.key[6]))
    o_pk, r_pk = acc.packets[o], acc.packets[r]
    is_error = False
    if proto_num == TCP:
        state, category, unseen = _tcp_state(acc.bits[o], acc.bits[r], o_pk, r_pk)
    else:
        unseen = False
        state = "SF" if o_pk and r_pk else "S0"
        if proto_num in (ICMP, ICMPV6):
            itype = ends[o][2]
            table = d.ICMP6_COUNTERPART if proto_num == ICMPV6 else d.ICMP4_COUNTERPART
            is_error = int(table[itype]) < 0 and (
                itype in (1, 2, 3, 4) if proto_num == ICMPV6 else itype in (3, 4, 5, 11, 12)
            )
            state = "OTH"
            category = icmp_category(bool(r_pk), paired=int(table[itype]) >= 0)
        else:
            category = FlowCategory.TWO_WAY if r_pk else FlowCategory.ONE_WAY
    return FlowRecord(
        proto=_PROTO_NAMES.get(proto_num, f"ip-{proto_num}"),
        orig=_end_text(acc, o),
        orig_port=ends[o][2],
        resp=_end_text(acc, r),
        resp_port=ends[r][2],
        conn_state=state,
        category=category,
        first=frame_ref(segments, acc.first[0], acc.first[1]),
        last=frame_ref(segments, acc.last[0], acc.last[1]),
        orig_packets=o_pk,
        orig_bytes=acc.octets[o],
        resp_packets=r_pk,
        resp_bytes=acc.octets[r],
        vlan=acc.vlan,
        payload_orig=acc.payload(o),
        payload_resp=acc.payload(r),
        reply_unseen=unseen,
        is_icmp_error=is_error,
        mid_stream=proto_num == TCP and acc.syn is None and acc.synack is None,
    )
