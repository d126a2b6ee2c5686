"""Which frames stand behind the findings, and copying them out of the captures.

A finding's :class:`~camaudit.model.Evidence` cites frame numbers; for a flow it cites
only the first and last frame, with a display filter that shows all of them. An auditor
wants the whole conversation, so every frame of a cited flow is taken too. The frames
of a flow are found with camaudit's own decoder (the same one that built the flow), and
their number is checked against the flow's packet counts: a shortfall is reported,
never hidden.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from camaudit.model import Evidence, Finding, Flow
from camaudit.policy.evaluate import flow_evidence, flow_filter
from camaudit.traffic import decode as d
from camaudit.traffic.capfile import CaptureFile, RawBatch
from camaudit.traffic.slowpath import SlowPath, address

__all__ = ["CopiedFrame", "FlowKey", "Selection", "copy_frames", "select"]

_PROTO_NUMBERS = {"tcp": d.TCP, "udp": d.UDP, "icmp": d.ICMP, "icmpv6": d.ICMPV6}
_MAX_TUNNELS = 4  # as deep as the traffic engine unwraps

FlowKey = tuple[int, frozenset[tuple[str, int]]]


def flow_key(flow: Flow) -> FlowKey:
    """Protocol number and the two (address, port) ends, without direction."""
    number = _PROTO_NUMBERS.get(flow.proto)
    if number is None:
        number = int(flow.proto.removeprefix("ip-"))
    return number, frozenset({(flow.orig, flow.orig_port), (flow.resp, flow.resp_port)})


@dataclass(frozen=True)
class Selection:
    """What to copy: frame numbers per capture, and the flows whose frames are wanted."""

    frames: dict[str, frozenset[int]]
    flows: dict[FlowKey, Flow]


def select(findings: Iterable[Finding], flows: Iterable[Flow]) -> Selection:
    """Every frame any finding cites, and every flow a finding cites by its filter."""
    by_evidence: dict[Evidence, Flow] = {}
    for flow in flows:
        for item in flow_evidence(flow):
            if item.display_filter == flow_filter(flow):
                by_evidence[item] = flow
    cited: dict[str, set[int]] = {}
    wanted: dict[FlowKey, Flow] = {}
    for finding in findings:
        for item in finding.evidence:
            cited.setdefault(item.capture, set()).update(item.frames)
            cited_flow = by_evidence.get(item)
            if cited_flow is not None:
                wanted[flow_key(cited_flow)] = cited_flow
    return Selection({k: frozenset(v) for k, v in cited.items()}, wanted)


@dataclass(frozen=True)
class CopiedFrame:
    """One record of a capture, exactly as stored there."""

    capture: str
    frame: int
    linktype: int
    timestamp_ns: int  # as stored in the capture, in nanoseconds
    origlen: int
    data: bytes


def _fits(candidate_ns: int, seconds: float) -> bool:
    # the reader's float carries ~0.24 us of rounding at today's epoch times
    return abs(candidate_ns / 1e9 - seconds) < 1e-6


def stored_time_ns(batch: RawBatch, i: int, file_format: str) -> int:
    """The packet's timestamp as the capture stores it, exact to the nanosecond.

    The reader hands out a float (sub-microsecond digits lost); the record header still
    holds the stored integer. Its byte order and resolution are the ones under which the
    header agrees with the reader (captured length, and the float time); when none does
    (an ``if_tsoffset``, a binary ``if_tsresol``), the reader's time is used.
    """
    data, off = batch.data, int(batch.off[i])
    caplen, seconds = int(batch.caplen[i]), float(batch.ts[i])
    header = 16 if file_format == "pcap" else 28  # record header / EPB fields before the data
    for order in ("<", ">"):
        if off < header or struct.unpack_from(order + "I", data, off - 8)[0] != caplen:
            continue
        if file_format == "pcap":
            sec, frac = (int(x) for x in struct.unpack_from(order + "II", data, off - 16))
            candidates: tuple[int, ...] = (sec * 10**9 + frac * 1000, sec * 10**9 + frac)
        else:
            high, low = (int(x) for x in struct.unpack_from(order + "II", data, off - 16))
            raw = (high << 32) | low
            candidates = tuple(
                raw * 10 ** (9 - k) if k <= 9 else raw // 10 ** (k - 9) for k in (6, 9, 0, 3, 12)
            )
        for candidate in candidates:
            if _fits(candidate, seconds):
                return candidate
    return round(seconds * 1e9)


def _flow_rows(
    batch: RawBatch, keys: dict[FlowKey, Flow], slow: SlowPath, depth: int = 0
) -> Iterator[tuple[int, FlowKey]]:
    """(frame number, flow key) for every packet of ``batch`` that belongs to a wanted flow."""
    cols, raw = d.decode(batch)
    slow.finish(batch, cols, raw)
    protos = {key[0] for key in keys}
    rows = np.nonzero((cols.status == d.OK) & np.isin(cols.proto, list(protos)))[0]
    for row in rows.tolist():
        src = (address(int(cols.src_hi[row]), int(cols.src_lo[row])), int(cols.sport[row]))
        dst = (address(int(cols.dst_hi[row]), int(cols.dst_lo[row])), int(cols.dport[row]))
        key = (int(cols.proto[row]), frozenset({src, dst}))
        if key in keys:
            yield int(batch.frame[row]), key
    inner = d.tunnel_payloads(batch, cols)
    if inner is not None and depth < _MAX_TUNNELS:
        yield from _flow_rows(inner, keys, slow, depth + 1)


def copy_frames(
    path: Path,
    display: str,
    cited: frozenset[int],
    flows: dict[FlowKey, Flow],
    found: dict[FlowKey, int],
) -> Iterator[CopiedFrame]:
    """The cited frames of one capture plus every frame of ``flows`` in it, in file order.

    Streams (a cited flow may be a long video stream); counts each flow's frames into
    ``found``.
    """
    slow = SlowPath()
    capture = CaptureFile(path, display)
    try:
        for batch in capture.batches():
            wanted = {f for f in batch.frame.tolist() if f in cited}
            if flows:
                for frame, key in _flow_rows(batch, flows, slow):
                    wanted.add(frame)
                    found[key] = found.get(key, 0) + 1
            first = int(batch.frame[0]) if len(batch) else 0
            for frame in sorted(wanted):
                i = frame - first
                start = int(batch.off[i])
                yield CopiedFrame(
                    capture=display,
                    frame=frame,
                    linktype=int(batch.linktype[i]),
                    timestamp_ns=stored_time_ns(batch, i, capture.format),
                    origlen=int(batch.origlen[i]),
                    data=bytes(batch.data[start : start + int(batch.caplen[i])]),
                )
    finally:
        capture.close()
