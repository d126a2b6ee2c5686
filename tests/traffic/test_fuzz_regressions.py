"""Inputs the fuzzers (fuzz/) found crashing a reader, each kept as the spec it broke."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from camaudit.traffic import decode
from camaudit.traffic.capfile import RawBatch
from camaudit.traffic.engine import analyse
from camaudit.traffic.zeek import analyse_zeek
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


_CONN_HEAD = (
    "#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\t"
    "id.resp_p\tproto\tduration\torig_pkts\tresp_pkts\torig_bytes\tresp_bytes\tconn_state\n"
)


@pytest.mark.parametrize(("duration", "port"), [("0.ato0", "443"), ("1.5", "inf")])
def test_conn_log_row_with_a_field_that_is_no_number_still_gives_its_flow(
    tmp_path: Path, duration: str, port: str
) -> None:
    # fuzz_zeek: float("0.ato0") and int(float("inf")) ended the whole analysis
    fields = ["1700000000.0", "C1", "10.66.0.21", "40000", "203.0.113.5", port, "tcp", duration]
    row = "\t".join([*fields, "1", "0", "60", "0", "S0"]) + "\n"
    (tmp_path / "conn.log").write_text(_CONN_HEAD + row)
    (flow,) = analyse_zeek([tmp_path]).flows
    assert (flow.orig, flow.resp) == ("10.66.0.21", "203.0.113.5")


def test_gzip_capture_whose_crc_fails_on_the_header_read_is_damaged_input(tmp_path: Path) -> None:
    # fuzz_pcap: a gzip'd capture whose data ends inside the file header reaches the end of
    # the gzip member on the header read, where gzip checks the CRC; the BadGzipFile it
    # raised there was no camaudit error (a traceback)
    import gzip

    from camaudit.errors import InputError

    pcap = write_pcap(tmp_path / "empty.pcap", []).read_bytes()
    packed = bytearray(gzip.compress(pcap[:10]))
    packed[-8] ^= 0xFF  # the trailer's CRC-32
    damaged = tmp_path / "crc.pcap.gz"
    damaged.write_bytes(bytes(packed))
    with pytest.raises(InputError, match="damaged gzip data: CRC check failed"):
        analyse([damaged])


@pytest.mark.parametrize("kind", [3, 6, 2, 1, 5])
def test_block_too_short_for_its_own_fields_stops_the_file_as_corrupt(
    tmp_path: Path, kind: int
) -> None:
    # fuzz_pcap: a 12-byte Simple Packet Block (no room for its original length) gave a
    # negative captured length that the compiled pass refused with a ValueError, and a
    # 12-byte Enhanced / obsolete Packet Block read its fields past the block (struct.error
    # at the end of the file); so did an Interface Description Block (and would a Statistics
    # Block). Such a block is an impossible length: reading stops there.
    import struct

    from tests.captures import write_pcapng

    frame = eth(tcp("10.66.0.10", "192.0.2.1", 40000, 443, "S"))
    empty_block = struct.pack("<III", kind, 12, 12)
    capture = write_pcapng(
        tmp_path / "short.pcapng", [(1, 6)], [(0, 1.0, frame)], extra_blocks=[empty_block]
    )
    (read,) = analyse([capture]).inputs
    assert read.packets == 1
    (corrupt,) = [p for p in read.problems if p.code == "corrupt"]
    assert "impossible length 12; the rest of the file was not read" in corrupt.message
