"""Vectorised header decoding: a batch of raw frames -> columns of flow keys.

The common case (Ethernet / 802.1Q / QinQ / Linux SLL / SLL2 / raw IP / BSD
loopback, IPv4 or IPv6, TCP / UDP / ICMP) is decoded for a whole batch at once
with numpy gathers. Packets that need more care (IPv4 fragments, IPv6 extension
headers, ICMP errors) are finished one by one in :mod:`camaudit.traffic.slowpath`.
Every packet ends with a ``status``: decoded, not IP, unknown link type, cut by
the snaplen, or malformed, so that nothing is skipped without being counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from camaudit.traffic.capfile import RawBatch

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Bool = npt.NDArray[np.bool_]

# status codes
OK = 0
NOT_IP = 1
UNKNOWN_LINK = 2
SHORT = 3
MALFORMED = 4
SLOW = 5  # to be finished by the slow path
ICMP_ERROR = 6  # an ICMP error about another flow: handled on the side

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
_IPV6_EXTENSIONS = (0, 43, 44, 51, 60)
V4_MAPPED = np.uint64(0xFFFF_0000_0000)

# Request/reply pairs share a flow: the request carries (type, counterpart).
_ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
_ICMP6_PAIRS = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130}
_ICMP4_ERRORS = (3, 4, 5, 11, 12)
_ICMP6_ERRORS = (1, 2, 3, 4)


def _pair_table(pairs: dict[int, int]) -> I64:
    table = np.full(256, -1, dtype=np.int64)
    for key, value in pairs.items():
        table[key] = value
    return table


ICMP4_COUNTERPART = _pair_table(_ICMP4_PAIRS)
ICMP6_COUNTERPART = _pair_table(_ICMP6_PAIRS)


@dataclass
class Columns:
    """Per-packet decoded fields of one batch (mutable while the slow path fills it)."""

    status: npt.NDArray[np.int8]
    v6: Bool
    src_hi: U64
    src_lo: U64
    dst_hi: U64
    dst_lo: U64
    proto: I64
    sport: I64
    dport: I64
    flags: I64
    l3: I64
    l4: I64
    pay_off: I64
    pay_len: I64  # payload bytes the IP header declares
    pay_cap: I64  # payload bytes actually in the capture
    vlan: I64
    smac: I64  # -1 when the link layer carries none
    ethertype: I64


class _Bytes:
    """Bounds-safe big-endian gathers from a batch's buffer."""

    def __init__(self, data: bytes) -> None:
        self.raw = np.frombuffer(data, dtype=np.uint8)
        self.last = len(self.raw) - 1

    def u8(self, idx: I64) -> I64:
        return self.raw[np.clip(idx, 0, self.last)].astype(np.int64)

    def u16(self, idx: I64) -> I64:
        return (self.u8(idx) << 8) | self.u8(idx + 1)

    def u32(self, idx: I64) -> I64:
        return (self.u16(idx) << 16) | self.u16(idx + 2)

    def u16le(self, idx: I64) -> I64:
        return self.u8(idx) | (self.u8(idx + 1) << 8)

    def u64(self, idx: I64) -> U64:
        hi = self.u32(idx).astype(np.uint64)
        lo = self.u32(idx + 4).astype(np.uint64)
        return (hi << np.uint64(32)) | lo


