"""Capture formats: every encoding the readers promise, read to the same packets."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import ARP, LLC, Dot1Q, Dot3, Ether
from scapy.packet import Packet, Raw

from camaudit import verify
from camaudit.errors import InputError
from camaudit.report.model import to_dict
from camaudit.traffic.engine import analyse
from tests.captures import (
    CAM,
    CAM_MAC,
    GW,
    GW_MAC,
    NVR,
    OUT,
    eth,
    simple_block,
    tcp,
    udp,
    write_pcap,
    write_pcapng,
)

T0 = 1_700_000_000.25
PCAPS = Path(__file__).resolve().parents[2] / "pcaps"


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


def test_a_gzip_bomb_is_read_only_up_to_the_inflation_bound_and_is_inconclusive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from camaudit.traffic import capfile

    monkeypatch.setattr(capfile, "GZIP_FREE_BYTES", 1 << 20)
    frame = eth(udp(CAM, NVR, 40000, 554, b"\0" * 1400))
    # identical records compress about 1000x: 20 MB of capture from a few tens of kB
    path = write_pcap(tmp_path / "bomb.pcap.gz", [(T0, frame)] * 14_000, compress=True)
    assert path.stat().st_size * capfile.GZIP_MAX_RATIO < 20_000_000
    result = verify([path], closed_network=["10.66.0.0/24"])
    problems = result.traffic.inputs[0].problems
    assert {p.code for p in problems} == {"truncated"}
    assert any("inflates more than" in p.message for p in problems)
    assert result.traffic.flows[0].orig_packets < 14_000
    assert result.assessment.verdict != "isolated"


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


# ---------------------------------------------------------------- issue 8: fail closed
#
# The stored lab captures (pcaps/pppoe-session, qinq-three-tags, ppp-pcapng, mpls,
# erspan-span) are the real evidence for the encapsulations; the crafted frames
# below are the malformed, unknown and header-variant inputs a lab cannot make.


def _verify(paths: list[Path]) -> dict[str, Any]:
    return to_dict(verify(paths, closed_network=("10.66.0.0/24",)).report)


def _lab(case: str, name: str) -> Path:
    return PCAPS / case / name


def _undecoded(report: dict[str, Any]) -> dict[str, Any]:
    (problem,) = [p for p in report["problems"] if p["code"] == "undecoded"]
    return problem


def test_pppoe_session_to_outside_address_is_not_isolated() -> None:
    report = _verify([_lab("pppoe-session", "pppoe-session.pcap")])
    assert report["verdict"] == "not_isolated"
    (flow,) = report["outbound"]
    assert (flow["dst"], flow["dport"], flow["state"]) == (OUT, 8000, "established")


def test_three_stacked_vlan_tags_around_an_outside_handshake_are_not_isolated() -> None:
    report = _verify([_lab("qinq-three-tags", "qinq-three-tags.pcap")])
    assert report["verdict"] == "not_isolated"
    (flow,) = report["outbound"]
    assert (flow["state"], flow["vlan"]) == ("established", 300)


def test_pcapng_with_a_ppp_second_interface_carrying_outside_tcp_is_not_isolated() -> None:
    report = _verify([_lab("ppp-pcapng", "ppp-second-interface.pcapng")])
    assert report["verdict"] == "not_isolated"
    assert report["inputs"][0]["link_types"] == ["ETHERNET", "PPP"]
    assert [f["first_frame"] for f in report["outbound"]] == [15]


def test_mpls_label_stack_is_walked_to_the_ip_header() -> None:
    report = _verify([_lab("mpls", "mpls.pcap")])
    assert report["verdict"] == "not_isolated"


def test_erspan_copies_from_a_span_port_are_judged_by_the_mirrored_frame() -> None:
    summary = analyse([_lab("erspan-span", "erspan-span.pcap")])
    outside = [f for f in summary.flows if f.resp == OUT]
    assert [
        (f.orig, f.resp_port, f.first.frame, f.orig_packets + f.resp_packets) for f in outside
    ] == [(CAM, 8000, 16, 10)]
    assert any(f.proto == "ip-47" and f.resp == "10.66.0.10" for f in summary.flows)
    assert ("10.66.0.21", "02:66:00:00:00:21") in {(h.ip, h.mac) for h in summary.hosts}
    assert _verify([_lab("erspan-span", "erspan-span.pcap")])["verdict"] == "not_isolated"


def _local() -> list[bytes]:
    return [eth(tcp(CAM, NVR, 40554, 554, "S")), eth(tcp(NVR, CAM, 554, 40554, "SA"))]


def test_unknown_ethertype_makes_a_clean_capture_inconclusive_with_its_frames(
    tmp_path: Path,
) -> None:
    ipx = bytes(Ether(src=CAM_MAC, dst=GW_MAC, type=0x8137)) + b"\xff\xff" + b"\0" * 28
    macsec = bytes(Ether(src=CAM_MAC, dst=GW_MAC, type=0x88E5)) + b"\x2c" + b"\0" * 40
    frames = [ipx, *_local(), macsec, macsec]
    path = write_pcap(tmp_path / "u.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    report = _verify([path])
    assert report["verdict"] == "inconclusive"
    problem = _undecoded(report)
    assert problem["count"] == 3 and problem["capture"] == str(path)
    assert "frame(s) 1, 4, 5" in problem["message"]


def test_understood_non_ip_frames_keep_a_capture_isolated(tmp_path: Path) -> None:
    def ether(kind: int, body: bytes) -> bytes:
        return bytes(Ether(src=CAM_MAC, dst=GW_MAC, type=kind)) + body

    harmless = [
        bytes(Ether(src=CAM_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=CAM, pdst=GW)),
        ether(0x88CC, b"\x02\x07\x04" + b"\0" * 40),  # LLDP
        ether(0x888E, b"\x01\x01\x00\x00" + b"\0" * 40),  # EAPOL-Start
        ether(0x8863, b"\x11\x09\x00\x00\x00\x00" + b"\0" * 40),  # PPPoE PADI
        ether(0x8809, b"\x01\x01" + b"\0" * 44),  # LACP
        # spanning tree BPDU in an 802.3 length frame
        bytes(
            Dot3(src=CAM_MAC, dst="01:80:c2:00:00:00") / LLC(dsap=0x42, ssap=0x42) / Raw(b"\0" * 35)
        ),
        # PPPoE session carrying LCP (0xc021): negotiation, not user traffic
        ether(0x8864, b"\x11\x00\x2a\x2a\x00\x06\xc0\x21\x09\x01\x00\x04" + b"\0" * 30),
    ]
    frames = [*_local(), *harmless]
    path = write_pcap(tmp_path / "h.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    report = _verify([path])
    assert report["verdict"] == "isolated", report["reasons"]
    assert report["inputs"][0]["other_packets"] == len(harmless)


def test_malformed_ip_header_makes_a_clean_capture_inconclusive(tmp_path: Path) -> None:
    bad = bytearray(eth(tcp(CAM, OUT, 40000, 443, "S")))
    bad[14] = 0x42  # version 4, header length 8 bytes
    frames = [*_local(), bytes(bad)]
    path = write_pcap(tmp_path / "m.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    report = _verify([path])
    assert report["verdict"] == "inconclusive"
    assert "frame(s) 3" in _undecoded(report)["message"]


def test_an_unsupported_second_interface_makes_the_result_inconclusive(tmp_path: Path) -> None:
    path = write_pcapng(
        tmp_path / "two.pcapng",
        interfaces=[(1, 6), (147, 6)],  # Ethernet, and a user-defined DLT
        packets=[(0, T0, _local()[0]), (1, T0 + 1, b"\x00" * 60), (0, T0 + 2, _local()[1])],
    )
    report = _verify([path])
    assert report["verdict"] == "inconclusive"
    assert "frame(s) 2" in _undecoded(report)["message"]


def test_any_depth_of_vlan_tags_is_looked_through(tmp_path: Path) -> None:
    deep: Packet = Ether(src=CAM_MAC, dst=GW_MAC, type=0x88A8) / Dot1Q(vlan=7, type=0x9100)
    for vid in (8, 9, 10, 11):
        deep = deep / Dot1Q(vlan=vid)
    frame = bytes(deep / tcp(CAM, OUT, 40000, 8666, "S"))
    (flow,) = analyse([write_pcap(tmp_path / "d.pcap", [(T0, frame)])]).flows
    assert (flow.resp, flow.vlan) == (OUT, 7)


def _gre_ipv4(gre: bytes, inner: bytes, src: str = "10.66.0.250", dst: str = NVR) -> bytes:
    return eth(IP(src=src, dst=dst, proto=47) / Raw(gre + inner))


def test_gre_with_key_and_sequence_carries_ipv4_and_ethernet(tmp_path: Path) -> None:
    syn = bytes(tcp(CAM, OUT, 40000, 8666, "S"))
    synack = bytes(Ether(src=GW_MAC, dst=CAM_MAC) / tcp(OUT, CAM, 8666, 40000, "SA"))
    frames = [
        _gre_ipv4(struct.pack("!HHII", 0x3000, 0x0800, 7, 1), syn),  # K and S
        _gre_ipv4(struct.pack("!HHI", 0x8000, 0x6558, 0), synack),  # C, Ethernet
    ]
    summary = analyse(
        [write_pcap(tmp_path / "g.pcap", [(T0 + i, f) for i, f in enumerate(frames)])]
    )
    (inner,) = [f for f in summary.flows if f.proto == "tcp"]
    assert (inner.orig, inner.resp, inner.conn_state) == (CAM, OUT, "S1")
    assert (inner.first.frame, inner.last.frame) == (1, 2)
    assert not [p for p in summary.problems if p.code == "undecoded"]


def test_erspan_type_three_with_platform_subheader_is_decoded(tmp_path: Path) -> None:
    mirrored = eth(tcp(CAM, OUT, 40000, 8666, "S"))
    erspan3 = struct.pack("!HHI", 0x2000, 0x0001, 12345) + b"\x00\x00\x00\x01" + b"\0" * 8
    frame = _gre_ipv4(struct.pack("!HH", 0, 0x22EB), erspan3 + mirrored)
    summary = analyse([write_pcap(tmp_path / "e.pcap", [(T0, frame)])])
    assert [(f.orig, f.resp) for f in summary.flows if f.proto == "tcp"] == [(CAM, OUT)]


def test_a_tunnel_payload_not_understood_is_counted_not_dropped(tmp_path: Path) -> None:
    frames = [
        *_local(),
        _gre_ipv4(struct.pack("!HH", 0, 0x880B), b"\0" * 40),  # PPTP type without version 1
        _gre_ipv4(struct.pack("!HH", 0, 0x1234), b"\0" * 40),  # unknown payload type
        eth(IP(src="10.66.0.250", dst=NVR, proto=47) / Raw(b"\x00")),  # GRE header cut
    ]
    path = write_pcap(tmp_path / "t.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    report = _verify([path])
    assert report["verdict"] == "inconclusive"
    assert "frame(s) 3, 4" in _undecoded(report)["message"]


def test_mpls_with_a_pseudowire_payload_is_not_understood(tmp_path: Path) -> None:
    label = struct.pack("!I", (16 << 12) | 0x100 | 64)
    frame = bytes(Ether(src=CAM_MAC, dst=GW_MAC, type=0x8847)) + label + b"\x00" * 50
    path = write_pcap(tmp_path / "p.pcap", [(T0, f) for f in [*_local(), frame]])
    assert _verify([path])["verdict"] == "inconclusive"


def test_snap_and_linux_cooked_pppoe_and_ppp_link_types_reach_ip(tmp_path: Path) -> None:
    syn = bytes(tcp(CAM, OUT, 40000, 8666, "S"))
    snap = bytes(Ether(src=CAM_MAC, dst=GW_MAC, type=len(syn) + 8)) + (
        b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + syn
    )
    pppoe = b"\x11\x00\x2a\x2a" + struct.pack("!H", len(syn) + 2) + b"\x00\x21" + syn
    sll = struct.pack("!HHH8sH", 4, 1, 6, b"\xc0\x56\xe3\0\0\x21\0\0", 0x8864) + pppoe
    cases = [(1, snap), (113, sll), (9, b"\xff\x03\x00\x21" + syn), (9, b"\x21" + syn)]
    cases += [(204, b"\x01\xff\x03\x00\x21" + syn), (50, b"\x0f\x00\x08\x00" + syn)]
    cases += [(104, b"\x0f\x00\x08\x00" + syn)]
    for i, (linktype, frame) in enumerate(cases):
        (flow,) = analyse([write_pcap(tmp_path / f"{i}.pcap", [(T0, frame)], linktype)]).flows
        assert (flow.orig, flow.resp, flow.resp_port) == (CAM, OUT, 8666), linktype


def test_a_frame_of_endless_vlan_tags_is_not_understood_and_does_not_stall(
    tmp_path: Path,
) -> None:
    frame = bytes(Ether(src=CAM_MAC, dst=GW_MAC, type=0x8100)) + b"\x00\x64\x81\x00" * 200_000
    path = write_pcap(tmp_path / "v.pcap", [(T0, f) for f in [*_local(), frame]])
    report = _verify([path])
    assert report["verdict"] == "inconclusive"
    assert "frame(s) 3" in _undecoded(report)["message"]


def test_later_fragments_of_a_tunnel_packet_are_not_read_as_tunnel_headers(
    tmp_path: Path,
) -> None:
    from scapy.layers.inet import fragment
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, fragment6

    inner = bytes(udp(CAM, OUT, 5000, 8800, b"x" * 2500))
    gre = struct.pack("!HH", 0, 0x0800) + inner
    v4 = fragment(IP(src="10.66.0.250", dst=NVR, proto=47, id=9) / Raw(gre), fragsize=1000)
    v6 = fragment6(
        IPv6(src="fd66::fe", dst="fd66::10") / IPv6ExtHdrFragment(nh=47, id=5) / Raw(gre), 1200
    )
    frames = [eth(f) for f in [*v4, *v6]]
    path = write_pcap(tmp_path / "f.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    summary = analyse([path])
    assert not [p for p in summary.problems if p.code == "undecoded"], summary.problems
    (udp_flow,) = [f for f in summary.flows if f.proto == "udp"]
    assert (udp_flow.orig, udp_flow.resp, udp_flow.first.frame) == (CAM, OUT, 1)
    assert udp_flow.orig_packets == 2  # the first fragment of each tunnel packet
