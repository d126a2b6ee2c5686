"""Inputs the fuzzers (fuzz/) found crashing a reader, each kept as the spec it broke."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from camaudit.traffic import decode
from camaudit.traffic.capfile import RawBatch
from camaudit.traffic.engine import analyse
from tests.captures import eth, tcp, write_pcap


def test_capture_whose_handed_over_frames_hold_no_bytes_reads_as_cut_frames(
    tmp_path: Path,
) -> None:
    # fuzz_pcap: a record with caplen 0 is handed to Python with no bytes at all; the
    # compiled pass gave None for the empty buffer and the decoder indexed into nothing.
    whole = eth(tcp("10.66.0.10", "192.0.2.1", 40000, 443, "S"))
    capture = write_pcap(tmp_path / "empty-frame.pcap", [(1.0, whole)], snaplen=0)
    summary = analyse([capture])
    assert [p.code for p in summary.problems if p.code == "snaplen"] == ["snaplen"]


def test_batch_of_empty_frames_decodes_as_short() -> None:
    # fuzz_packet: the same batch handed straight to the decoder
    n = 2
    zeros = np.zeros(n, dtype=np.int64)
    batch = RawBatch(
        "fuzz", b"", zeros, zeros, zeros, np.zeros(n), np.arange(1, n + 1), np.ones(n, np.int64)
    )
    cols, _ = decode.decode(batch)
    assert cols.status.tolist() == [decode.SHORT, decode.SHORT]
