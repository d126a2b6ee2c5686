"""The compiled pass and ``--jobs``: the same summary however the input is cut up."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from camaudit.traffic import capfile, engine, parallel
from camaudit.traffic.capfile import CaptureFile
from camaudit.traffic.engine import analyse
from camaudit.traffic.flows import TLS_KEEP, FlowAcc, _keep_more
from tests.captures import CAM, OUT, eth, tcp, write_pcap
from tests.conftest import PCAPS
from tests.replay.cases import capture_files

CAPTURES = capture_files()
PLAIN_PCAPS = [p for p in CAPTURES if p.suffix == ".pcap"]


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(PCAPS)) for p in paths]


def record_starts(path: Path) -> list[int]:
    """Byte offset of every record after the first, walked with struct."""
    data = path.read_bytes()
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pos, starts = 24, []
    while pos + 16 <= len(data):
        (incl,) = struct.unpack_from(order + "I", data, pos + 8)
        pos += 16 + incl
        if pos < len(data):
            starts.append(pos)
    return starts


def split_summary(path: Path, cuts: list[int], inline: bool = True) -> object:
    capture = CaptureFile(path)
    try:
        plan = parallel.plan([capture], 2, cuts={path: cuts})
    finally:
        capture.close()
    assert plan is not None
    return parallel.run(plan, [], 2, inline=inline)


@pytest.mark.parametrize("path", PLAIN_PCAPS, ids=_ids(PLAIN_PCAPS))
def test_a_capture_cut_at_any_record_boundary_reads_the_same(path: Path) -> None:
    whole = analyse([path])
    starts = record_starts(path)
    assert starts
    for cut in starts:
        assert split_summary(path, [cut]) == whole, cut
    assert split_summary(path, starts) == whole  # every record a range of its own


@pytest.mark.parametrize("path", PLAIN_PCAPS, ids=_ids(PLAIN_PCAPS))
def test_ranges_read_by_worker_processes_match_one_process(path: Path) -> None:
    starts = record_starts(path)
    assert split_summary(path, [starts[len(starts) // 2]], inline=False) == analyse([path])


def test_a_cut_off_the_record_boundary_is_noticed_and_the_file_read_whole() -> None:
    path = PCAPS / "tls-established" / "tls-established.pcap"
    starts = record_starts(path)
    assert split_summary(path, [starts[3] + 5]) == analyse([path])


def test_all_stored_captures_with_jobs_match_one_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "PARALLEL_FROM", 0)
    assert analyse([PCAPS], jobs=2) == analyse([PCAPS], jobs=1)


@pytest.mark.parametrize("chunk", [17, 64, 333, 1500])
def test_records_straddling_read_chunks_read_the_same(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    expected = [analyse([path]) for path in CAPTURES]
    monkeypatch.setattr(capfile, "CHUNK", chunk)
    assert [analyse([path]) for path in CAPTURES] == expected


def test_a_tls_record_split_over_segments_and_ranges_is_joined(tmp_path: Path) -> None:
    hello = b"\x16\x03\x01" + (3000).to_bytes(2, "big") + b"\x01" + bytes(2999)
    packets = [
        (1.0, eth(tcp(CAM, OUT, 40000, 443, "S"))),
        (1.1, eth(tcp(OUT, CAM, 443, 40000, "SA"))),
        (1.2, eth(tcp(CAM, OUT, 40000, 443, "A"))),
        (1.3, eth(tcp(CAM, OUT, 40000, 443, "PA", hello[:1400]))),
        (1.4, eth(tcp(CAM, OUT, 40000, 443, "PA", hello[1400:2800]))),
        (1.5, eth(tcp(CAM, OUT, 40000, 443, "PA", hello[2800:]))),
        (1.6, eth(tcp(CAM, OUT, 40000, 443, "PA", b"x" * 1000))),
    ]
    path = write_pcap(tmp_path / "tls.pcap", packets)
    whole = analyse([path])
    (flow,) = whole.flows
    assert flow.payload_orig == hello[:TLS_KEEP]
    for cut in record_starts(path):
        assert split_summary(path, [cut]) == whole, cut


def test_a_scan_beyond_the_flow_limit_is_summarised_per_address_pair(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from camaudit.traffic import engine, flows

    monkeypatch.setattr(engine, "FLOW_LIMIT", 5)
    monkeypatch.setattr(flows, "FLOW_LIMIT", 5)
    packets = [(1.0 + i / 100, eth(tcp(CAM, OUT, 40000, 1000 + i, "S"))) for i in range(40)]
    path = write_pcap(tmp_path / "scan.pcap", packets)
    summary = analyse([path])
    exact = [f for f in summary.flows if f.resp_port != 0]
    pooled = [f for f in summary.flows if f.resp_port == 0]
    assert len(exact) == 5
    assert [(f.orig, f.resp, f.orig_packets) for f in pooled] == [(CAM, OUT, 35)]
    assert sum(f.orig_packets for f in summary.flows) == 40
    (problem,) = [p for p in summary.problems if p.code == "flows_summarised"]
    assert problem.count == 35


def test_a_side_whose_first_payload_starts_no_tls_record_keeps_only_that_chunk() -> None:
    # payload() reads nothing past such a first chunk: a DNS flood's flows kept every
    # question (2 M chunks) for nothing
    def keep(acc: FlowAcc, side: int, chunk: bytes, from_start: bool) -> None:
        if _keep_more(acc, side):  # as FlowTable.add keeps
            acc._keep(side, chunk, from_start)

    acc = FlowAcc(key=(17, 0, 1, 40000, 0, 2, 53))
    for i in range(10):
        keep(acc, 0, b"question %d" % i, True)
    assert acc.chunks == [[b"question 0"], []]
    assert acc.payload(0) == b"question 0"
    hello = b"\x16\x03\x01" + (3000).to_bytes(2, "big") + bytes(3000)
    for part in (hello[:1000], hello[1000:2000], hello[2000:]):
        keep(acc, 1, part, True)
    assert len(acc.chunks[1]) == 3 and acc.payload(1) == hello  # a TLS record is joined
    later = FlowAcc(key=(6, 0, 1, 40000, 0, 2, 443))  # a later range: maybe mid-record
    for part in (hello[1000:2000], hello[2000:]):
        keep(later, 0, part, False)
    assert later.chunks == [[hello[1000:2000], hello[2000:]], []]


def test_a_plain_first_payload_reads_the_same_in_ranges(tmp_path: Path) -> None:
    request = b"GET / HTTP/1.1\r\nHost: cam.example\r\n\r\n"
    packets = [
        (1.0, eth(tcp(CAM, OUT, 40000, 80, "S"))),
        (1.1, eth(tcp(OUT, CAM, 80, 40000, "SA"))),
        (1.2, eth(tcp(CAM, OUT, 40000, 80, "PA", request))),
        (1.3, eth(tcp(CAM, OUT, 40000, 80, "PA", b"\x16\x03\x01\x00\x05hello"))),
        (1.4, eth(tcp(OUT, CAM, 80, 40000, "PA", b"HTTP/1.1 200 OK\r\n\r\n"))),
    ]
    path = write_pcap(tmp_path / "http.pcap", packets)
    whole = analyse([path])
    (flow,) = whole.flows
    assert (flow.payload_orig, flow.payload_resp) == (request, b"HTTP/1.1 200 OK\r\n\r\n")
    for cut in record_starts(path):
        assert split_summary(path, [cut]) == whole, cut