def _link_layer(b: _Bytes, batch: RawBatch, cols: Columns, end: I64) -> None:
    """Find the network-layer offset and EtherType for every supported link type."""
    off, lt = batch.off, batch.linktype
    n = len(off)
    et = np.full(n, -1, dtype=np.int64)
    l3 = np.full(n, -1, dtype=np.int64)
    need = np.zeros(n, dtype=np.int64)  # bytes the link header needs

    eth = lt == 1
    if eth.any():
        e_off = off[eth]
        e_et = b.u16(e_off + 12)
        e_l3 = e_off + 14
        vlan = np.full(len(e_off), -1, dtype=np.int64)
        for depth in range(2):
            tagged = np.isin(e_et, _VLAN_TYPES)
            if not tagged.any():
                break
            tag = b.u16(e_l3) & 0x0FFF
            if depth == 0:
                vlan = np.where(tagged, tag, vlan)
            e_et = np.where(tagged, b.u16(e_l3 + 2), e_et)
            e_l3 = np.where(tagged, e_l3 + 4, e_l3)
        still = np.isin(e_et, _VLAN_TYPES)  # three or more tags: not decoded
        e_et[still] = -2
        et[eth], l3[eth], cols.vlan[eth] = e_et, e_l3, vlan
        need[eth] = e_l3 - e_off
        cols.smac[eth] = (b.u16(e_off + 6) << 32) | b.u32(e_off + 8)

    sll = lt == 113
    if sll.any():
        s_off = off[sll]
        et[sll], l3[sll], need[sll] = b.u16(s_off + 14), s_off + 16, 16
        halen = b.u16(s_off + 4)
        mac = (b.u16(s_off + 6) << 32) | b.u32(s_off + 8)
        cols.smac[sll] = np.where(halen == 6, mac, -1)

    sll2 = lt == 276
    if sll2.any():
        s_off = off[sll2]
        et[sll2], l3[sll2], need[sll2] = b.u16(s_off), s_off + 20, 20
        halen = b.u8(s_off + 11)
        mac = (b.u16(s_off + 12) << 32) | b.u32(s_off + 14)
        cols.smac[sll2] = np.where(halen == 6, mac, -1)

    raw = np.isin(lt, (12, 14, 101, 228, 229))
    if raw.any():
        r_off = off[raw]
        version = b.u8(r_off) >> 4
        et[raw] = np.where(version == 4, ETH_IPV4, np.where(version == 6, ETH_IPV6, -2))
        l3[raw], need[raw] = r_off, 0

    loop = (lt == 0) | (lt == 108)
    if loop.any():
        l_off = off[loop]
        be = b.u32(l_off)
        le = b.u16le(l_off) | (b.u16le(l_off + 2) << 16)
        # DLT_NULL is in the capturing host's byte order, DLT_LOOP in network order.
        family = np.where(lt[loop] == 108, be, np.where(le <= 0xFFFF, le, be))
        et[loop] = np.where(
            family == 2, ETH_IPV4, np.where(np.isin(family, (10, 24, 28, 30)), ETH_IPV6, -2)
        )
        l3[loop], need[loop] = l_off + 4, 4

    known = np.isin(lt, np.array(sorted({0, 1, 12, 14, 101, 108, 113, 228, 229, 276})))
    cols.status[~known] = UNKNOWN_LINK
    short = known & (end < off + need + 1)
    cols.status[short] = SHORT
    cols.ethertype[:] = et
    cols.l3[:] = l3
    not_ip = known & ~short & (et != ETH_IPV4) & (et != ETH_IPV6)
    cols.status[not_ip] = NOT_IP


def _ipv4(b: _Bytes, cols: Columns, end: I64, rows: I64) -> None:
    l3 = cols.l3[rows]
    vh = b.u8(l3)
    ihl = (vh & 0x0F) * 4
    bad = ((vh >> 4) != 4) | (ihl < 20)
    short = end[rows] < l3 + 20
    total = b.u16(l3 + 2)
    frag = b.u16(l3 + 6) & 0x3FFF
    cols.proto[rows] = b.u8(l3 + 9)
    cols.src_lo[rows] = b.u32(l3 + 12).astype(np.uint64) | V4_MAPPED
    cols.dst_lo[rows] = b.u32(l3 + 16).astype(np.uint64) | V4_MAPPED
    cols.l4[rows] = l3 + ihl
    cols.pay_len[rows] = l3 + total  # IP end for now; made a length in _transport
    status = np.where(frag != 0, SLOW, OK)
    status = np.where(short, SHORT, np.where(bad | (total < ihl), MALFORMED, status))
    cols.status[rows] = status


def _ipv6(b: _Bytes, cols: Columns, end: I64, rows: I64) -> None:
    l3 = cols.l3[rows]
    cols.v6[rows] = True
    short = end[rows] < l3 + 40
    bad = (b.u8(l3) >> 4) != 6
    nxt = b.u8(l3 + 6)
    cols.proto[rows] = nxt
    cols.src_hi[rows], cols.src_lo[rows] = b.u64(l3 + 8), b.u64(l3 + 16)
    cols.dst_hi[rows], cols.dst_lo[rows] = b.u64(l3 + 24), b.u64(l3 + 32)
    cols.l4[rows] = l3 + 40
    cols.pay_len[rows] = l3 + 40 + b.u16(l3 + 4)
    status = np.where(np.isin(nxt, _IPV6_EXTENSIONS), SLOW, OK)
    cols.status[rows] = np.where(short, SHORT, np.where(bad, MALFORMED, status))


