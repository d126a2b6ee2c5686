"""A DNS flood: past a device's first N look-up findings, its look-ups of outside names are
summarised per resolver, outcome and label, with their count and the frames of the first
ones; every look-up is still judged (an outside answer past the limit still crosses)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jsonschema
from scapy.layers.dns import DNS, DNSQR, DNSRR

from camaudit.i18n import translator
from camaudit.knowledge.profiles import load_profiles
from camaudit.model import Assessment, Verdict
from camaudit.policy.evaluate import assess
from camaudit.policy.load import load_policy
from camaudit.report.build import build_report
from camaudit.report.model import from_json, schema, to_dict, to_json
from camaudit.report.render import render
from camaudit.traffic.engine import analyse
from tests.captures import CAM, GW, eth, udp, write_pcap

T0 = 1_700_000_000.0


def _query(n: int, name: str) -> bytes:
    return eth(udp(CAM, GW, 20000 + n, 53, bytes(DNS(id=n, rd=1, qd=DNSQR(qname=name)))))


def _answer(n: int, name: str, address: str) -> bytes:
    reply = DNS(id=n, qr=1, qd=DNSQR(qname=name), an=[DNSRR(rrname=name, rdata=address)])
    return eth(udp(GW, CAM, 53, 20000 + n, bytes(reply)))


def _flood(count: int) -> list[bytes]:
    """Unanswered look-ups of ``count`` made-up names, one each, at the site's resolver."""
    return [_query(n, f"n{n}.flood.example") for n in range(count)]


def _assess(tmp_path: Path, packets: list[bytes], limit: int | None) -> Assessment:
    frames = [(T0 + i / 10, p) for i, p in enumerate(packets)]
    traffic = analyse([write_pcap(tmp_path / "dns.pcap", frames)])
    policy = load_policy(None, ("10.66.0.0/24",))
    return assess(traffic, policy, load_profiles(), date(2026, 12, 2), detail_limit=limit)


def test_a_dns_flood_past_the_limit_is_one_finding_with_its_count_and_first_frames(
    tmp_path: Path,
) -> None:
    result = _assess(tmp_path, _flood(30), limit=10)
    lookups = [f for f in result.findings if f.rule == "DNS-EXTERNAL-LOOKUP"]
    assert len(lookups) == 11
    (summary,) = [f for f in lookups if f.summary.code == "dns_summarised"]
    params = dict(summary.summary.params)
    assert params["count"] == 20 and params["server"] == GW
    assert params["names"] == "n10.flood.example, n11.flood.example, n12.flood.example"
    assert [e.frames for e in summary.evidence] == [(11,), (12,), (13,)]
    assert result.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    (said,) = [r for r in result.reasons if r.code == "summarised_lookups"]
    assert dict(said.params)["count"] == 20
    assert len(result.dns) == 30  # every look-up is still in the report's DNS list
    every = _assess(tmp_path, _flood(30), limit=None)
    assert len([f for f in every.findings if f.rule == "DNS-EXTERNAL-LOOKUP"]) == 30


def test_an_outside_answer_past_the_limit_still_makes_the_verdict_not_isolated(
    tmp_path: Path,
) -> None:
    answered = [_query(99, "cloud.example"), _answer(99, "cloud.example", "203.0.113.7")]
    result = _assess(tmp_path, [*_flood(5), *answered], limit=5)
    assert result.verdict == Verdict.NOT_ISOLATED
    (resolved,) = [f for f in result.findings if f.rule == "DNS-EXTERNAL-RESOLVED"]
    assert resolved.severity == "high"
    assert resolved.summary.code == "dns_resolved_summarised"
    assert [e.frames for e in resolved.evidence] == [(6, 7)]  # the query and its answer


def test_a_summarised_dns_report_is_valid_and_says_so_in_every_format(tmp_path: Path) -> None:
    result = _assess(tmp_path, _flood(12), limit=4)
    report = build_report(result, analyse([tmp_path / "dns.pcap"]))
    jsonschema.validate(to_dict(report), schema())
    assert from_json(to_json(report)) == report
    assert not result.outbound  # the look-ups went to the site's resolver: only they say it
    for lang, word in (("en", "summarised"), ("nl", "samengevat")):
        t = translator(lang, strict=True)
        for fmt in ("console", "markdown", "html", "sarif"):
            assert word in render(report, fmt, t), (lang, fmt)
    assert "summarised" in render(report, "json", translator("en"))  # JSON: in English
    assert "looked up 8 outside name" in render(report, "markdown", translator("en"))
