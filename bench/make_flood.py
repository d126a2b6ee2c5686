#!/usr/bin/env python3
"""Write a pcap of N distinct TCP flows (a SYN scan), to show that memory stays bounded.

One SYN per flow from a camera (10.66.0.21) to 203.0.113.0/24 (documentation range),
each with its own destination address, port and source port: N flows, N packets, 70
bytes a record. Written directly with numpy; nothing is sent anywhere. Checksums are
left zero (camaudit does not check them).

    python bench/make_flood.py bench/.cache/flood-5M.pcap --flows 5000000
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path

import numpy as np

FRAME = 54  # Ethernet 14 + IPv4 20 + TCP 20
RECORD = 16 + FRAME
BATCH = 1_000_000


def records(start: int, count: int, t0: int) -> bytes:
    i = np.arange(start, start + count, dtype=np.int64)
    rec = np.zeros((count, RECORD), dtype=np.uint8)
    usec = i * 10  # 100 k packets/s
    hdr = rec[:, :16].view("<u4")
    hdr[:, 0] = t0 + usec // 1_000_000
    hdr[:, 1] = usec % 1_000_000
    hdr[:, 2] = FRAME
    hdr[:, 3] = FRAME
    f = rec[:, 16:]
    f[:, 0:6] = [0x02, 0, 0, 0, 0, 0x01]  # gateway
    f[:, 6:12] = [0xC0, 0x56, 0xE3, 0, 0, 0x21]  # the camera
    f[:, 12:14] = [0x08, 0x00]
    f[:, 14] = 0x45
    f[:, 16:18] = [0, 40]
    f[:, 22] = 64
    f[:, 23] = 6
    f[:, 26:30] = [10, 66, 0, 21]
    f[:, 30:33] = [203, 0, 113]
    f[:, 33] = (i % 254 + 1).astype(np.uint8)
    sport = 1024 + (i // 254) % 60000
    dport = 1 + (i // (254 * 60000)) % 65535
    f[:, 34] = (sport >> 8).astype(np.uint8)
    f[:, 35] = (sport & 0xFF).astype(np.uint8)
    f[:, 36] = (dport >> 8).astype(np.uint8)
    f[:, 37] = (dport & 0xFF).astype(np.uint8)
    f[:, 46] = 0x50
    f[:, 47] = 0x02  # SYN
    f[:, 48:50] = [0xFF, 0xFF]
    return rec.tobytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--flows", type=int, default=5_000_000)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for start in range(0, args.flows, BATCH):
            out.write(records(start, min(BATCH, args.flows - start), 1_700_000_000))
    print(f"{args.out}: {args.flows:,} flows, {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
