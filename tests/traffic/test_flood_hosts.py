"""A flood from many spoofed source addresses: the table of source address -> MAC keeps
the first ``HOST_LIMIT`` addresses (by first frame); a later address's MAC is not kept
and never guessed (its flows show none), and the report says how many frames that was,
with the first of them. The compiled pass, the Python decoder and ``--jobs`` ranges give
one answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet

from camaudit.model import TrafficSummary
from camaudit.traffic import engine
from camaudit.traffic.engine import analyse
from tests.captures import CAM, CAM_MAC, GW_MAC, tcp, write_pcap
from tests.traffic.test_fastpass_jobs import record_starts, split_summary

SPOOFED = [f"203.0.113.{i}" for i in range(1, 31)]
LIMIT = 5


def _spoofed_mac(i: int) -> str:
    return f"02:00:00:00:01:{i:02x}"


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "HOST_LIMIT", LIMIT)


def _flood(tmp_path: Path, tags: int = 0) -> Path:
    """The camera's SYN out (frame 1), then a SYN from each of 30 spoofed sources (each its
    own MAC) to the camera, every one answered by the camera's RST: frames 2, 4, ... 60
    are the spoofed SYNs. ``tags``: three 802.1Q tags, which the compiled pass hands over."""
    frames: list[tuple[str, str, Packet]] = [
        (CAM_MAC, GW_MAC, tcp(CAM, "198.51.100.7", 40000, 443, "S"))
    ]
    for i, source in enumerate(SPOOFED, 1):
        frames.append((_spoofed_mac(i), CAM_MAC, tcp(source, CAM, 1024 + i, 80, "S")))
        frames.append((CAM_MAC, GW_MAC, tcp(CAM, source, 80, 1024 + i, "RA")))
    out = []
    for n, (src, dst, packet) in enumerate(frames):
        layers = Ether(src=src, dst=dst)
        for _ in range(tags):
            layers = layers / Dot1Q(vlan=7)
        out.append((1.0 + n / 100, bytes(layers / packet)))
    return write_pcap(tmp_path / f"flood{tags}.pcap", out)


def _hosts_problem(summary: TrafficSummary) -> dict[str, object]:
    (problem,) = [p for p in summary.problems if p.code == "hosts_bounded"]
    assert problem.count == len(SPOOFED) - (LIMIT - 1)  # one SYN each
    return dict(problem.params)


def test_source_addresses_past_the_host_limit_keep_no_mac_and_are_reported(
    small_limit: None, tmp_path: Path
) -> None:
    summary = analyse([_flood(tmp_path)])
    # the camera (frame 1) and the first four spoofed senders: exact, as their frames say
    assert {h.ip: h.mac for h in summary.hosts} == {
        CAM: CAM_MAC,
        **{SPOOFED[i]: _spoofed_mac(i + 1) for i in range(LIMIT - 1)},
    }
    for flow in summary.flows:
        sender = flow.orig if flow.orig != CAM else flow.resp
        if sender in SPOOFED[LIMIT - 1 :]:
            assert flow.orig_mac is None  # not kept: no MAC, never another one
        elif sender in SPOOFED:
            assert flow.orig_mac == _spoofed_mac(SPOOFED.index(sender) + 1)
        if CAM in (flow.orig, flow.resp):
            assert CAM_MAC in (flow.orig_mac, flow.resp_mac)
    params = _hosts_problem(summary)
    assert params["limit"] == LIMIT
    # the SYNs of the fifth to the fourteenth spoofed sender
    assert params["frames"] == ", ".join(str(2 * i) for i in range(LIMIT, LIMIT + 10))
    assert params["more"] == ", ..."


def test_the_compiled_pass_and_the_python_decoder_keep_the_same_hosts(
    small_limit: None, tmp_path: Path
) -> None:
    compiled = analyse([_flood(tmp_path)])
    python = analyse([_flood(tmp_path, tags=3)])
    assert compiled.hosts == python.hosts
    assert _hosts_problem(compiled) == _hosts_problem(python)
    macs = sorted((f.orig, f.resp, f.orig_mac, f.resp_mac) for f in compiled.flows)
    assert macs == sorted((f.orig, f.resp, f.orig_mac, f.resp_mac) for f in python.flows)


def test_a_flood_cut_into_ranges_keeps_the_hosts_of_one_reading(
    small_limit: None, tmp_path: Path
) -> None:
    path = _flood(tmp_path)
    whole = analyse([path])
    starts = record_starts(path)
    for cut in starts:
        assert split_summary(path, [cut]) == whole, cut
    assert split_summary(path, starts[::4]) == whole


def test_an_address_first_seen_past_the_limit_never_takes_a_later_frames_mac(
    small_limit: None,
) -> None:
    """Fail closed: a table that could not keep an address's earliest frame had the limit's
    worth of addresses before it, so merged with one that kept a later frame of it (the
    compiled pass's table and the Python one, or two ranges), the address stays out."""
    full = engine.HostTable()
    for i in range(2 * LIMIT):  # full: cut back to the first LIMIT addresses
        full.note(f"198.51.100.{i}", _spoofed_mac(i), i)
    full.note("203.0.113.9", "02:00:00:00:00:aa", 10)  # its earliest frame: not kept
    assert full.mac("203.0.113.9") is None
    later = engine.HostTable()
    later.note("203.0.113.9", "02:00:00:00:00:bb", 20)  # a later frame, another MAC
    assert later.mac("203.0.113.9") == "02:00:00:00:00:bb"
    full.merge(later)
    assert full.mac("203.0.113.9") is None  # not the later frame's MAC
    assert sorted(full.macs) == sorted(f"198.51.100.{i}" for i in range(LIMIT))
    (entry,) = full.dropped.values()
    assert entry == [LIMIT + 2, 5, 6, 7, 8, 9, 10, 20]  # frames not kept, the first ones


def test_out_of_order_frames_keep_the_first_addresses_by_frame(small_limit: None) -> None:
    """A tunnel's packets reach the table after their batch: what is kept does not depend
    on the order frames arrive in."""
    table = engine.HostTable()
    for order in [*range(20, 30), *range(10)]:
        table.note(f"203.0.113.{order}", _spoofed_mac(order), order)
    table.settle()
    assert sorted(table.macs) == sorted(f"203.0.113.{i}" for i in range(LIMIT))


def test_a_run_of_frames_noted_at_once_keeps_what_noting_them_one_by_one_keeps(
    small_limit: None,
) -> None:
    import random

    draw = random.Random(14)
    for _ in range(200):
        runs = []
        for _ in range(draw.randrange(1, 30)):
            addr = draw.choice(SPOOFED[:12])
            mac = _spoofed_mac(draw.randrange(3))  # one address, sometimes another MAC
            runs.append((addr, mac, draw.sample(range(1, 500), draw.randrange(1, 6))))
        one_by_one, at_once = engine.HostTable(), engine.HostTable()
        for addr, mac, orders in runs:
            for order in orders:
                one_by_one.note(addr, mac, order)
            at_once.note_run(addr, mac, orders)
        assert (at_once.macs, at_once.dropped, at_once.cutoff) == (
            one_by_one.macs,
            one_by_one.dropped,
            one_by_one.cutoff,
        ), runs
