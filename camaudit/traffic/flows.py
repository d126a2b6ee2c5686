"""Bidirectional flows, aggregated a batch at a time; states modelled on Zeek's ``conn_state``.

Aggregates are order-free (counts, sums, flag unions, earliest and latest
packet), so flows that span several files merge correctly whatever order the
files are read in. Memory is one small accumulator per flow.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from camaudit.model import FlowCategory, FrameRef
from camaudit.traffic import apps
from camaudit.traffic import decode as d
from camaudit.traffic.capfile import RawBatch
from camaudit.traffic.slowpath import IcmpError, address

Key = tuple[int, int, int, int, int, int, int]  # proto, a_hi, a_lo, a_port, b_hi, b_lo, b_port

# per-direction flag bits
SYN, SYNACK, ACK, FIN, RST, DATA = 1, 2, 4, 8, 16, 32
PAYLOAD_KEEP = 2048
TLS_KEEP = 16384

_PROTO_NAMES = {d.TCP: "tcp", d.UDP: "udp", d.ICMP: "icmp", d.ICMPV6: "icmpv6"}
_K = [
    np.uint64(c)
    for c in (
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0x27D4EB2F165667C5,
        0xFF51AFD7ED558CCD,
    )
]


@dataclass(slots=True)
class FlowAcc:
    """Running totals of one flow; ``a`` and ``b`` are the key's two ends (index 0 and 1)."""

    key: Key
    packets: list[int] = field(default_factory=lambda: [0, 0])
    octets: list[int] = field(default_factory=lambda: [0, 0])
    bits: list[int] = field(default_factory=lambda: [0, 0])
    first: tuple[float, str, int, int] = (0.0, "", 0, 0)  # time, capture, frame, direction
    last: tuple[float, str, int] = (0.0, "", 0)
    syn: tuple[float, int] | None = None  # earliest bare SYN: time, direction
    synack: tuple[float, int] | None = None
    payload: list[bytes] = field(default_factory=lambda: [b"", b""])
    want: list[int] = field(default_factory=lambda: [0, 0])  # TLS record bytes still missing
    vlan: int | None = None


@dataclass(frozen=True)
class FlowRecord:
    """A finished flow before names and policy are attached (see :mod:`engine`)."""

    proto: str
    orig: str
    orig_port: int
    resp: str
    resp_port: int
    conn_state: str
    category: FlowCategory
    first: FrameRef
    last: FrameRef
    orig_packets: int
    orig_bytes: int
    resp_packets: int
    resp_bytes: int
    vlan: int | None
    payload_orig: bytes
    payload_resp: bytes
    reply_unseen: bool
    is_icmp_error: bool
    mid_stream: bool


