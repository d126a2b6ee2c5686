"""Flow states, modelled on Zeek's conn_state, from crafted packet sequences."""

from __future__ import annotations

from pathlib import Path

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet

from camaudit.model import Flow, FlowCategory
from camaudit.report.model import to_dict
from camaudit.traffic.engine import analyse
from tests.captures import CAM, GW, OUT, eth, icmp, one_side_of_a_connection, tcp, udp, write_pcap

T0 = 1_700_000_000.0


def _flows(tmp_path: Path, packets: list[bytes], linktype: int = 1) -> tuple[Flow, ...]:
    frames = [(T0 + i * 0.1, p) for i, p in enumerate(packets)]
    return analyse([write_pcap(tmp_path / "t.pcap", frames, linktype=linktype)]).flows


def _one(tmp_path: Path, packets: list[bytes], linktype: int = 1) -> Flow:
    flows = [f for f in _flows(tmp_path, packets, linktype) if f.app != "icmp-error"]
    assert len(flows) == 1, flows
    return flows[0]


def test_syn_without_reply_is_an_attempted_connection(tmp_path: Path) -> None:
    flow = _one(tmp_path, [eth(tcp(CAM, OUT, 40000, 8666, "S"))] * 3)
    assert (flow.conn_state, flow.category) == ("S0", FlowCategory.ATTEMPTED)
    assert flow.orig == CAM and flow.orig_packets == 3 and flow.resp_packets == 0


def test_syn_answered_by_rst_is_rejected(tmp_path: Path) -> None:
    flow = _one(
        tmp_path, [eth(tcp(CAM, OUT, 40000, 443, "S")), eth(tcp(OUT, CAM, 443, 40000, "RA"))]
    )
    assert (flow.conn_state, flow.category) == ("REJ", FlowCategory.REJECTED)


def test_full_handshake_and_close_is_established_sf(tmp_path: Path) -> None:
    flow = _one(
        tmp_path,
        [
            eth(tcp(CAM, OUT, 40000, 443, "S")),
            eth(tcp(OUT, CAM, 443, 40000, "SA")),
            eth(tcp(CAM, OUT, 40000, 443, "A")),
            eth(tcp(CAM, OUT, 40000, 443, "PA", b"hello")),
            eth(tcp(CAM, OUT, 40000, 443, "FA")),
            eth(tcp(OUT, CAM, 443, 40000, "FA")),
        ],
    )
    assert (flow.conn_state, flow.category) == ("SF", FlowCategory.ESTABLISHED)
    assert (flow.orig_packets, flow.resp_packets) == (4, 2)


def test_reply_first_in_capture_still_names_the_syn_sender_as_originator(tmp_path: Path) -> None:
    flow = _one(
        tmp_path, [eth(tcp(OUT, CAM, 443, 40000, "SA")), eth(tcp(CAM, OUT, 40000, 443, "S"))]
    )
    assert flow.orig == CAM and flow.resp_port == 443


def test_acks_after_a_syn_with_no_reply_captured_mean_the_reply_was_missed(tmp_path: Path) -> None:
    flow = _one(tmp_path, one_side_of_a_connection(CAM, OUT, 40000, 443, b"data"))
    assert flow.category == FlowCategory.ESTABLISHED and flow.reply_unseen


def test_udp_with_and_without_reply(tmp_path: Path) -> None:
    flows = _flows(
        tmp_path,
        [
            eth(udp(CAM, OUT, 5000, 8800, b"DHGET /x")),
            eth(udp(OUT, CAM, 8800, 5000, b"ok")),
            eth(udp(CAM, OUT, 5001, 6002, b"x")),
        ],
    )
    states = {f.resp_port: (f.conn_state, f.category) for f in flows}
    assert states == {8800: ("SF", FlowCategory.TWO_WAY), 6002: ("S0", FlowCategory.ONE_WAY)}


def test_icmp_echo_answered_is_two_way_and_unanswered_is_attempted(tmp_path: Path) -> None:
    answered = _one(tmp_path, [eth(icmp(CAM, OUT, 8)), eth(icmp(OUT, CAM, 0))])
    assert answered.category == FlowCategory.TWO_WAY and answered.orig == CAM
    alone = _one(tmp_path, [eth(icmp(CAM, OUT, 8))])
    assert alone.category == FlowCategory.ATTEMPTED


def test_icmp_port_unreachable_from_the_gateway_rejects_the_udp_flow(tmp_path: Path) -> None:
    probe = udp(CAM, OUT, 5000, 123, b"\x1b" + b"\0" * 47)
    flows = _flows(tmp_path, [eth(probe), eth(icmp(GW, CAM, 3, 3, inner=probe))])
    (ntp,) = [f for f in flows if f.proto == "udp"]
    assert ntp.category == FlowCategory.REJECTED
    assert ntp.rejected_from == GW and ntp.rejected_by is not None
    assert ntp.rejected_by.frame == 2
    (error,) = [f for f in flows if f.app == "icmp-error"]
    assert error.orig == GW


def test_vlan_and_qinq_tags_are_looked_through(tmp_path: Path) -> None:
    inner = tcp(CAM, OUT, 40000, 8666, "S")
    tagged = bytes(Ether(src="c0:56:e3:00:00:21") / Dot1Q(vlan=100) / inner)
    qinq = bytes(
        Ether(src="c0:56:e3:00:00:21", type=0x88A8) / Dot1Q(vlan=7) / Dot1Q(vlan=100) / inner
    )
    flow = _one(tmp_path, [tagged, qinq])
    assert flow.orig_packets == 2 and flow.vlan == 100


