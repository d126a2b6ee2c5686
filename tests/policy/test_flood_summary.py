"""A scan or a flood: past a device's first N boundary flows, findings are summarised.

Every flow is still judged (the verdict and the summary counts are those of every flow);
the first N of a device are listed one by one, each with its frames; later ones are one
finding per destination network, state and label, with their count and the frames of
their first flows, and the reasons say how many were summarised.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jsonschema
import pytest

from camaudit.i18n import translator
from camaudit.knowledge.profiles import load_profiles
from camaudit.model import Assessment, Verdict
from camaudit.policy import evaluate
from camaudit.policy.evaluate import SUMMARY_CITED, assess
from camaudit.policy.load import load_policy
from camaudit.report.build import build_report
from camaudit.report.model import from_json, schema, to_dict, to_json
from camaudit.report.render import render
from camaudit.traffic.engine import analyse
from tests.captures import CAM, GW, eth, tcp, write_pcap

T0 = 1_700_000_000.0
CLOSED = ("10.66.0.0/24",)


def _assess(
    tmp_path: Path, packets: list[bytes], limit: int | None, gap: float = 0.1
) -> Assessment:
    frames = [(T0 + i * gap, p) for i, p in enumerate(packets)]
    traffic = analyse([write_pcap(tmp_path / "scan.pcap", frames)])
    return assess(
        traffic,
        load_policy(None, CLOSED),
        load_profiles(),
        today=date(2026, 12, 2),
        detail_limit=limit,
    )


def _scan(count: int) -> list[bytes]:
    """One SYN each from the camera to 203.0.113.1..: a scan of the documentation range."""
    return [eth(tcp(CAM, f"203.0.113.{1 + i % 200}", 40000 + i, 80, "S")) for i in range(count)]


def test_a_scan_past_the_limit_is_summarised_with_its_count_and_first_frames(
    tmp_path: Path,
) -> None:
    result = _assess(tmp_path, _scan(60), limit=10)
    listed = [f for f in result.findings if f.summary.code == "flow"]
    summarised = [f for f in result.findings if f.summary.code == "flows_summarised"]
    assert len(result.outbound) == 10
    assert [e.frames for f in listed for e in f.evidence] == [(n,) for n in range(1, 11)]
    (summary,) = summarised
    assert summary.rule == "OUTBOUND-ATTEMPT" and summary.device == CAM
    assert dict(summary.summary.params)["count"] == 50
    assert "203.0.113.0/24:80/tcp" in summary.summary.text
    # the first flows past the limit keep their frame citations, each by its own filter
    assert [e.frames for e in summary.evidence] == [(11,), (12,), (13,)][:SUMMARY_CITED]
    assert all("tcp.port==80" in e.display_filter for e in summary.evidence)
    (said,) = [r for r in result.reasons if r.code == "summarised_device"]
    assert dict(said.params) == {"device": CAM, "count": 50, "limit": 10}
    assert result.summarised == 50


def test_summarising_never_changes_the_verdict_a_late_crossing_still_counts(
    tmp_path: Path,
) -> None:
    # 14 unanswered SYNs, then one connection that got out: the 15th boundary flow
    late = [
        eth(tcp(CAM, "198.51.100.7", 41000, 443, "S")),
        eth(tcp("198.51.100.7", CAM, 443, 41000, "SA"), src="02:00:00:00:00:01", dst=GW),
        eth(tcp(CAM, "198.51.100.7", 41000, 443, "A")),
    ]
    packets = _scan(14) + late
    every = _assess(tmp_path, packets, limit=None)
    summarised = _assess(tmp_path, packets, limit=5)
    assert every.verdict == summarised.verdict == Verdict.NOT_ISOLATED
    crossed = [f for f in summarised.findings if f.rule == "BOUNDARY-CROSSED-OUT"]
    (finding,) = crossed
    assert finding.severity == "high" and finding.summary.code == "flows_summarised"
    assert "198.51.100.7:443/tcp" in finding.summary.text
    assert finding.evidence[0].frames == (15, 17)
    report = build_report(summarised, analyse([tmp_path / "scan.pcap"]))
    assert report.summary.outbound == 15 and report.summary.crossed == 1


def test_a_timer_past_the_limit_is_still_a_rhythm(tmp_path: Path) -> None:
    phone_home = [eth(tcp(CAM, "203.0.113.9", 42000 + i, 443, "S")) for i in range(12)]
    every = _assess(tmp_path, phone_home, limit=None, gap=60.0)
    summarised = _assess(tmp_path, phone_home, limit=3, gap=60.0)
    assert [r.count for r in summarised.rhythms] == [r.count for r in every.rhythms] == [12]


def test_a_summarised_report_is_valid_json_reads_back_and_renders_in_every_format(
    tmp_path: Path,
) -> None:
    result = _assess(tmp_path, _scan(40), limit=4)
    report = build_report(result, analyse([tmp_path / "scan.pcap"]))
    jsonschema.validate(to_dict(report), schema())
    assert from_json(to_json(report)) == report
    for lang, word in (("en", "summarised"), ("nl", "samengevat")):
        t = translator(lang, strict=True)
        for fmt in ("console", "markdown", "html", "sarif"):
            assert word in render(report, fmt, t), (lang, fmt)
        # the council's CSV is one row per device: its verdict, from the summarised findings
        assert "isolated_with_attempts" in render(report, "csv", t)


def test_past_the_group_limit_a_flood_of_networks_is_one_group_per_address_family(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each remote in a network of its own (spoofed addresses, a scan of /64s): past a
    device's first GROUP_LIMIT groups, new networks join one group for the family."""
    monkeypatch.setattr(evaluate, "GROUP_LIMIT", 3)
    cam6 = "fd66::21"
    packets = [eth(tcp(cam6, f"2001:db8:0:{n:x}::1", 40000 + n, 443, "S")) for n in range(12)]
    frames = [(T0 + i * 0.1, p) for i, p in enumerate(packets)]
    traffic = analyse([write_pcap(tmp_path / "nets.pcap", frames)])
    policy = load_policy(None, ("fd66::/64",))
    every = assess(traffic, policy, load_profiles(), date(2026, 12, 2), detail_limit=None)
    result = assess(traffic, policy, load_profiles(), date(2026, 12, 2), detail_limit=2)
    assert result.verdict == every.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    summarised = [f for f in result.findings if f.summary.code == "flows_summarised"]
    networks = [dict(f.summary.params)["network"] for f in summarised]
    assert networks == ["2001:db8:0:2::/64", "2001:db8:0:3::/64", "2001:db8:0:4::/64", "::/0"]
    assert [dict(f.summary.params)["count"] for f in summarised] == [1, 1, 1, 7]
    assert [e.frames for e in summarised[-1].evidence] == [(6,), (7,), (8,)][:SUMMARY_CITED]
    assert result.summarised == 10