class FlowTable:
    """All flows seen so far."""

    def __init__(self) -> None:
        self.flows: dict[Key, FlowAcc] = {}

    def __len__(self) -> int:
        return len(self.flows)

    def add(self, batch: RawBatch, cols: d.Columns) -> None:
        """Fold every decoded packet of ``batch`` into its flow."""
        rows = np.nonzero(cols.status == d.OK)[0]
        if not len(rows):
            return
        s_hi, s_lo, sp = cols.src_hi[rows], cols.src_lo[rows], cols.sport[rows]
        t_hi, t_lo, tp = cols.dst_hi[rows], cols.dst_lo[rows], cols.dport[rows]
        swap = (s_hi > t_hi) | ((s_hi == t_hi) & ((s_lo > t_lo) | ((s_lo == t_lo) & (sp > tp))))
        a_hi, a_lo, ap = (
            np.where(swap, t_hi, s_hi),
            np.where(swap, t_lo, s_lo),
            np.where(swap, tp, sp),
        )
        b_hi, b_lo, bp = (
            np.where(swap, s_hi, t_hi),
            np.where(swap, s_lo, t_lo),
            np.where(swap, sp, tp),
        )
        proto = cols.proto[rows]
        direction = swap.astype(np.int64)
        inv, first_row = group_rows(proto, a_hi, a_lo, ap, b_hi, b_lo, bp)
        groups = len(first_row)
        slot = inv * 2 + direction

        flags = cols.flags[rows]
        tcp = proto == d.TCP
        bits = np.zeros(len(rows), dtype=np.int64)
        bits |= np.where(tcp & ((flags & 0x12) == 0x02), SYN, 0)
        bits |= np.where(tcp & ((flags & 0x12) == 0x12), SYNACK, 0)
        bits |= np.where(tcp & ((flags & 0x12) == 0x10), ACK, 0)
        bits |= np.where(tcp & ((flags & 0x01) != 0), FIN, 0)
        bits |= np.where(tcp & ((flags & 0x04) != 0), RST, 0)
        bits |= np.where(cols.pay_len[rows] > 0, DATA, 0)
        union = np.zeros(groups * 2, dtype=np.int64)
        for bit in (SYN, SYNACK, ACK, FIN, RST, DATA):
            hit = np.bincount(slot[(bits & bit) != 0], minlength=groups * 2) > 0
            union |= np.where(hit, bit, 0)
        packets = np.bincount(slot, minlength=groups * 2)
        octets = np.bincount(slot, weights=batch.origlen[rows], minlength=groups * 2)
        last_row = np.zeros(groups, dtype=np.int64)
        np.maximum.at(last_row, inv, np.arange(len(rows)))
        syn_row = _first_of(inv, (bits & SYN) != 0, groups)
        synack_row = _first_of(inv, (bits & SYNACK) != 0, groups)
        has_pay = cols.pay_cap[rows] > 0
        pay_row = _first_of(slot, has_pay, groups * 2)

        ts, frame = batch.ts[rows], batch.frame[rows]
        keys = zip(
            proto[first_row].tolist(),
            a_hi[first_row].tolist(),
            a_lo[first_row].tolist(),
            ap[first_row].tolist(),
            b_hi[first_row].tolist(),
            b_lo[first_row].tolist(),
            bp[first_row].tolist(),
            strict=True,
        )
        packets_l, octets_l, union_l = (
            packets.tolist(),
            octets.astype(np.int64).tolist(),
            union.tolist(),
        )
        first_l, last_l = first_row.tolist(), last_row.tolist()
        syn_l, synack_l, pay_l = syn_row.tolist(), synack_row.tolist(), pay_row.tolist()
        ts_l, frame_l, dir_l = ts.tolist(), frame.tolist(), direction.tolist()
        vlan = cols.vlan[rows]
        capture = batch.capture
        flows = self.flows
        needs_more: list[tuple[FlowAcc, int, int]] = []
        for g, key in enumerate(keys):
            acc = flows.get(key)
            f = first_l[g]
            if acc is None:
                acc = flows[key] = FlowAcc(key=key)
                acc.first = (ts_l[f], capture, frame_l[f], dir_l[f])
                acc.vlan = int(vlan[f]) if vlan[f] >= 0 else None
            elif ts_l[f] < acc.first[0]:
                acc.first = (ts_l[f], capture, frame_l[f], dir_l[f])
            z = last_l[g]
            if ts_l[z] >= acc.last[0]:
                acc.last = (ts_l[z], capture, frame_l[z])
            for side in (0, 1):
                s = 2 * g + side
                acc.packets[side] += packets_l[s]
                acc.octets[side] += octets_l[s]
                acc.bits[side] |= union_l[s]
                p = pay_l[s]
                if p >= 0 and (not acc.payload[side] or acc.want[side]):
                    needs_more.append((acc, side, s))
            r = syn_l[g]
            if r >= 0 and (acc.syn is None or ts_l[r] < acc.syn[0]):
                acc.syn = (ts_l[r], dir_l[r])
            r = synack_l[g]
            if r >= 0 and (acc.synack is None or ts_l[r] < acc.synack[0]):
                acc.synack = (ts_l[r], dir_l[r])
        if needs_more:
            self._payloads(batch, cols, rows, slot, has_pay, needs_more)

    def _payloads(
        self,
        batch: RawBatch,
        cols: d.Columns,
        rows: npt.NDArray[np.int64],
        slot: npt.NDArray[np.int64],
        has_pay: npt.NDArray[np.bool_],
        needs: list[tuple[FlowAcc, int, int]],
    ) -> None:
        """Keep the first bytes each side sent; a TLS record split over segments is joined."""
        pay_rows = np.nonzero(has_pay)[0]
        order = pay_rows[np.argsort(slot[pay_rows], kind="stable")]
        sorted_slots = slot[order]
        data = batch.data
        for acc, side, s in needs:
            lo, hi = np.searchsorted(sorted_slots, [s, s + 1])
            for i in order[lo : min(hi, lo + 8)].tolist():
                row = int(rows[i])
                start = int(cols.pay_off[row])
                chunk = data[start : start + int(cols.pay_cap[row])]
                if not acc.payload[side]:
                    acc.payload[side] = chunk[:TLS_KEEP]
                    record = apps.tls_record_length(chunk)
                    acc.want[side] = max(0, min(record or 0, TLS_KEEP) - len(chunk))
                    if len(acc.payload[side]) > PAYLOAD_KEEP and record is None:
                        acc.payload[side] = acc.payload[side][:PAYLOAD_KEEP]
                elif acc.want[side]:
                    acc.payload[side] += chunk[: acc.want[side]]
                    acc.want[side] = max(0, acc.want[side] - len(chunk))
                if not acc.want[side]:
                    break

    def records(self, icmp_errors: list[IcmpError]) -> Iterator[tuple[FlowRecord, list[IcmpError]]]:
        """Every flow as a :class:`FlowRecord`, with the ICMP errors that quote it.

        Consumes the table: each accumulator is dropped as its record is made, so the
        finished flows never sit in memory twice.
        """
        quoted: dict[Key, list[IcmpError]] = {}
        for err in icmp_errors:
            quoted.setdefault(err.inner_key, []).append(err)
        while self.flows:
            key, acc = self.flows.popitem()
            yield _finish(acc), quoted.get(key, [])


