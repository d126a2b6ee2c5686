"""Writers for small synthetic captures used by unit tests of the readers and the state machine.

The stored lab captures in ``pcaps/`` are the real evidence; these files exercise
encodings and corner cases (byte order, resolutions, link types, damage) that a
test must control byte by byte. Frames are crafted with scapy.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Sequence
from pathlib import Path

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

CAM = "10.66.0.21"
NVR = "10.66.0.10"
GW = "10.66.0.1"
OUT = "203.0.113.5"
CAM_MAC = "c0:56:e3:00:00:21"  # a Hikvision OUI
GW_MAC = "02:00:00:00:00:01"

Frame = tuple[float, bytes]


def eth(pkt: Packet, src: str = CAM_MAC, dst: str = GW_MAC) -> bytes:
    return bytes(Ether(src=src, dst=dst) / pkt)


def tcp(src: str, dst: str, sport: int, dport: int, flags: str, payload: bytes = b"") -> Packet:
    layer = IPv6 if ":" in src else IP
    return layer(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags) / payload


def one_side_of_a_connection(
    src: str, dst: str, sport: int, dport: int, data: bytes
) -> list[bytes]:
    """SYN, ACK and a data segment from ``src`` only: the other side was not captured."""
    return [
        eth(tcp(src, dst, sport, dport, flags, b"" if flags != "PA" else data))
        for flags in ("S", "A", "PA")
    ]


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes = b"") -> Packet:
    layer = IPv6 if ":" in src else IP
    return layer(src=src, dst=dst) / UDP(sport=sport, dport=dport) / payload


def icmp(src: str, dst: str, type_: int, code: int = 0, inner: Packet | None = None) -> Packet:
    pkt = IP(src=src, dst=dst) / ICMP(type=type_, code=code)
    return pkt / bytes(inner)[:28] if inner is not None else pkt


def write_pcap(
    path: Path,
    frames: Sequence[Frame],
    linktype: int = 1,
    order: str = "<",
    nano: bool = False,
    snaplen: int = 65535,
    compress: bool = False,
) -> Path:
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    scale = 1_000_000_000 if nano else 1_000_000
    out = bytearray(struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    for ts, data in frames:
        sec = int(ts)
        frac = round((ts - sec) * scale)
        cap = data[:snaplen]
        out += struct.pack(order + "IIII", sec, frac, len(cap), len(data)) + cap
    raw = bytes(out)
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def _block(kind: int, body: bytes, order: str = "<") -> bytes:
    pad = (-len(body)) % 4
    total = 12 + len(body) + pad
    return (
        struct.pack(order + "II", kind, total)
        + body
        + b"\0" * pad
        + struct.pack(order + "I", total)
    )


def _option(code: int, value: bytes, order: str = "<") -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * ((-len(value)) % 4)


def write_pcapng(
    path: Path,
    interfaces: Sequence[tuple[int, int]],
    packets: Sequence[tuple[int, float, bytes]],
    order: str = "<",
    extra_blocks: Sequence[bytes] = (),
) -> Path:
    """``interfaces``: (linktype, tsresol exponent of ten); ``packets``: (iface, ts, bytes)."""
    out = bytearray(_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order))
    for linktype, resol in interfaces:
        opts = _option(9, bytes([resol]), order) + _option(0, b"", order)
        out += _block(1, struct.pack(order + "HHI", linktype, 0, 65535) + opts, order)
    for iface, ts, data in packets:
        units = round(ts * 10 ** interfaces[iface][1])
        body = (
            struct.pack(
                order + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), len(data)
            )
            + data
            + b"\0" * ((-len(data)) % 4)
        )
        out += _block(6, body, order)
    for block in extra_blocks:
        out += block
    path.write_bytes(bytes(out))
    return path


def simple_block(data: bytes, order: str = "<") -> bytes:
    """A pcapng Simple Packet Block."""
    return _block(3, struct.pack(order + "I", len(data)) + data + b"\0" * ((-len(data)) % 4), order)
