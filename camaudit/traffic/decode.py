"""Vectorised header decoding: a batch of raw frames -> columns of flow keys.

The common case (Ethernet / any depth of 802.1Q, 802.1ad and 0x9100 tags /
Linux SLL / SLL2 / raw IP / BSD loopback, IPv4 or IPv6, TCP / UDP / ICMP) is
decoded for a whole batch at once with numpy gathers. Rare encapsulations below
the IP header (PPPoE sessions, PPP and Cisco HDLC link types, MPLS label stacks,
802.2 LLC/SNAP) are unwrapped one frame at a time by :func:`unwrap`, so plain
Ethernet pays nothing for them. Tunnels above an IP header (GRE, ERSPAN II/III,
IP-in-IP) yield their inner packets as a batch of their own
(:func:`tunnel_payloads`). Packets that need more care (IPv4 fragments, IPv6
extension headers, ICMP errors) are finished in :mod:`camaudit.traffic.slowpath`.

Every packet ends with a ``status``: decoded, understood but not IP (ARP, LLDP,
STP ...), unknown link type, not understood, cut by the snaplen, or malformed,
so that nothing is skipped without being counted. The ``UNREAD`` statuses keep
a verdict from being ``isolated``: it must be a statement about every frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from camaudit.traffic.capfile import SUPPORTED_LINKTYPES, RawBatch

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Bool = npt.NDArray[np.bool_]

# status codes
OK = 0
NOT_IP = 1  # understood, and a protocol that cannot carry an IP conversation
UNKNOWN_LINK = 2
SHORT = 3
MALFORMED = 4
SLOW = 5  # to be finished by the slow path
ICMP_ERROR = 6  # an ICMP error about another flow: handled on the side
NOT_UNDERSTOOD = 7  # an EtherType / PPP protocol / tunnel payload this decoder does not read
STATUSES = 8
#: Frames about which no statement can be made: they keep a verdict from being ``isolated``.
UNREAD = (UNKNOWN_LINK, MALFORMED, NOT_UNDERSTOOD)

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
GRE, IPIP, IPV6_IN_IP = 47, 4, 41
ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
PPPOE_SESSION = 0x8864
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)

# Pseudo-EtherTypes (outside 16 bits) for headers that have no EtherType of their own.
UNKNOWN_TYPE = -2
PPP_FRAMED = 0x10000  # PPP, maybe after HDLC-like 0xff 0x03 (DLT_PPP, DLT_PPP_HDLC)
PPP_PROTOCOL = 0x10001  # a bare PPP protocol field (inside PPPoE)
LLC_FRAME = 0x10002  # an 802.2 LLC header (Linux SLL protocol 0x0004)
NETLINK = 0x10003  # Linux netlink messages (nlmon): the kernel talking to itself
UNREADABLE = 0x10004  # a tunnel payload whose header this decoder cannot follow
NO_PAYLOAD = 0x10005  # a tunnel packet that carries nothing (a PPTP acknowledgement)

#: Understood EtherTypes that cannot carry an IP conversation: ARP, RARP, LLDP,
#: EAPOL, PPPoE discovery, slow protocols (LACP), MAC control (PAUSE), PTP,
#: CFM, Ethernet loopback. Anything else that is not IP (IPX, MACsec, vendor
#: types ...) is *not understood*: MACsec, for one, can hide any IP traffic.
_HARMLESS_ETHERTYPES = (0x0806, 0x8035, 0x88CC, 0x888E, 0x8863, 0x8809, 0x8808, 0x88F7, 0x8902)
_HARMLESS = np.array([*_HARMLESS_ETHERTYPES, 0x9000, NETLINK, NO_PAYLOAD])
_HARMLESS_SET = frozenset(_HARMLESS.tolist())
_UNWRAP = np.array([*_VLAN_TYPES, PPPOE_SESSION, 0x8847, 0x8848, PPP_FRAMED, PPP_PROTOCOL])
_KNOWN_LINK = np.zeros(max(SUPPORTED_LINKTYPES) + 2, dtype=np.bool_)  # last: "too large"
_KNOWN_LINK[sorted(SUPPORTED_LINKTYPES)] = True
_MAX_HEADERS = 64
_PPP_PROTOCOLS = {0x0021: ETH_IPV4, 0x0057: ETH_IPV6, 0x0281: 0x8847, 0x0283: 0x8848}
#: Cisco SNAP protocols (OUI 00:00:0c): CDP, VTP, DTP, PVST+, UDLD.
_CISCO_SNAP = frozenset((0x2000, 0x2003, 0x2004, 0x010B, 0x0111))
#: 802.2 SAPs that carry no IP: null SAP (XID/TEST), spanning tree, IPX, NetBIOS, OSI.
_LLC_SAPS = frozenset((0x00, 0x42, 0xE0, 0xF0, 0xFE))
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


def among(values: npt.NDArray[np.integer[Any]], codes: Iterable[int]) -> Bool:
    """``values`` that are one of a handful of ``codes``: ``np.isin`` for a few constants.

    One comparison per code: ``np.isin`` sorts or builds a table on every call, which on the
    batches of a few frames that live capture and tunnels hand over costs more than the
    decoding itself.
    """
    hit = np.zeros(values.shape, dtype=np.bool_)
    for code in codes:
        hit |= values == code
    return hit


def _bounded(idx: I64, last: int) -> I64:
    """``idx`` clipped to ``0..last`` with two ufuncs (``np.clip``'s wrapper costs more)."""
    return np.minimum(np.maximum(idx, 0), last)


class _Bytes:
    """Bounds-safe big-endian gathers from a batch's buffer."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        # a batch of caplen-0 frames has no byte to clip to: one zero byte, past every end
        self.raw = np.frombuffer(data or b"\0", dtype=np.uint8)
        self.last = len(self.raw) - 1

    def u8(self, idx: I64) -> I64:
        return self.raw[_bounded(idx, self.last)].astype(np.int64)

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
    et = np.full(n, UNKNOWN_TYPE, dtype=np.int64)
    l3 = off.astype(np.int64, copy=True)

    eth = lt == 1
    if eth.any():
        e_off = off[eth]
        et[eth], l3[eth] = b.u16(e_off + 12), e_off + 14
        cols.smac[eth] = (b.u16(e_off + 6) << 32) | b.u32(e_off + 8)

    sll = lt == 113
    if sll.any():
        s_off = off[sll]
        et[sll], l3[sll] = _sll_protocol(b.u16(s_off + 14), b.u16(s_off + 2)), s_off + 16
        halen = b.u16(s_off + 4)
        mac = (b.u16(s_off + 6) << 32) | b.u32(s_off + 8)
        cols.smac[sll] = np.where(halen == 6, mac, -1)

    sll2 = lt == 276
    if sll2.any():
        s_off = off[sll2]
        et[sll2], l3[sll2] = _sll_protocol(b.u16(s_off), b.u16(s_off + 8)), s_off + 20
        halen = b.u8(s_off + 11)
        mac = (b.u16(s_off + 12) << 32) | b.u32(s_off + 14)
        cols.smac[sll2] = np.where(halen == 6, mac, -1)

    raw = among(lt, (12, 14, 101, 228, 229))
    if raw.any():
        r_off = off[raw]
        version = b.u8(r_off) >> 4
        et[raw] = np.where(version == 4, ETH_IPV4, np.where(version == 6, ETH_IPV6, UNKNOWN_TYPE))

    loop = (lt == 0) | (lt == 108)
    if loop.any():
        l_off = off[loop]
        be = b.u32(l_off)
        le = b.u16le(l_off) | (b.u16le(l_off + 2) << 16)
        # DLT_NULL is in the capturing host's byte order, DLT_LOOP in network order.
        family = np.where(lt[loop] == 108, be, np.where(le <= 0xFFFF, le, be))
        et[loop] = np.where(
            family == 2,
            ETH_IPV4,
            np.where(among(family, (10, 24, 28, 30)), ETH_IPV6, UNKNOWN_TYPE),
        )
        l3[loop] = l_off + 4

    ppp = among(lt, (9, 50))
    et[ppp] = PPP_FRAMED
    ppp_dir = lt == 204  # one direction byte, then as DLT_PPP
    et[ppp_dir], l3[ppp_dir] = PPP_FRAMED, off[ppp_dir] + 1
    chdlc = lt == 104  # Cisco HDLC: address, control, EtherType
    if chdlc.any():
        et[chdlc], l3[chdlc] = b.u16(off[chdlc] + 2), off[chdlc] + 4
    inner = lt < 0  # a tunnel's payload: it starts with a header of EtherType -lt
    et[inner] = -lt[inner]

    _vlan_tags(b, cols, et, l3, end)
    known = _KNOWN_LINK[_bounded(lt, len(_KNOWN_LINK) - 1)] | inner
    cols.status[~known] = UNKNOWN_LINK
    short = known & (end < l3 + 1)
    cols.status[short] = SHORT
    cols.ethertype[:] = et
    cols.l3[:] = l3
    # IP straight after the link layer is the common case; only the rest is sorted out here.
    rest = np.nonzero(known & ~short & (et != ETH_IPV4) & (et != ETH_IPV6))[0]
    if len(rest):
        _classify(b, cols, end, rest)


def _classify(b: _Bytes, cols: Columns, end: I64, rows: I64) -> None:
    """Rows that are not IP at the link layer: unwrap, understood non-IP, or not understood."""
    et = cols.ethertype[rows]
    wrapped = _wrapped(et)
    cols.status[rows] = np.where(among(et, _HARMLESS), NOT_IP, NOT_UNDERSTOOD)
    if wrapped.any():
        _unwrap_rows(b, cols, end, rows[wrapped])


def _sll_protocol(protocol: I64, hatype: I64) -> I64:
    """Linux cooked capture: the protocol field is an EtherType unless it is small.

    Small values are Linux ``ETH_P_*`` pseudo-protocols: 0x0004 is an 802.2 LLC
    frame (decoded as an 802.3 length frame), 0x0001/0x0003 and the rest are
    not understood. On an ``ARPHRD_NETLINK`` (824) device the packets are the
    kernel's own netlink messages, which never leave the host.
    """
    out = np.where(protocol == 0x0004, LLC_FRAME, protocol)
    out = np.where((protocol < 0x0600) & (protocol != 0x0004), UNKNOWN_TYPE, out)
    return np.where(hatype == 824, NETLINK, out)


def _vlan_tags(b: _Bytes, cols: Columns, et: I64, l3: I64, end: I64) -> None:
    """Step over any depth of 802.1Q / 802.1ad / 0x9100 tags; the outer tag is the VLAN.

    The first pass is one membership test over the batch; deeper passes touch only the
    rows still tagged, so untagged traffic pays for a single comparison.
    """
    rows = np.nonzero(among(et, _VLAN_TYPES))[0]
    first = True
    for _ in range(_MAX_HEADERS):
        if not len(rows):
            return
        cut = end[rows] < l3[rows] + 4
        if cut.any():
            l3[rows[cut]] = end[rows[cut]]  # left for the SHORT check
            et[rows[cut]] = UNKNOWN_TYPE
            rows = rows[~cut]
        tag_at = l3[rows]
        if first:
            cols.vlan[rows] = b.u16(tag_at) & 0x0FFF
            first = False
        et[rows] = b.u16(tag_at + 2)
        l3[rows] = tag_at + 4
        rows = rows[among(et[rows], _VLAN_TYPES)]
    et[rows] = UNKNOWN_TYPE  # tags past any real network: a crafted frame, not read


def _wrapped(et: I64) -> Bool:
    """EtherTypes whose payload must be unwrapped one packet at a time (rare encapsulations)."""
    wrapped: Bool = among(et, _UNWRAP) | ((et >= 0) & (et <= 1500)) | (et == LLC_FRAME)
    return wrapped


def _unwrap_rows(b: _Bytes, cols: Columns, end: I64, rows: I64) -> None:
    data = b.data
    for row in rows.tolist():
        status, et, l3 = unwrap(data, int(cols.ethertype[row]), int(cols.l3[row]), int(end[row]))
        cols.status[row], cols.ethertype[row], cols.l3[row] = status, et, l3


def unwrap(data: bytes, kind: int, pos: int, end: int) -> tuple[int, int, int]:
    """Follow PPPoE, PPP, MPLS, 802.2 LLC/SNAP and VLAN headers to IP, one packet.

    Returns (status, EtherType, offset of that protocol's header): ``OK`` with
    IPv4/IPv6, ``NOT_IP`` for a protocol understood to carry no IP conversation,
    ``NOT_UNDERSTOOD``, ``MALFORMED`` or ``SHORT``.
    """
    for _ in range(_MAX_HEADERS):
        if kind in (ETH_IPV4, ETH_IPV6):
            return OK, kind, pos
        if kind in _HARMLESS_SET:
            return NOT_IP, kind, pos
        step = _STEPS.get(kind)
        if step is None:
            if 0 <= kind <= 1500:
                step = _llc
            else:
                return NOT_UNDERSTOOD, kind, pos
        got = step(data, pos, end)
        if isinstance(got, int):
            return got, kind, pos
        kind, pos = got
    return NOT_UNDERSTOOD, kind, pos


Step = tuple[int, int] | int


def _vlan_step(data: bytes, pos: int, end: int) -> Step:
    if pos + 4 > end:
        return SHORT
    return int.from_bytes(data[pos + 2 : pos + 4], "big"), pos + 4


def _pppoe_session(data: bytes, pos: int, end: int) -> Step:
    if pos + 6 > end:
        return SHORT
    if data[pos] != 0x11 or data[pos + 1] != 0:  # version 1, type 1, code 0 (session data)
        return MALFORMED
    return PPP_PROTOCOL, pos + 6


def _ppp_framed(data: bytes, pos: int, end: int) -> Step:
    """PPP that may start with HDLC-like address/control (0xff 0x03), or Cisco HDLC."""
    if pos + 2 > end:
        return SHORT
    if data[pos] == 0xFF and data[pos + 1] == 0x03:
        return PPP_PROTOCOL, pos + 2
    if data[pos] in (0x0F, 0x8F):  # Cisco HDLC in DLT_PPP_HDLC: address, control, EtherType
        if pos + 4 > end:
            return SHORT
        return int.from_bytes(data[pos + 2 : pos + 4], "big"), pos + 4
    return PPP_PROTOCOL, pos


def _ppp_protocol(data: bytes, pos: int, end: int) -> Step:
    if pos + 1 > end:
        return SHORT
    if data[pos] & 1:  # protocol-field compression: a one-byte protocol
        proto, pos = data[pos], pos + 1
    elif pos + 2 > end:
        return SHORT
    else:
        proto, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
    kind = _PPP_PROTOCOLS.get(proto)
    if kind is not None:
        return kind, pos
    # 0x8000-0xbfff are network control protocols (IPCP, IPV6CP ...), 0xc000-0xffff
    # link-layer control (LCP, PAP, CHAP, LQR): negotiation, never user traffic.
    return NOT_IP if proto >= 0x8000 else NOT_UNDERSTOOD


def _mpls(data: bytes, pos: int, end: int) -> Step:
    """The label stack down to bottom-of-stack, then IPv4 or IPv6 by the version nibble."""
    for _ in range(_MAX_HEADERS):
        if pos + 4 > end:
            return SHORT
        bottom = data[pos + 2] & 0x01
        pos += 4
        if bottom:
            break
    else:
        return NOT_UNDERSTOOD  # a stack deeper than any real network's: not read
    if pos + 1 > end:
        return SHORT
    version = data[pos] >> 4
    if version == 4:
        return ETH_IPV4, pos
    if version == 6:
        return ETH_IPV6, pos
    return NOT_UNDERSTOOD  # a pseudowire control word or anything else: not read


def _llc(data: bytes, pos: int, end: int) -> Step:
    """An 802.3 length frame: 802.2 LLC, with SNAP carrying an EtherType."""
    if pos + 3 > end:
        return SHORT
    dsap, ssap = data[pos], data[pos + 1]
    if dsap == 0xAA and ssap == 0xAA:
        if pos + 8 > end:
            return SHORT
        oui = int.from_bytes(data[pos + 3 : pos + 6], "big")
        pid = int.from_bytes(data[pos + 6 : pos + 8], "big")
        if oui in (0, 0xF8):  # RFC 1042 / 802.1H: the PID is an EtherType
            return pid, pos + 8
        if oui == 0x00000C and pid in _CISCO_SNAP:
            return NOT_IP
        return NOT_UNDERSTOOD
    if dsap == 0xFF and ssap == 0xFF:  # "raw 802.3": Novell IPX without LLC
        return NOT_IP
    if dsap in _LLC_SAPS:
        return NOT_IP
    return NOT_UNDERSTOOD


_STEPS = {
    0x8100: _vlan_step,
    0x88A8: _vlan_step,
    0x9100: _vlan_step,
    PPPOE_SESSION: _pppoe_session,
    PPP_FRAMED: _ppp_framed,
    PPP_PROTOCOL: _ppp_protocol,
    0x8847: _mpls,
    0x8848: _mpls,
    LLC_FRAME: _llc,
}


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
    status = np.where(among(nxt, _IPV6_EXTENSIONS), SLOW, OK)
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
    error = (icmp4 & among(itype, _ICMP4_ERRORS)) | (icmp6 & among(itype, _ICMP6_ERRORS))

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


def tunnel_payloads(batch: RawBatch, cols: Columns) -> RawBatch | None:
    """The packets that GRE, ERSPAN, IP-in-IP and IPv6-in-IPv4 carry, as a batch of their own.

    The inner packet is the evidence (a SPAN port's ERSPAN copy, a camera's
    tunnel), while the outer one stays a flow between the tunnel's ends. Each
    inner packet keeps its outer frame's number and time; its link type is
    negative, ``-EtherType`` of the payload (Ethernet: 1), which
    :func:`_link_layer` reads. A payload this decoder cannot follow gets
    ``UNREADABLE`` and so is counted as not understood, never dropped.
    """
    rows = np.nonzero((cols.status == OK) & among(cols.proto, (GRE, IPIP, IPV6_IN_IP)))[0]
    if not len(rows):
        return None
    data = batch.data
    keep: list[int] = []
    starts: list[int] = []
    types: list[int] = []
    for row in rows.tolist():
        l4 = int(cols.l4[row])
        if l4 < 0:
            continue  # a later fragment: its bytes are counted with the outer flow
        keep.append(row)
        limit = int(batch.off[row] + batch.caplen[row])
        proto = int(cols.proto[row])
        if proto == IPIP:
            kind, pos = -ETH_IPV4, l4
        elif proto == IPV6_IN_IP:
            kind, pos = -ETH_IPV6, l4
        else:
            kind, pos = _gre(data, l4, limit)
        starts.append(min(pos, limit))
        types.append(kind)
    if not keep:
        return None
    rows = np.array(keep, dtype=np.int64)
    start = np.array(starts, dtype=np.int64)
    end = batch.off[rows] + batch.caplen[rows]
    return RawBatch(
        capture=batch.capture,
        data=data,
        off=start,
        caplen=end - start,
        origlen=np.maximum(batch.origlen[rows] - (start - batch.off[rows]), 0),
        ts=batch.ts[rows],
        frame=batch.frame[rows],
        linktype=np.array(types, dtype=np.int64),
        seg=batch.seg,  # the outer frame's file (or range): flows order frames by it
    )


_GRE_C, _GRE_R, _GRE_K, _GRE_S, _GRE_A = 0x8000, 0x4000, 0x2000, 0x1000, 0x0080


def _gre(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(link type for the payload, payload offset) of a GRE packet (RFC 2784/2890, PPTP)."""
    if pos + 4 > end:
        return -UNREADABLE, end  # cut: an empty payload, counted as cut by the snaplen
    flags = int.from_bytes(data[pos : pos + 2], "big")
    ptype = int.from_bytes(data[pos + 2 : pos + 4], "big")
    version = flags & 0x7
    pos += 4
    if version == 1:  # enhanced GRE (PPTP, RFC 2637): key always, PPP payload
        if ptype != 0x880B or not flags & _GRE_K:
            return -UNREADABLE, pos
        length = int.from_bytes(data[pos : pos + 2], "big") if pos + 2 <= end else 0
        pos += 4 + (4 if flags & _GRE_S else 0) + (4 if flags & _GRE_A else 0)
        return (-PPP_FRAMED, pos) if length else (-NO_PAYLOAD, pos)  # an acknowledgement
    if version != 0 or flags & _GRE_R:  # source routing (RFC 1701) is not followed
        return -UNREADABLE, pos
    pos += sum(4 for bit in (_GRE_C, _GRE_K, _GRE_S) if flags & bit)
    if ptype == 0x6558:  # transparent Ethernet bridging
        return 1, pos
    if ptype == 0x88BE:  # ERSPAN: type II carries a sequence number and an 8-byte header
        return 1, pos + 8 if flags & _GRE_S else pos
    if ptype == 0x22EB:  # ERSPAN type III: 12 bytes, 8 more when the O flag is set
        if pos + 12 > end:
            return 1, end
        return 1, pos + 12 + (8 if data[pos + 11] & 0x01 else 0)
    return -ptype, pos
