"""A week of conn logs: past the flow limit, conn rows are counted per address pair
(as the pcap path summarises flows past its limit), so memory stays bounded and nothing
is lost: every packet and byte is still in some flow."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from camaudit.model import Flow, TrafficSummary
from camaudit.traffic import zeek
from camaudit.traffic.zeek import analyse_zeek
from tests.traffic.test_zeek_logs import _samples

RITA_HOUR = Path("rita-rotated-gz") / "conn.16:00:00-17:00:00.log.gz"


@pytest.fixture(scope="module")
def samples() -> Path:
    return _samples()


def per_pair(flows: tuple[Flow, ...] | list[Flow]) -> dict[tuple[str, str, str], list[float]]:
    """Packets, bytes, earliest start and latest end per (proto, orig, resp)."""
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(
        lambda: [0, 0, 0, 0, float("inf"), float("-inf")]
    )
    for flow in flows:
        row = sums[(flow.proto, flow.orig, flow.resp)]
        row[0] += flow.orig_packets
        row[1] += flow.resp_packets
        row[2] += flow.orig_bytes
        row[3] += flow.resp_bytes
        row[4] = min(row[4], flow.first.time)
        row[5] = max(row[5], flow.last.time)
    return dict(sums)


def limited(monkeypatch: pytest.MonkeyPatch, folder: Path, limit: int) -> TrafficSummary:
    monkeypatch.setattr(zeek, "FLOW_LIMIT", limit)
    return analyse_zeek([folder])


@pytest.mark.parametrize("limit", [0, 1000])
def test_conn_rows_past_the_flow_limit_are_counted_per_address_pair(
    monkeypatch: pytest.MonkeyPatch, samples: Path, tmp_path: Path, limit: int
) -> None:
    """RITA's real hourly archive (7,260 rows): the plain TSV fast path."""
    folder = tmp_path / "hour"
    folder.mkdir()
    shutil.copy(samples / RITA_HOUR, folder)
    whole = analyse_zeek([folder])
    assert len(whole.flows) == 7260
    cut = limited(monkeypatch, folder, limit)
    # the file's first `limit` rows (after its 8 header lines) stay flows of their own
    exact = [f for f in whole.flows if f.first.frame <= 8 + limit]
    assert len(exact) == limit
    assert set(exact) <= set(cut.flows)
    summary = [f for f in cut.flows if f not in exact]
    assert all(f.orig_port == f.resp_port == 0 for f in summary)
    assert len(summary) == len({(f.proto, f.orig, f.resp) for f in summary})
    assert len(cut.flows) < len(whole.flows)
    assert per_pair(cut.flows) == per_pair(whole.flows)
    assert cut.packets == whole.packets
    assert cut.inputs[0].first_time == whole.inputs[0].first_time
    assert cut.inputs[0].last_time == whole.inputs[0].last_time
    problem = next(p for p in cut.problems if p.code == "flows_summarised")
    assert problem.count == whole.packets - sum(f.orig_packets + f.resp_packets for f in exact)
    assert f": {7260 - limit:,} later row(s)" in problem.message


def test_a_summarised_tcp_pair_keeps_every_state_its_rows_had(
    monkeypatch: pytest.MonkeyPatch, samples: Path, tmp_path: Path
) -> None:
    """Flag bits are a union per pair, as the pcap path's summarised flows: a pair that had
    a completed handshake in any row is not judged as an attempt only."""
    folder = tmp_path / "hour"
    folder.mkdir()
    shutil.copy(samples / RITA_HOUR, folder)
    whole = analyse_zeek([folder])
    cut = limited(monkeypatch, folder, 0)
    established = {
        (f.orig, f.resp) for f in whole.flows if f.proto == "tcp" and f.category == "two_way"
    }
    for flow in cut.flows:
        if flow.proto == "tcp" and (flow.orig, flow.resp) in established:
            assert flow.category == "two_way", flow


def test_json_conn_rows_past_the_limit_take_the_general_path_with_the_same_sums(
    monkeypatch: pytest.MonkeyPatch, samples: Path
) -> None:
    folder = samples / "zat-json"
    whole = analyse_zeek([folder])
    cut = limited(monkeypatch, folder, 0)
    assert per_pair(cut.flows) == per_pair(whole.flows)
    assert any(p.code == "flows_summarised" for p in cut.problems)


def test_a_verdict_from_summarised_rows_is_the_verdict_of_the_exact_rows(
    monkeypatch: pytest.MonkeyPatch, samples: Path, tmp_path: Path
) -> None:
    from camaudit.api import verify

    folder = tmp_path / "hour"
    folder.mkdir()
    shutil.copy(samples / RITA_HOUR, folder)
    exact = verify([], closed_network=["10.0.0.0/8"], zeek=[folder]).assessment.verdict
    monkeypatch.setattr(zeek, "FLOW_LIMIT", 0)
    summarised = verify([], closed_network=["10.0.0.0/8"], zeek=[folder]).assessment.verdict
    assert summarised == exact