def transport(b: _Bytes, cols: Columns, end: I64, rows: I64) -> None:
    """Decode ports, flags and payload bounds for ``rows`` whose ``l4`` and IP end are set."""
    if not len(rows):
        return
    l4, proto, ip_end = cols.l4[rows], cols.proto[rows], cols.pay_len[rows]
    cap_end = np.minimum(end[rows], ip_end)
    status = cols.status[rows]
    sport = np.zeros(len(rows), dtype=np.int64)
    dport = np.zeros(len(rows), dtype=np.int64)
    flags = np.zeros(len(rows), dtype=np.int64)
    pay = cap_end.copy()  # no payload for protocols we do not look into

    tcp = proto == TCP
    udp = proto == UDP
    ports = tcp | udp
    sport = np.where(ports, b.u16(l4), sport)
    dport = np.where(ports, b.u16(l4 + 2), dport)
    doff = (b.u8(l4 + 12) >> 4) * 4
    flags = np.where(tcp, b.u8(l4 + 13), flags)
    pay = np.where(tcp, l4 + doff, pay)
    pay = np.where(udp, l4 + 8, pay)
    need = np.where(tcp, l4 + 20, np.where(udp, l4 + 8, l4))

    icmp4 = proto == ICMP
    icmp6 = (proto == ICMPV6) & cols.v6[rows]
    icmp = icmp4 | icmp6
    itype, icode = b.u8(l4), b.u8(l4 + 1)
    counterpart = np.where(icmp4, ICMP4_COUNTERPART[itype], ICMP6_COUNTERPART[itype])
    sport = np.where(icmp, itype, sport)
    dport = np.where(icmp, np.where(counterpart >= 0, counterpart, icode), dport)
    need = np.where(icmp, l4 + 4, need)
    error = (icmp4 & np.isin(itype, _ICMP4_ERRORS)) | (icmp6 & np.isin(itype, _ICMP6_ERRORS))

    short = end[rows] < need
    live = status == OK
    status = np.where(live & short, SHORT, status)
    status = np.where(live & ~short & error, ICMP_ERROR, status)
    status = np.where(live & tcp & (doff < 20), MALFORMED, status)
    cols.status[rows] = status
    cols.sport[rows], cols.dport[rows], cols.flags[rows] = sport, dport, flags
    cols.pay_off[rows] = pay
    cols.pay_len[rows] = np.maximum(ip_end - pay, 0)
    cols.pay_cap[rows] = np.maximum(cap_end - pay, 0)


def new_columns(n: int) -> Columns:
    """Empty columns for ``n`` packets."""

    def zeros(dtype: type) -> npt.NDArray[np.generic]:
        return np.zeros(n, dtype=dtype)

    return Columns(
        status=np.zeros(n, dtype=np.int8),
        v6=np.zeros(n, dtype=np.bool_),
        src_hi=np.zeros(n, dtype=np.uint64),
        src_lo=np.zeros(n, dtype=np.uint64),
        dst_hi=np.zeros(n, dtype=np.uint64),
        dst_lo=np.zeros(n, dtype=np.uint64),
        proto=np.zeros(n, dtype=np.int64),
        sport=np.zeros(n, dtype=np.int64),
        dport=np.zeros(n, dtype=np.int64),
        flags=np.zeros(n, dtype=np.int64),
        l3=np.full(n, -1, dtype=np.int64),
        l4=np.full(n, -1, dtype=np.int64),
        pay_off=np.zeros(n, dtype=np.int64),
        pay_len=np.zeros(n, dtype=np.int64),
        pay_cap=np.zeros(n, dtype=np.int64),
        vlan=np.full(n, -1, dtype=np.int64),
        smac=np.full(n, -1, dtype=np.int64),
        ethertype=np.full(n, -1, dtype=np.int64),
    )


def decode(batch: RawBatch) -> tuple[Columns, _Bytes]:
    """Decode every packet of ``batch`` as far as the fast path can."""
    cols = new_columns(len(batch))
    b = _Bytes(batch.data)
    end = batch.off + batch.caplen
    _link_layer(b, batch, cols, end)
    live = cols.status == OK
    v4 = np.nonzero(live & (cols.ethertype == ETH_IPV4))[0]
    v6 = np.nonzero(live & (cols.ethertype == ETH_IPV6))[0]
    if len(v4):
        _ipv4(b, cols, end, v4)
    if len(v6):
        _ipv6(b, cols, end, v6)
    ready = np.nonzero((cols.status == OK) & (cols.l4 >= 0))[0]
    transport(b, cols, end, ready)
    return cols, b
