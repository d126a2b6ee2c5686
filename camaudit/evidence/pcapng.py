"""A minimal pcapng writer: one section, one interface per link type, one EPB per frame.

pcapng rather than pcap because the frames may come from captures of different link
types (Ethernet, Linux SLL, PPP ...), which one pcap file cannot hold, and because each
packet can carry a comment naming the capture and frame it was copied from.
Timestamps are written in nanoseconds (``if_tsresol`` 9), which holds the stored time
of microsecond and nanosecond captures alike without rounding.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import BinaryIO

from camaudit.evidence.frames import CopiedFrame

__all__ = ["frame_comment", "write_pcapng"]

_SHB, _IDB, _EPB = 0x0A0D0D0A, 1, 6
_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_OPT_COMMENT, _OPT_END, _IF_TSRESOL = 1, 0, 9
_NANOSECONDS = b"\x09"
_UNKNOWN_LINKTYPE = 147  # LINKTYPE_USER0: a packet on an interface its capture never described


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad(value)


def _block(kind: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def frame_comment(frame: CopiedFrame) -> str:
    """The opt_comment of a copied packet: where it came from."""
    return f"camaudit evidence: {frame.capture} frame {frame.frame}"


def write_pcapng(handle: BinaryIO, frames: Iterable[CopiedFrame]) -> None:
    """Write ``frames`` in the given order; byte-identical output for identical input."""
    shb = struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1) + _option(
        _OPT_COMMENT, b"written by camaudit --evidence"
    )
    handle.write(_block(_SHB, shb + _option(_OPT_END, b"")))
    interfaces: dict[int, int] = {}
    for frame in frames:
        linktype = frame.linktype if frame.linktype >= 0 else _UNKNOWN_LINKTYPE
        if linktype not in interfaces:
            interfaces[linktype] = len(interfaces)
            options = _option(_IF_TSRESOL, _NANOSECONDS) + _option(_OPT_END, b"")
            handle.write(_block(_IDB, struct.pack("<HHI", linktype, 0, 0) + options))
        stamp = frame.timestamp_ns & 0xFFFF_FFFF_FFFF_FFFF  # two's complement before 1970
        body = struct.pack(
            "<IIIII",
            interfaces[linktype],
            stamp >> 32,
            stamp & 0xFFFF_FFFF,
            len(frame.data),
            frame.origlen,
        )
        comment = _option(_OPT_COMMENT, frame_comment(frame).encode("utf-8", "replace"))
        handle.write(_block(_EPB, body + _pad(frame.data) + comment + _option(_OPT_END, b"")))