def group_rows(
    *cols: npt.NDArray[np.generic],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Group rows by equal key columns: (group index per row, first row of each group)."""
    h = np.zeros(len(cols[0]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, col in enumerate(cols):
            h ^= col.astype(np.uint64) * _K[i % len(_K)]
            h = (h << np.uint64(31)) | (h >> np.uint64(33))
    _, first_row, inv = np.unique(h, return_index=True, return_inverse=True)
    rep = first_row[inv]
    if all(np.array_equal(col, col[rep]) for col in cols):
        return inv.astype(np.int64), first_row.astype(np.int64)
    # A 64-bit hash collision inside one batch: group exactly instead.
    stacked = np.stack([col.astype(np.uint64) for col in cols], axis=1)
    _, first_row, inv = np.unique(stacked, axis=0, return_index=True, return_inverse=True)
    return inv.reshape(-1).astype(np.int64), first_row.astype(np.int64)


def _first_of(
    group: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_], groups: int
) -> npt.NDArray[np.int64]:
    """Index of the first row in each group where ``mask`` holds, else -1."""
    rows = np.nonzero(mask)[0]
    out = np.full(groups, len(group), dtype=np.int64)
    if len(rows):
        np.minimum.at(out, group[rows], rows)
    out[out == len(group)] = -1
    return out


def _origin(acc: FlowAcc, proto: int) -> int:
    """Which end started the flow: the bare-SYN sender, else the SYN-ACK's peer, else the first.

    A TCP flow whose handshake the capture does not hold (it started inside an
    open connection) is turned round as Zeek does when its first packet carries
    no SYN (``TCPAnalyzer::WantConnection``): the end on the likelier server
    port is the responder.
    """
    if acc.syn is not None:
        return acc.syn[1]
    if acc.synack is not None:
        return 1 - acc.synack[1]
    first = acc.first[3]
    ports = (acc.key[3], acc.key[6])
    if proto == d.TCP:
        return 1 - first if _server_side_first(ports[first], ports[1 - first]) else first
    # UDP: a reply seen before its request (capture started late): the server port is low.
    if proto == d.UDP and ports[first] < 1024 <= ports[1 - first]:
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


def _finish(acc: FlowAcc) -> FlowRecord:
    proto_num = acc.key[0]
    o = _origin(acc, proto_num)
    r = 1 - o
    ends = ((acc.key[1], acc.key[2], acc.key[3]), (acc.key[4], acc.key[5], acc.key[6]))
    o_pk, r_pk = acc.packets[o], acc.packets[r]
    is_error = False
    if proto_num == d.TCP:
        state, category, unseen = _tcp_state(acc.bits[o], acc.bits[r], o_pk, r_pk)
    else:
        unseen = False
        state = "SF" if o_pk and r_pk else "S0"
        if proto_num in (d.ICMP, d.ICMPV6):
            itype = ends[o][2]
            table = d.ICMP6_COUNTERPART if proto_num == d.ICMPV6 else d.ICMP4_COUNTERPART
            is_error = int(table[itype]) < 0 and (
                itype in (1, 2, 3, 4) if proto_num == d.ICMPV6 else itype in (3, 4, 5, 11, 12)
            )
            state = "OTH"
            paired = int(table[itype]) >= 0
            category = (
                FlowCategory.TWO_WAY
                if r_pk
                else FlowCategory.ATTEMPTED
                if paired
                else FlowCategory.ONE_WAY
            )
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
        first=FrameRef(acc.first[1], acc.first[2], acc.first[0]),
        last=FrameRef(acc.last[1], acc.last[2], acc.last[0]),
        orig_packets=o_pk,
        orig_bytes=acc.octets[o],
        resp_packets=r_pk,
        resp_bytes=acc.octets[r],
        vlan=acc.vlan,
        payload_orig=acc.payload[o],
        payload_resp=acc.payload[r],
        reply_unseen=unseen,
        is_icmp_error=is_error,
        mid_stream=proto_num == d.TCP and acc.syn is None and acc.synack is None,
    )
