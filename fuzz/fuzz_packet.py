"""Frames of every supported link type through the Python decoder and the slow path.

The compiled pass decides which frames reach Python; this target hands the frames to
the decoder directly (link layers, VLAN/PPPoE/MPLS/LLC, IPv4 options and fragments,
IPv6 extension headers, TCP/UDP/ICMP, tunnels, ARP, DNS). The first byte picks the link
type; frames are separated by ``SEP`` so fragments can meet.
"""

from __future__ import annotations

from _harness import instrumented, main

with instrumented():
    import numpy as np

    from camaudit.traffic.capfile import SUPPORTED_LINKTYPES, RawBatch
    from camaudit.traffic.engine import _Run, summarise

LINKTYPES = sorted(SUPPORTED_LINKTYPES)
SEP = b"\x00FRAME\x00"


def batch(data: bytes) -> RawBatch:
    """The frames of ``data`` as one batch of link type ``LINKTYPES[data[0] % len]``."""
    linktype = LINKTYPES[data[0] % len(LINKTYPES)] if data else 1
    frames = data[1:].split(SEP)[:16]
    starts = np.cumsum([0] + [len(f) for f in frames[:-1]], dtype=np.int64)
    lengths = np.array([len(f) for f in frames], dtype=np.int64)
    n = len(frames)
    return RawBatch(
        capture="fuzz",
        data=b"".join(frames),
        off=starts,
        caplen=lengths,
        origlen=lengths,
        ts=np.arange(n, dtype=np.float64),
        frame=np.arange(1, n + 1, dtype=np.int64),
        linktype=np.full(n, linktype, dtype=np.int64),
    )


def one(data: bytes) -> None:
    run = _Run()
    run.feed(batch(data))
    run.close()
    summarise(run, [], [], [("fuzz", 0)])


if __name__ == "__main__":
    main(one)
