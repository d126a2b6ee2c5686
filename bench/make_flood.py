#!/usr/bin/env python3
"""Write a pcap of N distinct TCP flows (a SYN scan), to show that memory stays bounded.

One SYN per flow from a camera (10.66.0.21) to 203.0.113.0/24 (documentation range),
each with its own destination address, port and source port: N flows, N packets, 70
bytes a record. Written directly with numpy; nothing is sent anywhere. Checksums are
left zero (camaudit does not check them).

``--addresses``: a scan of N distinct destination *addresses* instead, over IPv6 from the
camera's fd66::21 to 2001:db8::/32 (documentation range): the i-th SYN goes to
2001:db8:0:(i mod 256)::(i div 256 + 1), port 443, so N addresses in 256 /64 networks;
90 bytes a record.

    python bench/make_flood.py bench/.cache/flood-5M.pcap --flows 5000000
    python bench/make_flood.py bench/.cache/scan-5M.pcap --flows 5000000 --addresses

``--answered`` (with ``--addresses``): every SYN is answered at once by a RST from its
target, so the capture holds N distinct *source* addresses too (2N packets).

``--conn``: the same scan of N addresses as a Zeek conn log (TSV) instead of a pcap, one
row a flow (an unanswered SYN, S0), for ``verify --zeek DIR`` (``OUT`` is the log, e.g.
``DIR/conn.log``).

    python bench/make_flood.py bench/.cache/zeek-scan/conn.log --flows 2000000 --conn

``--spoofed``: a SYN flood from N spoofed *source* addresses instead: the i-th SYN comes
from its own random-looking address in 2001:db8:8000::/33 (documentation range; the low 64
bits a bijection of i, so all N differ) to the camera's stand-in 2001:db8:66::21, port 554,
as a flood would arrive from the internet; 90 bytes a record. Past the flow, pair and
network limits its flows spill into one entry per protocol and address family.

    python bench/make_flood.py bench/.cache/spoofed-2M.pcap --flows 2000000 --spoofed

``--dns``: a DNS flood instead: N questions (A) from the camera to the site's resolver
10.66.0.1, from ports 20000-59999, each for a name of its own (``n0000000.flood.example``
...), none answered; 82 bytes a record.

    python bench/make_flood.py bench/.cache/dns-2M.pcap --flows 2000000 --dns
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

import numpy as np

FRAME = 54  # Ethernet 14 + IPv4 20 + TCP 20
FRAME6 = 74  # Ethernet 14 + IPv6 40 + TCP 20
BATCH = 1_000_000
CAMERA6 = bytes.fromhex("fd66" + "00" * 12 + "0021")  # fd66::21
NETWORKS6 = 256  # destination /64s of an --addresses scan
TARGET6 = bytes.fromhex("20010db8006600000000000000000021")  # 2001:db8:66::21 (--spoofed)
# Odd multipliers: i * odd mod 2**64 is a bijection, so every source differs.
SPREAD, SPREAD_NET = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9


def _headers(i: np.ndarray, frame: int, t0: int) -> np.ndarray:
    """Records of ``frame`` bytes each: pcap record header and Ethernet, gateway <- camera."""
    rec = np.zeros((len(i), 16 + frame), dtype=np.uint8)
    usec = i * 10  # 100 k packets/s
    hdr = rec[:, :16].view("<u4")
    hdr[:, 0] = t0 + usec // 1_000_000
    hdr[:, 1] = usec % 1_000_000
    hdr[:, 2] = frame
    hdr[:, 3] = frame
    f = rec[:, 16:]
    f[:, 0:6] = [0x02, 0, 0, 0, 0, 0x01]  # gateway
    f[:, 6:12] = [0xC0, 0x56, 0xE3, 0, 0, 0x21]  # the camera
    return rec


def _syn(tcp: np.ndarray, sport: np.ndarray, dport: np.ndarray | int) -> None:
    tcp[:, 0] = (sport >> 8).astype(np.uint8)
    tcp[:, 1] = (sport & 0xFF).astype(np.uint8)
    tcp[:, 2] = np.right_shift(dport, 8)
    tcp[:, 3] = np.bitwise_and(dport, 0xFF)
    tcp[:, 12] = 0x50
    tcp[:, 13] = 0x02  # SYN
    tcp[:, 14:16] = [0xFF, 0xFF]


def address_records(start: int, count: int, t0: int) -> bytes:
    """SYNs from fd66::21 to ``count`` distinct addresses in 2001:db8::/32, port 443."""
    i = np.arange(start, start + count, dtype=np.int64)
    rec = _headers(i, FRAME6, t0)
    f = rec[:, 16:]
    f[:, 12:14] = [0x86, 0xDD]
    f[:, 14] = 0x60
    f[:, 18:20] = [0, 20]  # payload length: the TCP header
    f[:, 20] = 6
    f[:, 21] = 64
    f[:, 22:38] = np.frombuffer(CAMERA6, dtype=np.uint8)
    f[:, 38:42] = [0x20, 0x01, 0x0D, 0xB8]
    f[:, 45] = (i % NETWORKS6).astype(np.uint8)  # 2001:db8:0:<net>::/64
    host = i // NETWORKS6 + 1
    for byte in range(4):  # the low 32 bits of the interface id
        f[:, 53 - byte] = ((host >> (8 * byte)) & 0xFF).astype(np.uint8)
    _syn(f[:, 54:], 1024 + i % 60000, 443)
    return rec.tobytes()


def spoofed_records(start: int, count: int, t0: int) -> bytes:
    """SYNs to 2001:db8:66::21 port 554, each from an address of its own in
    2001:db8:8000::/33 (the third group's top bit set: never the target's /64)."""
    i = np.arange(start, start + count, dtype=np.uint64)
    rec = _headers(i.astype(np.int64), FRAME6, t0)
    f = rec[:, 16:]
    f[:, 0:6], f[:, 6:12] = [0xC0, 0x56, 0xE3, 0, 0, 0x21], [0x02, 0, 0, 0, 0, 0x01]
    f[:, 12:14] = [0x86, 0xDD]
    f[:, 14] = 0x60
    f[:, 18:20] = [0, 20]
    f[:, 20] = 6
    f[:, 21] = 64
    low = i * np.uint64(SPREAD)  # wraps: mod 2**64
    net = (i * np.uint64(SPREAD_NET)) >> np.uint64(32)
    f[:, 22:26] = [0x20, 0x01, 0x0D, 0xB8]
    for byte in range(4):  # groups 3-4: the /64, third group's top bit set
        f[:, 29 - byte] = ((net >> np.uint64(8 * byte)) & np.uint64(0xFF)).astype(np.uint8)
    f[:, 26] |= 0x80
    for byte in range(8):  # the interface id: distinct per i
        f[:, 37 - byte] = ((low >> np.uint64(8 * byte)) & np.uint64(0xFF)).astype(np.uint8)
    f[:, 38:54] = np.frombuffer(TARGET6, dtype=np.uint8)
    sport = (1024 + i % np.uint64(60000)).astype(np.int64)
    _syn(f[:, 54:], sport, 554)
    return rec.tobytes()


def _ipv4(f: np.ndarray, frame: int, proto: int) -> None:
    """Ethernet type and IPv4 header of ``frame``-byte frames from the camera 10.66.0.21."""
    f[:, 12:14] = [0x08, 0x00]
    f[:, 14] = 0x45
    f[:, 16:18] = [0, frame - 14]
    f[:, 22] = 64
    f[:, 23] = proto
    f[:, 26:30] = [10, 66, 0, 21]


def answered_records(start: int, count: int, t0: int) -> bytes:
    """:func:`address_records`' SYNs, each answered at once by a RST from its target (as a
    closed port answers): N distinct source addresses, each seen with the gateway's MAC."""
    syn = np.frombuffer(address_records(start, count, t0), dtype=np.uint8)
    syn = syn.reshape(count, 16 + FRAME6)
    rst = syn.copy()
    f = rst[:, 16:]
    f[:, 0:6], f[:, 6:12] = syn[:, 22:28], syn[:, 16:22]  # MACs swapped
    f[:, 22:38], f[:, 38:54] = syn[:, 54:70], syn[:, 38:54]  # addresses swapped
    f[:, 54:56], f[:, 56:58] = syn[:, 72:74], syn[:, 70:72]  # ports swapped
    f[:, 62:66] = [0, 0, 0, 1]  # acknowledges the SYN
    f[:, 67] = 0x14  # RST, ACK
    rst[:, 4:8].view("<u4")[:, 0] += 5  # 5 us after its SYN
    both = np.empty((2 * count, 16 + FRAME6), dtype=np.uint8)
    both[0::2], both[1::2] = syn, rst
    return both.tobytes()


