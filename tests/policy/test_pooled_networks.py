"""Flows the traffic stage pooled per source and destination network (a scan of many
addresses past flows.PAIR_LIMIT) are judged fail-closed: a network counts as inside only
when every address of it is, and a crossing in it cites frames an auditor can open."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import pytest

from camaudit.knowledge.profiles import load_profiles
from camaudit.model import Assessment, Verdict
from camaudit.policy.evaluate import assess
from camaudit.policy.load import load_policy
from camaudit.traffic import engine, flows
from camaudit.traffic.engine import analyse
from tests.captures import CAM, eth, tcp, write_pcap


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (engine, flows):
        monkeypatch.setattr(module, "FLOW_LIMIT", 2)
        monkeypatch.setattr(module, "PAIR_LIMIT", 2)


def _assess(path: Path, closed: tuple[str, ...]) -> Assessment:
    policy = load_policy(None, closed)
    return assess(analyse([path]), policy, load_profiles(), today=date(2026, 12, 2))


def _answered_scan(tmp_path: Path, network: str) -> Path:
    """SYNs from the camera to .1-.9 of ``network``; the last one is answered (SYN-ACK)."""
    packets = []
    for host in range(1, 10):
        packets.append(eth(tcp(CAM, f"{network}.{host}", 40000 + host, 8000, "S")))
    packets.append(eth(tcp(f"{network}.9", CAM, 8000, 40009, "SA")))
    frames = [(1_700_000_000.0 + i / 10, p) for i, p in enumerate(packets)]
    return write_pcap(tmp_path / "scan.pcap", frames)


def test_an_answered_connection_pooled_per_outside_network_is_a_crossing(
    tmp_path: Path,
) -> None:
    path = _answered_scan(tmp_path, "203.0.113")
    result = _assess(path, ("10.66.0.0/24",))
    assert result.verdict == Verdict.NOT_ISOLATED
    (crossed,) = [f for f in result.findings if f.rule == "BOUNDARY-CROSSED-OUT"]
    assert "203.0.113.0/24" in crossed.summary.text
    (evidence,) = crossed.evidence
    assert evidence.frames == (5, 10)  # the network's first SYN (to .5) and the SYN-ACK
    shown = subprocess.run(
        [
            "tshark",
            "-r",
            str(path),
            "-Y",
            evidence.display_filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # pooled packets kept no ports: the filter shows every TCP packet between the camera
    # and the network, the cited ones among them
    assert shown == [str(frame) for frame in range(1, 11)]


def test_a_pooled_network_only_partly_inside_the_closed_network_is_outside(
    tmp_path: Path,
) -> None:
    path = _answered_scan(tmp_path, "10.66.0")
    assert _assess(path, ("10.66.0.0/24",)).verdict == Verdict.ISOLATED
    # .5-.9 are pooled as 10.66.0.0/24, which no longer tells which addresses it held:
    # half of that network is outside 10.66.0.0/25, so it counts as outside
    half = _assess(path, ("10.66.0.0/25",))
    assert half.verdict == Verdict.NOT_ISOLATED
    assert any("10.66.0.0/24" in f.summary.text for f in half.findings)
