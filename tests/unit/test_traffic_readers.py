"""Capture formats: every encoding the readers promise, read to the same packets."""

from __future__ import annotations

from pathlib import Path

import pytest

from camaudit.errors import InputError
from camaudit.traffic.engine import analyse
from tests.captures import (
    CAM,
    OUT,
    eth,
    simple_block,
    tcp,
    udp,
    write_pcap,
    write_pcapng,
)

T0 = 1_700_000_000.25


def _syn_exchange() -> list[tuple[float, bytes]]:
    return [
        (T0, eth(tcp(CAM, OUT, 40000, 443, "S"))),
        (T0 + 1, eth(tcp(CAM, OUT, 40000, 443, "S"))),
        (T0 + 3, eth(tcp(CAM, OUT, 40000, 443, "S"))),
    ]


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_in_both_byte_orders_and_resolutions_reads_the_same(
    tmp_path: Path, order: str, nano: bool
) -> None:
    path = write_pcap(tmp_path / "a.pcap", _syn_exchange(), order=order, nano=nano)
    summary = analyse([path])
    (flow,) = summary.flows
    assert (flow.orig, flow.resp, flow.resp_port, flow.orig_packets) == (CAM, OUT, 443, 3)
    assert flow.first.frame == 1 and flow.last.frame == 3
    assert flow.first.time == pytest.approx(T0, abs=1e-6)
    assert summary.inputs[0].format == "pcap"


def test_gzip_capture_is_read_and_hashed_as_stored(tmp_path: Path) -> None:
    import hashlib

    path = write_pcap(tmp_path / "a.pcap.gz", _syn_exchange(), compress=True)
    summary = analyse([path])
    assert summary.inputs[0].compression == "gzip"
    assert summary.inputs[0].sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary.flows[0].orig_packets == 3


def test_pcapng_interfaces_keep_their_own_link_type_and_resolution(tmp_path: Path) -> None:
    raw_ip = bytes(udp(CAM, OUT, 5000, 8800, b"DHGET /probe/p2psrv HTTP/1.1\r\n"))
    reply = eth(
        udp(OUT, CAM, 8800, 5000, b"HTTP/1.1 200 OK\r\n"),
        src="02:00:00:00:00:01",
        dst="c0:56:e3:00:00:21",
    )
    path = write_pcapng(
        tmp_path / "two.pcapng",
        interfaces=[(101, 9), (1, 6)],  # raw IP in ns, Ethernet in µs
        packets=[(0, T0, raw_ip), (1, T0 + 0.5, reply)],
    )
    summary = analyse([path])
    (flow,) = summary.flows
    assert flow.category.value == "two_way"
    assert (flow.first.frame, flow.last.frame) == (1, 2)
    assert flow.first.time == pytest.approx(T0, abs=1e-6)
    assert flow.last.time == pytest.approx(T0 + 0.5, abs=1e-6)
    assert summary.inputs[0].link_types == ("ETHERNET", "RAW")


def test_pcapng_simple_packet_blocks_are_numbered_like_other_frames(tmp_path: Path) -> None:
    frame = eth(tcp(CAM, OUT, 40001, 8666, "S"))
    path = write_pcapng(
        tmp_path / "spb.pcapng", [(1, 6)], [(0, T0, frame)], extra_blocks=[simple_block(frame)]
    )
    summary = analyse([path])
    assert summary.inputs[0].packets == 2
    assert summary.flows[0].orig_packets == 2


def test_flows_span_files_and_files_are_read_in_time_order(tmp_path: Path) -> None:
    frames = _syn_exchange()
    late = write_pcap(tmp_path / "a-late.pcap", frames[2:])
    early = write_pcap(tmp_path / "b-early.pcap", frames[:2])
    summary = analyse([late, early])
    (flow,) = summary.flows
    assert flow.orig_packets == 3
    assert (flow.first.capture, flow.first.frame) == (str(early), 1)
    assert (flow.last.capture, flow.last.frame) == (str(late), 1)
    assert [i.path for i in summary.inputs] == [str(early), str(late)]


def test_directory_is_searched_and_non_captures_are_reported_not_dropped(tmp_path: Path) -> None:
    write_pcap(tmp_path / "one.pcap", _syn_exchange())
    (tmp_path / "notes.txt").write_text("not a capture")
    summary = analyse([tmp_path])
    assert summary.flows[0].orig_packets == 3
    (problem,) = [p for p in summary.problems if p.code == "skipped_files"]
    assert "notes.txt" in problem.message


def test_truncated_last_record_keeps_the_packets_before_it(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "cut.pcap", _syn_exchange())
    path.write_bytes(path.read_bytes()[:-10])
    summary = analyse([path])
    assert summary.flows[0].orig_packets == 2
    assert [p.code for p in summary.inputs[0].problems] == ["truncated"]


def test_snaplen_cut_headers_are_counted_as_a_problem(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "snap.pcap", _syn_exchange(), snaplen=30)
    summary = analyse([path])
    assert summary.flows == ()
    assert [(p.code, p.count) for p in summary.problems] == [("snaplen", 3)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello world, not a capture at all", "not a pcap or pcapng capture"),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "file header is cut short"),
        (b"\x1f\x8b\x08\x00garbage", "damaged gzip data"),
    ],
)
def test_unreadable_input_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        analyse([path])


def test_unknown_link_type_for_the_whole_file_is_an_input_error(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "weird.pcap", _syn_exchange(), linktype=147)
    with pytest.raises(InputError, match="LINKTYPE_147 is not supported"):
        analyse([path])


def test_missing_path_and_empty_directory_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        analyse([tmp_path / "nope.pcap"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no pcap"):
        analyse([tmp_path / "empty"])


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        # root may open anything; a file whose read fails stands in for a locked one.
        path = Path("/proc/self/mem")
    else:
        path = write_pcap(tmp_path / "locked.pcap", _syn_exchange())
        path.chmod(0)
    with pytest.raises(InputError, match="cannot read"):
        analyse([path])


def test_corrupt_record_length_stops_the_file_with_a_problem(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "corrupt.pcap", _syn_exchange())
    data = bytearray(path.read_bytes())
    second = 24 + 16 + len(_syn_exchange()[0][1])
    data[second + 8 : second + 12] = (50_000_000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    summary = analyse([path])
    assert summary.flows[0].orig_packets == 1
    assert [p.code for p in summary.inputs[0].problems] == ["corrupt"]


def test_pcapng_obsolete_packet_blocks_and_drop_counts_are_read(tmp_path: Path) -> None:
    import struct

    from tests.captures import _block

    frame = eth(tcp(CAM, OUT, 40002, 8666, "S"))
    units = round(T0 * 1e6)
    body = struct.pack("<HHIIII", 0, 5, units >> 32, units & 0xFFFFFFFF, len(frame), len(frame))
    opb = _block(2, body + frame + b"\0" * ((-len(frame)) % 4))
    path = write_pcapng(tmp_path / "opb.pcapng", [(1, 6)], [(0, T0, frame)], extra_blocks=[opb])
    summary = analyse([path])
    assert summary.flows[0].orig_packets == 2
    assert summary.flows[0].last.frame == 2
    assert [(p.code, p.count) for p in summary.inputs[0].problems] == [("drops", 5)]