def records(start: int, count: int, t0: int) -> bytes:
    i = np.arange(start, start + count, dtype=np.int64)
    rec = _headers(i, FRAME, t0)
    f = rec[:, 16:]
    _ipv4(f, FRAME, 6)
    f[:, 30:33] = [203, 0, 113]
    f[:, 33] = (i % 254 + 1).astype(np.uint8)
    sport = 1024 + (i // 254) % 60000
    dport = 1 + (i // (254 * 60000)) % 65535
    _syn(f[:, 34:], sport, dport)
    return rec.tobytes()


CONN_FIELDS = (
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "duration",
    "conn_state",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
)


def conn_rows(start: int, count: int, t0: int) -> str:
    """Conn rows of :func:`address_records`' scan: fd66::21 to 2001:db8:0:<net>::<host>."""
    rows = []
    for i in range(start, start + count):
        usec = i * 10
        net, host = i % NETWORKS6, i // NETWORKS6 + 1
        # as Zeek writes it: the longest run of zero groups as "::"
        target = f"2001:db8:0:{net:x}::{host:x}" if net else f"2001:db8::{host:x}"
        rows.append(
            f"{t0 + usec // 1_000_000}.{usec % 1_000_000:06d}\tC{i:x}\tfd66::21\t"
            f"{1024 + i % 60000}\t{target}\t443\ttcp\t-\tS0\tS\t1\t80\t0\t0\n"
        )
    return "".join(rows)


def write_conn(out: Path, flows: int) -> None:
    with out.open("w") as handle:
        handle.write("#separator \\x09\n#fields\t" + "\t".join(CONN_FIELDS) + "\n")
        for start in range(0, flows, BATCH):
            handle.write(conn_rows(start, min(BATCH, flows - start), 1_700_000_000))


DNS_NAME = b"\x08n0000000\x05flood\x07example\x00"  # the 7 digits vary
DNS_FRAME = 14 + 20 + 8 + 12 + len(DNS_NAME) + 4


def dns_records(start: int, count: int, t0: int) -> bytes:
    """Questions from 10.66.0.21 to 10.66.0.1:53, each for its own name, DNS id = i."""
    i = np.arange(start, start + count, dtype=np.int64)
    rec = _headers(i, DNS_FRAME, t0)
    f = rec[:, 16:]
    _ipv4(f, DNS_FRAME, 17)
    f[:, 30:34] = [10, 66, 0, 1]
    sport = 20000 + i % 40000  # clear of the ports names are read from (1900, 5353)
    f[:, 34] = (sport >> 8).astype(np.uint8)
    f[:, 35] = (sport & 0xFF).astype(np.uint8)
    f[:, 36:38] = [0, 53]
    f[:, 38:40] = [0, DNS_FRAME - 34]
    f[:, 42] = ((i >> 8) & 0xFF).astype(np.uint8)  # DNS id
    f[:, 43] = (i & 0xFF).astype(np.uint8)
    f[:, 44:46] = [0x01, 0x00]  # a standard query, recursion desired
    f[:, 46:48] = [0, 1]  # one question
    name = 54
    f[:, name : name + len(DNS_NAME)] = np.frombuffer(DNS_NAME, dtype=np.uint8)
    for digit in range(7):
        f[:, name + 8 - digit] = (48 + (i // 10**digit) % 10).astype(np.uint8)
    f[:, name + len(DNS_NAME) : name + len(DNS_NAME) + 4] = [0, 1, 0, 1]  # A, IN
    return rec.tobytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--flows", type=int, default=5_000_000)
    parser.add_argument(
        "--addresses",
        action="store_true",
        help="each flow to its own IPv6 address in 2001:db8::/32 (a scan of N addresses)",
    )
    parser.add_argument(
        "--conn",
        action="store_true",
        help="the --addresses scan as a Zeek conn log (TSV), not a pcap",
    )
    parser.add_argument(
        "--answered",
        action="store_true",
        help="with --addresses: every target answers with a RST (N source addresses)",
    )
    parser.add_argument(
        "--spoofed",
        action="store_true",
        help="N SYNs to 2001:db8:66::21, each from its own spoofed address in 2001:db8::/32",
    )
    parser.add_argument(
        "--dns", action="store_true", help="N DNS questions, each for a name of its own"
    )
    args = parser.parse_args()
    make = dns_records if args.dns else address_records if args.addresses else records
    if args.spoofed:
        make = spoofed_records
    if args.answered:
        make = answered_records
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.conn:
        write_conn(args.out, args.flows)
        print(f"{args.out}: {args.flows:,} conn rows, {args.out.stat().st_size:,} bytes")
        return
    with args.out.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for start in range(0, args.flows, BATCH):
            out.write(make(start, min(BATCH, args.flows - start), 1_700_000_000))
    print(f"{args.out}: {args.flows:,} flows, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
