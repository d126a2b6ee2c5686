"""Packets the vectorised decoder leaves for one-by-one handling.

IPv4 and IPv6 fragments (later fragments take the ports of the first one),
IPv6 extension-header chains, and ICMP errors, whose quoted header names the
flow they answer.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from camaudit.addresses import ipv4_text, ipv6_text
from camaudit.model import FrameRef
from camaudit.traffic._lazy import LazyModule
from camaudit.traffic.capfile import RawBatch

if TYPE_CHECKING:
    import numpy as np

    from camaudit.traffic import decode as d
else:
    # numpy comes with the decoder, on the first frame the compiled pass hands over.
    d = LazyModule("camaudit.traffic.decode")
    np = LazyModule("numpy")


@dataclass(frozen=True)
class IcmpError:
    """An ICMP error and the flow (as sent by its originator) that it quotes."""

    where: FrameRef
    sender: str
    kind: str  # e.g. "icmp 3/3 port unreachable"
    inner_key: tuple[int, int, int, int, int, int, int]  # canonical flow key, see flows.py


# The errors a flow's ICMP (or ICMPv6) answer can name, by (protocol, type, code).
_ICMP_ERROR_NAMES = {
    ("icmp", 3, 0): "net unreachable",
    ("icmp", 3, 1): "host unreachable",
    ("icmp", 3, 2): "protocol unreachable",
    ("icmp", 3, 3): "port unreachable",
    ("icmp", 3, 9): "net prohibited",
    ("icmp", 3, 10): "host prohibited",
    ("icmp", 3, 13): "administratively prohibited",
    ("icmp", 11, 0): "TTL exceeded",
    ("icmpv6", 1, 0): "no route",
    ("icmpv6", 1, 1): "administratively prohibited",
    ("icmpv6", 1, 3): "address unreachable",
    ("icmpv6", 1, 4): "port unreachable",
    ("icmpv6", 1, 5): "source address failed policy",
    ("icmpv6", 1, 6): "reject route",
    ("icmpv6", 3, 0): "hop limit exceeded",
}


def canonical_key(
    proto: int, s_hi: int, s_lo: int, sport: int, d_hi: int, d_lo: int, dport: int
) -> tuple[tuple[int, int, int, int, int, int, int], int]:
    """The direction-free flow key and the direction (0: as given, 1: reversed)."""
    if (s_hi, s_lo, sport) <= (d_hi, d_lo, dport):
        return (proto, s_hi, s_lo, sport, d_hi, d_lo, dport), 0
    return (proto, d_hi, d_lo, dport, s_hi, s_lo, sport), 1


@lru_cache(maxsize=65536)
def address(hi: int, lo: int) -> str:
    """Text form of an address stored as two 64-bit halves (IPv4 is v4-mapped)."""
    if hi == 0 and (lo >> 32) == 0xFFFF:
        return ipv4_text(lo & 0xFFFF_FFFF)
    return ipv6_text((hi << 64) | lo)


@dataclass
class SlowPath:
    """State that outlives a batch: fragment ports, ICMP errors, counters."""

    fragments: dict[tuple[int, int, int, int, int, int], tuple[int, int]] = field(
        default_factory=dict
    )
    icmp_errors: list[IcmpError] = field(default_factory=list)
    orphan_fragments: int = 0

    def finish(self, batch: RawBatch, cols: d.Columns, b: d._Bytes) -> None:
        """Complete every ``SLOW`` row, then record every ``ICMP_ERROR`` row."""
        end = batch.off + batch.caplen
        for row in np.nonzero(cols.status == d.SLOW)[0].tolist():
            if cols.v6[row]:
                self._ipv6_chain(batch.data, cols, b, end, row)
            else:
                self._ipv4_fragment(batch.data, cols, b, end, row)
        for row in np.nonzero(cols.status == d.ICMP_ERROR)[0].tolist():
            self._icmp_error(batch, cols, row)

    def _fragment(
        self,
        cols: d.Columns,
        b: d._Bytes,
        end: np.ndarray,
        row: int,
        ident: int,
        offset: int,
    ) -> None:
        key = (
            int(cols.src_hi[row]),
            int(cols.src_lo[row]),
            int(cols.dst_hi[row]),
            int(cols.dst_lo[row]),
            int(cols.proto[row]),
            ident,
        )
        rows = np.array([row], dtype=np.int64)
        if offset == 0:
            cols.status[row] = d.OK
            d.transport(b, cols, end, rows)
            self.fragments[key] = (int(cols.sport[row]), int(cols.dport[row]))
            return
        ports = self.fragments.get(key)
        if ports is None:
            self.orphan_fragments += 1
            ports = (0, 0)
        cols.sport[row], cols.dport[row] = ports
        cols.flags[row] = 0
        cols.pay_cap[row] = 0
        cols.pay_len[row] = max(int(cols.pay_len[row]) - int(cols.l4[row]), 0)
        cols.l4[row] = -1  # no transport (or tunnel) header here: only the first has one
        cols.status[row] = d.OK

    def _ipv4_fragment(
        self, data: bytes, cols: d.Columns, b: d._Bytes, end: np.ndarray, row: int
    ) -> None:
        l3 = int(cols.l3[row])
        ident, frag = struct.unpack_from("!HH", data, l3 + 4)
        self._fragment(cols, b, end, row, ident, (frag & 0x1FFF) * 8)

    def _ipv6_chain(
        self, data: bytes, cols: d.Columns, b: d._Bytes, end: np.ndarray, row: int
    ) -> None:
        pos = int(cols.l3[row]) + 40
        nxt = int(cols.proto[row])
        limit = int(end[row])
        ident, offset = -1, 0
        while nxt in (0, 43, 44, 51, 60):
            if pos + 8 > limit:
                cols.status[row] = d.SHORT
                return
            if nxt == 44:
                frag, ident = struct.unpack_from("!HI", data, pos + 2)
                offset = frag & 0xFFF8
                nxt, pos = data[pos], pos + 8
            elif nxt == 51:
                nxt, pos = data[pos], pos + (data[pos + 1] + 2) * 4
            else:
                nxt, pos = data[pos], pos + (data[pos + 1] + 1) * 8
        cols.proto[row], cols.l4[row] = nxt, pos
        if ident >= 0:
            self._fragment(cols, b, end, row, ident, offset)
            return
        cols.status[row] = d.OK
        d.transport(b, cols, end, np.array([row], dtype=np.int64))

    def _icmp_error(self, batch: RawBatch, cols: d.Columns, row: int) -> None:
        data = batch.data
        l4 = int(cols.l4[row])
        limit = int(batch.off[row] + batch.caplen[row])
        itype, icode = data[l4], data[l4 + 1]
        proto = "icmpv6" if cols.v6[row] else "icmp"
        kind = f"{proto} {itype}/{icode} {_ICMP_ERROR_NAMES.get((proto, itype, icode), 'error')}"
        inner = _quoted_flow(data, l4 + 8, limit)
        cols.status[row] = d.OK  # the error itself is also a (one-way) ICMP flow
        if inner is None:
            return
        key, _ = canonical_key(*inner)
        self.icmp_errors.append(
            IcmpError(
                where=FrameRef(batch.capture, int(batch.frame[row]), float(batch.ts[row])),
                sender=address(int(cols.src_hi[row]), int(cols.src_lo[row])),
                kind=kind,
                inner_key=key,
            )
        )


def _quoted_flow(
    data: bytes, pos: int, limit: int
) -> tuple[int, int, int, int, int, int, int] | None:
    """(proto, src_hi, src_lo, sport, dst_hi, dst_lo, dport) of the packet an ICMP error quotes."""
    if pos + 20 > limit:
        return None
    version = data[pos] >> 4
    if version == 4:
        ihl = (data[pos] & 0x0F) * 4
        proto = data[pos + 9]
        src = int.from_bytes(data[pos + 12 : pos + 16], "big") | 0xFFFF_0000_0000
        dst = int.from_bytes(data[pos + 16 : pos + 20], "big") | 0xFFFF_0000_0000
        s_hi = d_hi = 0
        l4 = pos + ihl
    elif version == 6 and pos + 40 <= limit:
        proto = data[pos + 6]
        s_hi, src = struct.unpack_from("!QQ", data, pos + 8)
        d_hi, dst = struct.unpack_from("!QQ", data, pos + 24)
        l4 = pos + 40
    else:
        return None
    sport = dport = 0
    if proto in (d.TCP, d.UDP) and l4 + 4 <= limit:
        sport, dport = struct.unpack_from("!HH", data, l4)
    elif proto in (d.ICMP, d.ICMPV6) and l4 + 2 <= limit:
        itype = data[l4]
        table = d.ICMP6_COUNTERPART if proto == d.ICMPV6 else d.ICMP4_COUNTERPART
        pair = int(table[itype])
        sport, dport = itype, pair if pair >= 0 else data[l4 + 1]
    return proto, s_hi, src, sport, d_hi, dst, dport
