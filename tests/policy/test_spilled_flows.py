"""Flows the traffic stage spilled past flows.NETWORK_LIMIT (a flood from spoofed sources)
lost their addresses: no statement can say which device sent or received them, so a
capture that holds them never reads isolated, overall or for any device (fail closed),
while a device seen crossing the boundary still makes it not isolated."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camaudit import cli, exitcodes
from camaudit.api import verify
from camaudit.audit import build_audit_report
from camaudit.knowledge.profiles import load_profiles
from camaudit.model import Assessment, Verdict
from camaudit.policy.evaluate import assess
from camaudit.policy.load import load_policy
from camaudit.traffic import engine, flows
from camaudit.traffic.engine import analyse
from tests.audit.reports import device, inventory
from tests.captures import CAM, CAM_MAC, GW, eth, tcp, udp, write_pcap

LIMIT = 2
CLOSED = ("10.66.0.0/24",)
HIDDEN = "203.0.113.77"  # the camera's SYN past the limits: in the spilled entry only


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (engine, flows):
        monkeypatch.setattr(module, "FLOW_LIMIT", LIMIT)
        monkeypatch.setattr(module, "PAIR_LIMIT", LIMIT)
        monkeypatch.setattr(module, "NETWORK_LIMIT", LIMIT)


def _capture(tmp_path: Path, crossing: bool = False) -> Path:
    """Frame 1: the camera asks the gateway (inside); ``crossing``: then completes a
    connection to 203.0.113.9 (frames 2-3). Then a flood between spoofed outside addresses
    fills the flows, pairs and networks and spills; last, the camera's SYN to HIDDEN."""
    packets = [udp(CAM, GW, 40000, 123)]
    if crossing:
        packets += [tcp(CAM, "203.0.113.9", 40001, 443, "S")]
        packets += [tcp("203.0.113.9", CAM, 443, 40001, "SA")]
    packets += [udp(f"192.0.2.{i}", f"198.51.100.{i}", 1000 + i, 9) for i in range(1, 21)]
    packets.append(tcp(CAM, HIDDEN, 40002, 443, "S"))
    frames = [(1_700_000_000.0 + i / 10, eth(p)) for i, p in enumerate(packets)]
    return write_pcap(tmp_path / "flood.pcap", frames)


def _assess(path: Path) -> Assessment:
    policy = load_policy(None, CLOSED)
    return assess(analyse([path]), policy, load_profiles(), today=date(2026, 12, 2))


def test_a_capture_whose_flows_spilled_is_inconclusive_never_isolated(tmp_path: Path) -> None:
    path = _capture(tmp_path)
    summary = analyse([path])
    (problem,) = [p for p in summary.problems if p.code == "flows_spilled"]
    # UDP: frames 1-2 flows, 3-4 pairs, 5-6 networks, 7-21 spill; TCP: the camera's SYN
    # (frame 22) is the first of its protocol past every limit, and spills too
    assert dict(problem.params)["frames"] == "7, 22"
    assert problem.count == 15 + 1
    result = _assess(path)
    assert result.verdict == Verdict.INCONCLUSIVE
    assert any("packet(s) are counted in one entry" in r.text for r in result.reasons)
    assert not any(HIDDEN in o.remote for o in result.outbound)  # its address is lost


def test_a_device_next_to_a_spilled_flood_is_inconclusive_not_isolated(tmp_path: Path) -> None:
    verified = verify([_capture(tmp_path)], CLOSED)
    assert verified.report.verdict == Verdict.INCONCLUSIVE
    report = build_audit_report(
        verified.report,
        inventory(device(CAM, CAM_MAC)),
        recording=None,
        credentials=False,
        passive=verified.traffic.passive,
    )
    (cam,) = [d for d in report.audit.devices if d.ip == CAM]
    assert cam.verdict.verdict == Verdict.INCONCLUSIVE
    assert all(d.verdict.verdict != Verdict.ISOLATED for d in report.audit.devices)


def test_a_crossing_seen_before_the_flood_spilled_still_makes_it_not_isolated(
    tmp_path: Path,
) -> None:
    result = _assess(_capture(tmp_path, crossing=True))
    assert result.verdict == Verdict.NOT_ISOLATED
    assert any(f.rule == "BOUNDARY-CROSSED-OUT" for f in result.findings)


def test_a_spilled_entry_with_both_ends_a_whole_family_is_not_taken_for_a_neighbour(
    tmp_path: Path,
) -> None:
    summary = analyse([_capture(tmp_path)])
    spilled = [f for f in summary.flows if (f.orig, f.resp) == ("0.0.0.0/0", "0.0.0.0/0")]
    assert {f.proto for f in spilled} == {"udp", "tcp"}
    result = _assess(_capture(tmp_path))
    # not dropped as a foreign host on the segment, and no device: the problem speaks for it
    assert not [f for f in result.findings if f.rule == "FOREIGN-ADDRESS-ON-SEGMENT"]
    assert all("/" not in d.ip for d in result.devices)
    # a closed network of every IPv4 address holds the whole family: inside, so internal
    everything = load_policy(None, ("0.0.0.0/0",))
    assert everything.scope.is_local("0.0.0.0/0")
    assert not load_policy(None, CLOSED).scope.is_local("0.0.0.0/0")


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_verify_exits_inconclusive_and_every_format_names_the_spill(
    tmp_path: Path, lang: str
) -> None:
    path = _capture(tmp_path)
    report = tmp_path / "report.json"
    args = ["verify", str(path), "-n", CLOSED[0], "-f", "json", "-o", str(report)]
    result = CliRunner().invoke(cli.app, [*args, "--lang", lang])
    assert result.exit_code == exitcodes.INCONCLUSIVE
    data = json.loads(report.read_text())
    assert data["verdict"] == "inconclusive"
    assert "flows_spilled" in {p["code"] for p in data["problems"]}
    for fmt in ("console", "markdown", "html", "sarif"):
        out = tmp_path / f"report.{fmt}"
        shown = CliRunner().invoke(cli.app, [*args[:-4], "-f", fmt, "-o", str(out), "--lang", lang])
        assert shown.exit_code == exitcodes.INCONCLUSIVE, fmt
        text = out.read_text()
        said = "0.0.0.0/0, ::/0" if fmt != "html" else "0.0.0.0/0"
        assert said in text, fmt
        if lang == "nl":
            assert "adresfamilie" in text, fmt
