"""A flood from many spoofed source addresses: past the flow, pair and network limits, flows
spill into one entry per protocol and address family (both ends ``0.0.0.0/0`` or ``::/0``),
so memory stays bounded whatever the addresses; the ``flows_spilled`` problem says how
many packets lost their addresses and where the spilled entries start."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.packet import Packet

from camaudit.traffic import engine, flows
from camaudit.traffic.engine import analyse
from tests.captures import CAM, CAM_MAC, GW_MAC, tcp, udp, write_pcap
from tests.traffic.test_fastpass_jobs import record_starts, split_summary
from tests.traffic.test_flood_networks import _plain, assert_ranges_read_as_one, framed

LIMIT = 5  # flows, then pairs, then network entries
NETWORKS = ("192.0.2", "198.51.100", "203.0.113")
CAM6 = "fd66::21"


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (engine, flows):
        monkeypatch.setattr(module, "FLOW_LIMIT", LIMIT)
        monkeypatch.setattr(module, "PAIR_LIMIT", LIMIT)
        monkeypatch.setattr(module, "NETWORK_LIMIT", LIMIT)


def _flood_packets(answer_kept: bool = True) -> list[Packet]:
    """Frame by frame (numbers from 1):

    1-60   SYNs to the camera's RTSP port, each from its own spoofed address (.1-.20 of
           three documentation /24s in turn): 5 flows, 5 pairs, 5 network entries, then
           45 spill into the TCP/IPv4 entry
    61     the camera's SYN-ACK to the 11th source (a network entry): counted in it
           (not ``answer_kept``: left out, and the frames below one number lower)
    62     the camera's SYN-ACK to the 60th source (spilled): spills too
    63-66  UDP from spoofed sources to spoofed destinations: the UDP/IPv4 entry
    67-70  SYNs to fd66::21 from spoofed 2001:db8::/32 sources: the TCP/IPv6 entry
    """
    sources = [f"{net}.{host}" for host in range(1, 21) for net in NETWORKS]
    packets = [tcp(src, CAM, 50000 + i, 554, "S") for i, src in enumerate(sources)]
    if answer_kept:
        packets.append(tcp(CAM, sources[10], 554, 50010, "SA"))
    packets.append(tcp(CAM, sources[59], 554, 50059, "SA"))
    packets += [udp(f"192.0.2.{200 + i}", f"198.51.100.{200 + i}", 7, 9) for i in range(4)]
    packets += [tcp(f"2001:db8:{i:x}::9", CAM6, 50100 + i, 554, "S") for i in range(1, 5)]
    return packets


def _flood(tmp_path: Path, tags: int = 0, answer_kept: bool = True) -> Path:
    """The flood as it reaches the camera's port: from the gateway's MAC to the camera's."""
    packets = [framed(p, tags, src=GW_MAC, dst=CAM_MAC) for p in _flood_packets(answer_kept)]
    frames = [(1.0 + n / 100, p) for n, p in enumerate(packets)]
    return write_pcap(tmp_path / f"spoofed{tags}.pcap", frames)


def test_a_spoofed_source_flood_spills_into_one_entry_per_protocol_and_family(
    small_limits: None, tmp_path: Path
) -> None:
    summary = analyse([_flood(tmp_path)])
    spilled = {(f.proto, f.orig): f for f in summary.flows if f.orig.endswith("/0")}
    assert sorted(spilled) == [("tcp", "0.0.0.0/0"), ("tcp", "::/0"), ("udp", "0.0.0.0/0")]
    # the table holds the limits' worth of flows, pairs and networks, and a constant more
    assert len(summary.flows) == 3 * LIMIT + 3
    tcp4 = spilled["tcp", "0.0.0.0/0"]
    assert tcp4.resp == "0.0.0.0/0"
    assert (tcp4.orig_packets, tcp4.resp_packets) == (45 + 1, 0)  # every packet on one side
    assert (tcp4.first.frame, tcp4.last.frame) == (16, 62)
    assert (tcp4.orig_port, tcp4.resp_port) == (0, 0)
    assert spilled["tcp", "::/0"].resp == "::/0"
    assert spilled["tcp", "::/0"].orig_packets == 4
    assert spilled["udp", "0.0.0.0/0"].first.frame == 63
    # a reply to a kept network entry still counts in it
    (answered,) = [f for f in summary.flows if f.orig == "198.51.100.4"]
    assert (answered.resp, answered.orig_packets, answered.resp_packets) == ("10.66.0.0/24", 1, 1)
    # every packet is counted once
    assert sum(f.orig_packets + f.resp_packets for f in summary.flows) == 70
    (problem,) = [p for p in summary.problems if p.code == "flows_spilled"]
    assert problem.count == 46 + 4 + 4
    params = dict(problem.params)
    assert params["limit"] == LIMIT
    assert params["frames"] == "16, 63, 67"  # each spilled entry's first frame


def test_the_compiled_pass_and_the_python_decoder_spill_a_flood_alike(
    small_limits: None, tmp_path: Path
) -> None:
    compiled = analyse([_flood(tmp_path)])
    python = analyse([_flood(tmp_path, tags=3)])
    assert any(f.orig.endswith("/0") for f in compiled.flows)
    assert _plain(python, 3) == _plain(compiled, 0)
    assert [p.params for p in python.problems if p.code.startswith("flows_")] == [
        p.params for p in compiled.problems if p.code.startswith("flows_")
    ]


def test_a_spilled_flood_cut_into_ranges_reads_as_one(small_limits: None, tmp_path: Path) -> None:
    """Each range spills past its own limits; merged, the network entries past the limit
    spill as one reading would have spilled them (flows.FlowTable.settle). Not the reply to
    a kept network entry: a later range that is full itself cannot know an earlier range
    kept it, and spills it (fail closed: spilled, never kept wrongly)."""
    path = _flood(tmp_path, answer_kept=False)
    assert_ranges_read_as_one(path, every=4)
    # worker processes, not inline: the limits reach them (forked) as patched here
    assert split_summary(path, [record_starts(path)[30]], inline=False) == analyse([path])


def test_without_a_network_limit_nothing_spills(
    monkeypatch: pytest.MonkeyPatch, small_limits: None, tmp_path: Path
) -> None:
    for module in (engine, flows):
        monkeypatch.setattr(module, "NETWORK_LIMIT", 0)
    summary = analyse([_flood(tmp_path)])
    assert not [f for f in summary.flows if f.orig.endswith("/0")]
    assert not [p for p in summary.problems if p.code == "flows_spilled"]
