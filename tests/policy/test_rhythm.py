"""Phone-home rhythm: a device that retries a destination on a timer is named as such."""

from __future__ import annotations

import json
import random
import tomllib
from functools import cache
from pathlib import Path

import jsonschema
import pytest

from camaudit import verify
from camaudit.api import VerifyResult
from camaudit.i18n import translator
from camaudit.policy.rhythm import REPORT_FROM, bowley_skew, detect, score_series
from camaudit.report.console import describe_rhythm, render_text
from camaudit.report.model import from_json, schema, to_dict, to_json
from tests.audit.reports import CAM1_IP, CAM1_MAC, audit_of, device
from tests.conftest import PCAPS
from tests.traffic.test_zeek_logs import samples  # noqa: F401 - a fixture

CASE = PCAPS / "phone-home-rhythm"
CAPTURE = CASE / "phone-home-rhythm.pcap"
CLOSED = ["10.66.0.0/24", "fd66::/64"]


@cache
def _result() -> VerifyResult:
    return verify([CAPTURE], closed_network=CLOSED)


def _timers() -> list[dict[str, object]]:
    with (CASE / "expect.toml").open("rb") as handle:
        rows: list[dict[str, object]] = tomllib.load(handle)["rhythm"]
    return rows


# -- the score --------------------------------------------------------------------------


def test_a_timer_every_60_s_with_one_second_of_jitter_scores_high() -> None:
    rng = random.Random(1)
    starts = [i * 60 + rng.uniform(-1, 1) for i in range(31)]
    scores = score_series(starts, [74] * 31)
    assert abs(scores.period - 60) < 1.5
    assert scores.jitter <= 1
    assert scores.score > 0.8 > REPORT_FROM


@pytest.mark.parametrize("seed", range(5))
def test_random_gaps_score_below_the_reporting_threshold(seed: int) -> None:
    rng = random.Random(seed)
    uniform, exponential = [0.0], [0.0]
    for _ in range(30):
        uniform.append(uniform[-1] + rng.uniform(0.3, 3.7))
        exponential.append(exponential[-1] + rng.expovariate(1 / 60))
    same_size = [74] * 31  # random timing of one kind of packet: sizes alone prove nothing
    assert score_series(uniform, same_size).score < REPORT_FROM
    assert score_series(exponential, same_size).score < REPORT_FROM


def test_a_timer_that_paused_scores_lower_than_one_that_did_not() -> None:
    steady = [i * 10.0 for i in range(20)]
    paused = steady[:10] + [t + 500 for t in steady[10:]]
    assert score_series(paused, [60] * 20).timing < score_series(steady, [60] * 20).timing


def test_sizes_that_vary_widely_lower_the_score() -> None:
    starts = [i * 5.0 for i in range(20)]
    rng = random.Random(3)
    assert score_series(starts, [rng.randint(60, 1500) for _ in starts]).size < 0.6
    assert score_series(starts, [300] * 20).size == 1.0


def test_fewer_than_four_connections_are_no_rhythm() -> None:
    assert score_series([0.0, 60.0, 120.0], [74, 74, 74]).score == 0.0


def test_a_burst_of_parallel_connections_is_no_rhythm() -> None:
    burst = [100 + i * 0.0004 for i in range(6)]  # six at once, as a browser opens them
    assert score_series(burst, [517] * 6).score == 0.0


def test_bowley_skew_is_zero_when_symmetric_and_near_one_when_lopsided() -> None:
    assert bowley_skew([1, 2, 3, 4, 5]) == 0.0
    assert bowley_skew([1, 1.1, 1.2, 1.3, 9, 10, 11]) > 0.9  # a long tail of late ones
    assert bowley_skew([1, 1.5, 2, 2.01, 2.02]) == pytest.approx(-0.96, abs=0.01)
    assert bowley_skew([2.0, 2.000001, 2.000002, 2.000004], floor=0.02) == 0.0


# -- the lab capture ---------------------------------------------------------------------


