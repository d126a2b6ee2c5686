"""A DNS flood in the traffic stage: a client's first ``DNS_LIMIT`` look-ups at a resolver
stay one by one; later ones are counted per name, type and answer, and past ``NAME_LIMIT``
such groups without the names. The report's DNS list and memory stay bounded, the report
says what was counted together, and every look-up is still judged: a group without names
is judged as outside names no rule allows, with every address its answers gave (fail
closed), while a name asked again and again is judged by its name, as before."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jsonschema
import pytest

from camaudit.i18n import translator
from camaudit.knowledge.profiles import load_profiles
from camaudit.model import Assessment, FrameRef, TrafficSummary, Verdict
from camaudit.policy.evaluate import assess
from camaudit.policy.load import load_policy
from camaudit.report.build import build_report
from camaudit.report.model import from_json, schema, to_dict, to_json
from camaudit.report.render import render
from camaudit.traffic import dnslog
from camaudit.traffic.apps import DnsMessage
from camaudit.traffic.engine import analyse
from tests.captures import CAM, GW, write_pcap
from tests.policy.test_dns_flood import T0, _answer, _flood, _query

DNS_LIMIT, NAME_LIMIT = 10, 20


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dnslog, "DNS_LIMIT", DNS_LIMIT)
    monkeypatch.setattr(dnslog, "NAME_LIMIT", NAME_LIMIT)


def _traffic(tmp_path: Path, packets: list[bytes]) -> TrafficSummary:
    frames = [(T0 + i / 10, p) for i, p in enumerate(packets)]
    return analyse([write_pcap(tmp_path / "dns.pcap", frames)])


def _assess(traffic: TrafficSummary) -> Assessment:
    policy = load_policy(None, ("10.66.0.0/24",))
    return assess(traffic, policy, load_profiles(), date(2026, 12, 2))


def test_a_flood_of_made_up_names_keeps_the_first_look_ups_then_counts_the_rest(
    tmp_path: Path,
) -> None:
    traffic = _traffic(tmp_path, _flood(40))
    exact = [d for d in traffic.dns if not d.pooled]
    named = [d for d in traffic.dns if d.pooled and not d.names_pooled]
    (unnamed,) = [d for d in traffic.dns if d.names_pooled]
    assert [d.name for d in exact] == [f"n{n}.flood.example" for n in range(DNS_LIMIT)]
    assert [d.name for d in named] == [f"n{n}.flood.example" for n in range(10, 30)]
    assert all(d.pooled == 1 for d in named)
    assert (unnamed.name, unnamed.pooled, unnamed.query and unnamed.query.frame) == (
        "n30.flood.example",
        10,
        31,
    )
    (problem,) = [p for p in traffic.problems if p.code == "dns_pooled"]
    assert problem.count == 30
    params = dict(problem.params)
    assert params["unnamed"] == 10
    assert params["frames"] == ", ".join(str(f) for f in range(11, 21))
    assert params["more"] == ", ..."
    result = _assess(traffic)
    assert result.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    assert sum(d.lookup.pooled or 1 for d in result.dns) == 40  # each one counted


def test_a_name_asked_again_and_again_is_one_entry_judged_by_its_name(tmp_path: Path) -> None:
    """A single-label name (the site's own, resolved by search domain) answered with an
    inside address, asked 50 times: counted together past the limit, still not outside."""
    packets = []
    for n in range(50):
        packets += [_query(n, "nvr"), _answer(n, "nvr", "10.66.0.5")]
    traffic = _traffic(tmp_path, packets)
    assert len(traffic.dns) == DNS_LIMIT + 1
    (pooled,) = [d for d in traffic.dns if d.pooled]
    assert (pooled.pooled, pooled.names_pooled, pooled.answers) == (40, False, ("10.66.0.5",))
    assert (pooled.query and pooled.query.frame, pooled.response and pooled.response.frame) == (
        21,
        22,
    )
    assert _assess(traffic).verdict == Verdict.ISOLATED


def test_inside_names_past_the_name_limit_are_judged_as_outside_names(tmp_path: Path) -> None:
    """Fail closed: once names are not kept, nothing says they were the site's own."""
    packets = [_query(n, f"host{n}") for n in range(40)]  # single-label: inside, each
    traffic = _traffic(tmp_path, packets)
    result = _assess(traffic)
    assert result.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    (finding,) = [f for f in result.findings if f.rule == "DNS-EXTERNAL-LOOKUP"]
    assert dict(finding.summary.params)["count"] == 10
    assert [e.frames for e in finding.evidence] == [(31,)]


def test_an_outside_answer_among_look_ups_without_names_makes_it_not_isolated(
    tmp_path: Path,
) -> None:
    packets = []
    for n in range(39):  # made-up outside names, answered with an inside address
        packets += [_query(n, f"n{n}.flood.example"), _answer(n, f"n{n}.flood.example", GW)]
    packets += [_query(39, "x.example"), _answer(39, "x.example", "203.0.113.9")]
    traffic = _traffic(tmp_path, packets)
    (unnamed,) = [d for d in traffic.dns if d.names_pooled]
    assert (unnamed.name, unnamed.pooled) == ("n30.flood.example", 10)
    assert unnamed.answers == (GW, "203.0.113.9") and unnamed.rcode == "NOERROR"
    result = _assess(traffic)
    assert result.verdict == Verdict.NOT_ISOLATED
    (resolved,) = [f for f in result.findings if f.rule == "DNS-EXTERNAL-RESOLVED"]
    assert resolved.severity == "high"
    assert resolved.summary.code == "dns_resolved_summarised"


def test_answers_past_the_answer_limit_are_kept_as_networks_then_as_everything() -> None:
    pool = dnslog._Pool(dnslog.DnsLookup("a", "A", CAM, GW, None))
    inside = [f"10.66.0.{i}" for i in range(1, 41)]
    outside = [f"198.51.{i}.1" for i in range(40)]
    for answer in inside:
        pool._answer(answer)
    assert list(pool.answers) == [*inside[:16], "10.66.0.0/24"]  # all of it inside
    for answer in outside:
        pool._answer(answer)
    kept = list(pool.answers)
    assert kept[17:32] == [f"198.51.{i}.0/24" for i in range(15)]
    assert kept[32:] == ["0.0.0.0/0"]  # past as many networks: the whole family
    pool._answer("2001:db8::1")
    assert list(pool.answers)[-1] == "::/0"


def test_a_report_with_counted_look_ups_is_valid_and_says_so(tmp_path: Path) -> None:
    traffic = _traffic(tmp_path, _flood(40))
    report = build_report(_assess(traffic), traffic)
    jsonschema.validate(to_dict(report), schema())
    assert from_json(to_json(report)) == report
    assert report.summary.dns_lookups == 40
    for lang, words in (
        ("en", ("counted together", "not kept")),
        ("nl", ("samen geteld", "niet bewaard")),
    ):
        t = translator(lang, strict=True)
        for fmt in ("console", "html"):
            text = render(report, fmt, t)
            assert all(w in text for w in words), (lang, fmt)
    data = to_dict(report)
    assert [d.get("pooled") for d in data["dns"]].count(None) == DNS_LIMIT  # omitted: one each


def test_questions_past_the_waiting_limit_are_counted_in_frame_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dnslog, "PENDING_LIMIT", 3)
    traffic = _traffic(tmp_path, _flood(40))
    named = [d for d in traffic.dns if d.pooled and not d.names_pooled]
    assert [d.name for d in named] == [f"n{n}.flood.example" for n in range(10, 30)]
    (unnamed,) = [d for d in traffic.dns if d.names_pooled]
    assert (unnamed.name, unnamed.pooled) == ("n30.flood.example", 10)


def test_a_pooled_question_whose_answer_the_snaplen_cut_counts_as_truncated() -> None:
    log = dnslog.DnsLog()
    asked = [
        DnsMessage(n, False, ((f"n{n}.flood.example", "A"),), "NOERROR", ()) for n in range(12)
    ]
    for n, msg in enumerate(asked):  # ten kept one by one, two waiting for their answer
        log.add(msg, FrameRef("f", n + 1, T0 + n), CAM, 40000, GW, 53, truncated=False)
    answer = asked[11]._replace(
        is_response=True, answers=(("n11.flood.example", "A", "203.0.113.9"),)
    )
    log.add(answer, FrameRef("f", 13, T0 + 12), GW, 53, CAM, 40000, truncated=True)
    (cut,) = [d for d in log.ordered() if d.truncated]
    assert (cut.name, cut.pooled, cut.response) == (
        "n11.flood.example",
        1,
        FrameRef("f", 13, T0 + 12),
    )
    assert log.truncated() == 1
