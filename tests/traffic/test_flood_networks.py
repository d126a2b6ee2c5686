"""A scan of many distinct addresses: past the flow and pair limits, flows are pooled per
source address and destination network, so memory grows with networks, not addresses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet

from camaudit.model import TrafficSummary
from camaudit.traffic import engine, flows
from camaudit.traffic.engine import analyse
from tests.captures import CAM, CAM_MAC, GW_MAC, eth, tcp, write_pcap
from tests.traffic.test_fastpass_jobs import record_starts, split_summary

NETWORKS = ("203.0.113", "198.51.100", "192.0.2")
CAM6 = "fd66::21"


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (engine, flows):
        monkeypatch.setattr(module, "FLOW_LIMIT", 5)
        monkeypatch.setattr(module, "PAIR_LIMIT", 10)


def _scan_frames(tags: int, revisit: bool) -> list[tuple[float, bytes]]:
    """SYNs to 20 addresses in each of three /24s and two /64s (one each in turn), a RST
    back from every fifth address; ``revisit``: a second SYN to the first address at the
    end."""
    targets = [f"{net}.{host}" for host in range(1, 21) for net in NETWORKS]
    targets += [f"2001:db8:0:{net}::{host}" for host in range(1, 21) for net in (1, 2)]
    packets = []
    for i, target in enumerate(targets):
        source = CAM6 if ":" in target else CAM
        packets.append(tcp(source, target, 40000 + i, 443, "S"))
        if i % 5 == 4:
            packets.append(tcp(target, source, 443, 40000 + i, "RA"))
    if revisit:
        packets.append(tcp(CAM, targets[0], 40000, 443, "S"))
    return [(1.0 + n / 100, framed(packet, tags)) for n, packet in enumerate(packets)]


def framed(packet: Packet, tags: int, src: str = CAM_MAC, dst: str = GW_MAC) -> bytes:
    """``packet`` in an Ethernet frame; with ``tags`` 802.1Q tags (three: the compiled pass
    hands the frame to Python)."""
    if not tags:
        return eth(packet, src, dst)
    layers = Ether(src=src, dst=dst)
    for _ in range(tags):
        layers = layers / Dot1Q(vlan=7)
    return bytes(layers / packet)


def _scan(tmp_path: Path, tags: int = 0, revisit: bool = True) -> Path:
    return write_pcap(tmp_path / f"scan{tags}.pcap", _scan_frames(tags, revisit))


def test_a_scan_past_the_pair_limit_is_pooled_per_source_and_destination_network(
    small_limits: None, tmp_path: Path
) -> None:
    summary = analyse([_scan(tmp_path)])
    exact = [f for f in summary.flows if f.resp_port]
    pairs = [f for f in summary.flows if not f.resp_port and "/" not in f.resp]
    pooled = {f.resp: f for f in summary.flows if "/" in f.resp}
    assert len(exact) == 5 and len(pairs) == 10
    # the first 15 SYNs went to .1-.5 of the three /24s; the rest is pooled per network
    assert sorted(pooled) == [
        "192.0.2.0/24",
        "198.51.100.0/24",
        "2001:db8:0:1::/64",
        "2001:db8:0:2::/64",
        "203.0.113.0/24",
    ]
    v4 = pooled["203.0.113.0/24"]
    assert (v4.orig, v4.orig_packets, v4.resp_packets) == (CAM, 15, 3)
    assert v4.first.frame == 19  # the SYN to 203.0.113.6 (frames 5, 11, 17: RSTs)
    assert v4.conn_state == "REJ"  # every fifth address answered with a RST
    v6 = pooled["2001:db8:0:1::/64"]
    assert (v6.orig, v6.orig_packets, v6.resp_packets) == (CAM6, 20, 4)
    # every packet is counted once, in a flow, a pair or a network
    assert sum(f.orig_packets + f.resp_packets for f in summary.flows) == 121
    (problem,) = [p for p in summary.problems if p.code == "flows_networks"]
    assert problem.count == 3 * (15 + 3) + 2 * (20 + 4)
    params = dict(problem.params)
    assert params["networks"] == 5
    assert params["frames"] == "19, 20, 21, 73, 74"  # each network's first frame
    (per_pair,) = [p for p in summary.problems if p.code == "flows_summarised"]
    assert per_pair.count == sum(f.orig_packets + f.resp_packets for f in pairs) == 12


def _plain(summary: TrafficSummary, tags: int) -> list[object]:
    """The flows, as if read from the untagged file: no VLAN, 4 bytes a tag less a frame."""
    return sorted(
        (
            dataclasses.replace(
                f,
                vlan=None,
                orig_bytes=f.orig_bytes - 4 * tags * f.orig_packets,
                resp_bytes=f.resp_bytes - 4 * tags * f.resp_packets,
                first=dataclasses.replace(f.first, capture=""),
                last=dataclasses.replace(f.last, capture=""),
            )
            for f in summary.flows
        ),
        key=lambda f: (f.first.frame, f.resp),
    )


def test_the_compiled_pass_and_the_python_decoder_pool_a_scan_alike(
    small_limits: None, tmp_path: Path
) -> None:
    compiled = analyse([_scan(tmp_path)])
    python = analyse([_scan(tmp_path, tags=3)])
    assert any("/" in f.resp for f in compiled.flows)
    assert _plain(python, 3) == _plain(compiled, 0)
    assert [p.params for p in python.problems if p.code.startswith("flows_")] == [
        p.params for p in compiled.problems if p.code.startswith("flows_")
    ]


def test_a_pooled_scan_cut_into_ranges_reads_as_one(small_limits: None, tmp_path: Path) -> None:
    """Each range pools past its own limits; merged, the table is held to them as a whole
    (a flow that comes back in a later range after that range's table is full is pooled
    there: no range can know an earlier one's flows, see flows.FlowTable.settle)."""
    assert_ranges_read_as_one(_scan(tmp_path, revisit=False), every=3)


def assert_ranges_read_as_one(path: Path, every: int) -> None:
    """``path`` cut into two ranges at each record, and into ranges of ``every`` records,
    reads as one."""
    whole = analyse([path])
    starts = record_starts(path)
    for cut in starts:
        assert split_summary(path, [cut]) == whole, cut
    assert split_summary(path, starts[::every]) == whole