def test_the_lab_timer_is_found_with_its_period_count_and_a_high_score() -> None:
    regular = next(t for t in _timers() if t["regular"])
    (found,) = _result().report.rhythm
    assert (found.device, found.destination, found.destination_kind) == (
        regular["device"],
        regular["dst"],
        "address",
    )
    assert (found.proto, found.port, found.count) == ("tcp", regular["port"], regular["count"])
    assert found.period == pytest.approx(regular["median_interval"], abs=0.05)
    assert found.jitter < 0.05
    assert found.score > 0.95
    assert found.crossed == 0  # every try was rejected by the gateway
    assert found.last.time - found.first.time == pytest.approx(2.0 * 14, abs=0.5)


def test_the_lab_random_sender_scores_low_and_is_not_reported() -> None:
    irregular = next(t for t in _timers() if not t["regular"])
    flows = [o.flow for o in _result().assessment.outbound if o.remote == irregular["dst"]]
    assert len(flows) == irregular["count"]
    scores = score_series([f.first.time for f in flows], [f.orig_bytes for f in flows])
    assert scores.score < REPORT_FROM
    assert all(r.destination != irregular["dst"] for r in _result().report.rhythm)


def test_rhythm_explains_and_never_changes_the_verdict() -> None:
    result = _result()
    assert result.assessment.verdict == "isolated_with_attempts"
    assert detect(result.assessment.outbound) == result.assessment.rhythms
    assert result.report.exit_code == 1


def test_the_report_carries_the_rhythm_in_json_that_reads_back() -> None:
    report = _result().report
    data = to_dict(report)
    jsonschema.validate(data, schema())
    assert data["rhythm"][0]["count"] == 15
    assert from_json(to_json(report)) == report


def test_a_report_without_rhythm_has_no_rhythm_key() -> None:
    report = verify([PCAPS / "syn-dropped" / "syn-dropped.pcap"], closed_network=CLOSED).report
    assert report.rhythm == ()
    assert "rhythm" not in json.loads(to_json(report))


@pytest.mark.parametrize(
    ("lang", "sentence", "heading"),
    [
        (
            "en",
            "10.66.0.21 tried 203.0.113.5 (tcp/443) every 2 s (±0 s), 15 times from ",
            "Phone-home rhythm",
        ),
        (
            "nl",
            "10.66.0.21 probeerde 203.0.113.5 (tcp/443) te bereiken, elke 2 s (±0 s), 15 keer ",
            "Verbindingen op een vast ritme",
        ),
    ],
)
def test_the_console_says_in_words_what_the_rhythm_means(
    lang: str, sentence: str, heading: str
) -> None:
    t = translator(lang, strict=True)
    (found,) = _result().report.rhythm
    words = describe_rhythm(found, t)
    assert words.startswith(sentence)
    assert words.endswith("203.0.113.5.") or words.endswith("203.0.113.5 te bereiken.")
    assert heading in render_text(_result().report, t)


# -- Zeek logs ---------------------------------------------------------------------------


def test_zeek_logs_give_rhythms_that_point_at_log_lines(samples: Path) -> None:  # noqa: F811
    result = verify([], zeek=[samples / "rita-rotated-gz"])
    assert result.report.rhythm, "the 16:00 conn.log repeats a connection every ~15 min"
    for found in result.report.rhythm:
        assert found.first.capture.endswith(".log.gz")  # evidence: the log file and its line
        assert found.first.frame >= 1
        assert found.period >= 0.5  # never a burst of parallel connections
        assert found.score >= REPORT_FROM


def test_an_audit_carries_and_shows_the_rhythm_of_its_verify_part() -> None:
    report = audit_of(["phone-home-rhythm"], device(CAM1_IP, CAM1_MAC))
    assert report.rhythm == _result().report.rhythm
    assert from_json(to_json(report)) == report
    assert "Phone-home rhythm" in render_text(report, translator("en", strict=True))
