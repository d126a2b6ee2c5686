"""Bidirectional flows, aggregated a batch at a time; states modelled on Zeek's ``conn_state``.

Aggregates are order-free (counts, sums, flag unions, earliest and latest
packet), so flows that span several files merge correctly whatever order the
files are read in. Memory is one small accumulator per flow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from camaudit.model import FlowCategory, FlowCore, FrameRef
from camaudit.traffic import apps
from camaudit.traffic._lazy import LazyModule
from camaudit.traffic.capfile import RawBatch
from camaudit.traffic.slowpath import IcmpError, address

if TYPE_CHECKING:
    from camaudit.traffic import decode as d
else:
    d = LazyModule("camaudit.traffic.decode")  # numpy: only once a frame is handed over

Key = tuple[int, int, int, int, int, int, int]  # proto, a_hi, a_lo, a_port, b_hi, b_lo, b_port

# per-direction flag bits
SYN, SYNACK, ACK, FIN, RST, DATA = 1, 2, 4, 8, 16, 32
PAYLOAD_KEEP = 2048
TLS_KEEP = 16384

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58  # IP protocol numbers
_PROTO_NAMES = {TCP: "tcp", UDP: "udp", ICMP: "icmp", ICMPV6: "icmpv6"}
# Flows kept exactly per table; later ones (a scan, a flood) are counted per address pair,
# without ports, so that memory stays bounded (the compiled pass does the same).
FLOW_LIMIT = 100_000
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
    # The first payload chunks of each side, in frame order, up to TLS_KEEP bytes in all:
    # enough to fold the first bytes (a TLS record split over segments joined) at the end.
    chunks: list[list[bytes]] = field(default_factory=lambda: [[], []])
    kept: list[int] = field(default_factory=lambda: [0, 0])
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
        for side in (0, 1):
            for chunk in other.chunks[side]:
                if not _keep_more(self, side):
                    break
                self._keep(side, chunk)

    def _keep(self, side: int, chunk: bytes) -> None:
        self.chunks[side].append(chunk[: max(0, TLS_KEEP - self.kept[side])])
        self.kept[side] += min(len(chunk), TLS_KEEP)

    def payload(self, side: int) -> bytes:
        """The first bytes this side sent; a TLS record split over segments is joined."""
        chunks = self.chunks[side]
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
        self.summarised = 0  # packets counted per address pair (see FLOW_LIMIT)

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
                side = int((s_hi, s_lo) > (t_hi, t_lo))
                key = (
                    (proto, t_hi, t_lo, 0, s_hi, s_lo, 0)
                    if side
                    else (proto, s_hi, s_lo, 0, t_hi, t_lo, 0)
                )
                acc = flows.get(key)
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
                acc._keep(side, data[start : start + cap])

    def add_compiled(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Fold in the compiled pass's aggregates (``_fastpass.Pass.flows()``)."""
        flows = self.flows
        for key, packets, octets, bits, first, last, syn, synack, vlan in rows:
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


def _tcp_state(o: int, r: int, o_pk: int, r_pk: int) -> tuple[str, FlowCategory, bool]:
    """Zeek-style conn_state from the flags each side sent."""
    if o & SYN:
        if r & SYNACK:
            if o & RST:
                return "RSTO", FlowCategory.ESTABLISHED, False
            if r & RST:
                return "RSTR", FlowCategory.ESTABLISHED, False
            if o & FIN and r & FIN:
                return "SF", FlowCategory.ESTABLISHED, False
            if o & FIN:
                return "S2", FlowCategory.ESTABLISHED, False
            if r & FIN:
                return "S3", FlowCategory.ESTABLISHED, False
            return "S1", FlowCategory.ESTABLISHED, False
        if r & RST:
            return "REJ", FlowCategory.REJECTED, False
        if r_pk == 0:
            if o & (ACK | DATA) and not o & RST:
                # The originator acknowledged a SYN-ACK this capture does not hold.
                return "OTH", FlowCategory.ESTABLISHED, True
            if o & RST:
                return "RSTOS0", FlowCategory.ATTEMPTED, False
            if o & FIN:
                return "SH", FlowCategory.ATTEMPTED, False
            return "S0", FlowCategory.ATTEMPTED, False
        return "OTH", FlowCategory.ESTABLISHED, False
    if r & SYNACK:
        # The SYN was not captured; the SYN-ACK shows the originator did send one.
        state = "RSTRH" if r & RST else "SHR" if r & FIN else "OTH"
        return state, FlowCategory.ESTABLISHED, False
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


def _finish(acc: FlowAcc, segments: Segments) -> FlowRecord:
    proto_num = acc.key[0]
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
        orig=address(ends[o][0], ends[o][1]),
        orig_port=ends[o][2],
        resp=address(ends[r][0], ends[r][1]),
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