def test_linux_cooked_v1_and_v2_are_decoded(tmp_path: Path) -> None:
    from scapy.layers.l2 import CookedLinux, CookedLinuxV2

    pkt = tcp(CAM, OUT, 40000, 8666, "S")
    v1 = bytes(
        CookedLinux(
            pkttype=4, lladdrtype=1, lladdrlen=6, src=b"\xc0\x56\xe3\0\0\x21\0\0", proto=0x0800
        )
        / pkt
    )
    assert _one(tmp_path, [v1], linktype=113).orig == CAM
    v2 = bytes(
        CookedLinuxV2(
            proto=0x0800,
            ifindex=2,
            lladdrtype=1,
            pkttype=4,
            lladdrlen=6,
            src=b"\xc0\x56\xe3\0\0\x21\0\0",
        )
        / pkt
    )
    assert _one(tmp_path, [v2], linktype=276).orig == CAM


def test_raw_ip_and_bsd_loopback_are_decoded(tmp_path: Path) -> None:
    pkt = bytes(tcp(CAM, OUT, 40000, 8666, "S"))
    assert _one(tmp_path, [pkt], linktype=101).resp == OUT
    assert _one(tmp_path, [b"\x02\0\0\0" + pkt], linktype=0).resp == OUT
    assert _one(tmp_path, [b"\0\0\0\x02" + pkt], linktype=108).resp == OUT


def test_ipv4_fragments_belong_to_the_flow_of_their_first_fragment(tmp_path: Path) -> None:
    from scapy.layers.inet import fragment

    big = IP(src=CAM, dst=OUT, id=77) / udp(CAM, OUT, 5000, 8800, b"x" * 3000)[1]
    frags = [eth(f) for f in fragment(big, fragsize=1000)]
    flow = _one(tmp_path, frags)
    assert flow.resp_port == 8800 and flow.orig_packets == len(frags) > 1


def test_ipv6_extension_headers_are_walked_to_the_transport_header(tmp_path: Path) -> None:
    pkt: Packet = (
        IPv6(src="fd66::21", dst="2001:db8::5")
        / IPv6ExtHdrDestOpt()
        / TCP(sport=40000, dport=443, flags="S")
    )
    flow = _one(tmp_path, [eth(pkt)])
    assert (flow.orig, flow.resp, flow.resp_port, flow.conn_state) == (
        "fd66::21",
        "2001:db8::5",
        443,
        "S0",
    )


def test_frame_numbers_and_counts_follow_the_file(tmp_path: Path) -> None:
    packets = [eth(udp(CAM, "10.66.0.10", 5000, 554, b"x"))] * 2 + [
        eth(tcp(CAM, OUT, 40000, 8666, "S"))
    ] * 2
    flows = {f.resp_port: f for f in _flows(tmp_path, packets)}
    assert (flows[8666].first.frame, flows[8666].last.frame) == (3, 4)
    assert flows[554].orig_bytes == 2 * len(packets[0])


# ---------------------------------------------------------------- issue 8: mid-stream TCP

MID_STREAM = Path(__file__).resolve().parents[2] / "pcaps" / "mid-stream" / "mid-stream.pcap"


def test_capture_begun_mid_stream_names_the_camera_as_originator() -> None:
    (flow,) = analyse([MID_STREAM]).flows
    assert (flow.orig, flow.orig_port, flow.resp, flow.resp_port) == (CAM, 54078, OUT, 443)
    assert flow.mid_stream and flow.category == FlowCategory.ESTABLISHED
    assert (flow.first.frame, flow.last.frame) == (1, 9)
    assert (flow.orig_packets, flow.resp_packets) == (4, 5)


def test_mid_stream_flow_is_reported_outbound_and_marked() -> None:
    from camaudit import verify

    report = to_dict(verify([MID_STREAM], closed_network=("10.66.0.0/24",)).report)
    (row,) = report["outbound"]
    assert (row["direction"], row["src"], row["dport"]) == ("outbound", CAM, 443)
    assert row["mid_stream"] is True and row["first_frame"] == 1


def test_mid_stream_roles_follow_zeeks_likely_server_port_rule(tmp_path: Path) -> None:
    def first_from(src: str, sport: int, dst: str, dport: int) -> Flow:
        return _one(
            tmp_path,
            [eth(tcp(src, dst, sport, dport, "A")), eth(tcp(dst, src, dport, sport, "A"))],
        )

    server_first = first_from(OUT, 443, CAM, 54078)
    assert (server_first.orig, server_first.resp_port) == (CAM, 443)
    both_service = first_from(OUT, 1883, CAM, 8666)  # both below the ephemeral range
    assert (both_service.orig, both_service.resp_port) == (CAM, 1883)
    well_known = first_from(OUT, 8000, CAM, 554)  # 554 is well-known, 8000 registered
    assert (well_known.orig, well_known.resp_port) == (OUT, 554)
    both_ephemeral = first_from(OUT, 50000, CAM, 40000)  # nothing to go on: first sender
    assert both_ephemeral.orig == OUT
    assert server_first.mid_stream and both_ephemeral.mid_stream


def test_handshake_in_capture_is_not_mid_stream(tmp_path: Path) -> None:
    flow = _one(
        tmp_path,
        [eth(tcp(CAM, OUT, 54078, 443, "S")), eth(tcp(OUT, CAM, 443, 54078, "SA"))],
    )
    assert not flow.mid_stream and flow.orig == CAM


def test_server_side_only_mid_stream_is_established_with_the_reply_unseen(
    tmp_path: Path,
) -> None:
    flow = _one(tmp_path, [eth(tcp(OUT, CAM, 443, 54078, "PA", b"\x17\x03\x03\x00\x01x"))])
    assert (flow.orig, flow.resp_port, flow.orig_packets) == (CAM, 443, 0)
    assert flow.category == FlowCategory.ESTABLISHED and flow.reply_unseen
