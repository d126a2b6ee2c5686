"""`watch` state across files, without recording: stored captures cut up by editcap.

Each piece is folded in as dumpcap's ring would hand it over; the running state must
be the state of the whole capture, each file must be read once (never again when the
next one closes), and an alert must be raised once, not per file.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from camaudit import verify
from camaudit.i18n import translator
from camaudit.knowledge import load_knowledge
from camaudit.policy.load import load_policy
from camaudit.report.alerts import alert_line, file_line, write_json_line
from camaudit.traffic import parallel
from camaudit.watch import Alert, Watch
from tests.captures import write_pcap
from tests.conftest import PCAPS, need_tool

CLOSED = ("10.66.0.0/24", "fd66::/64")


def _pieces(capture: Path, first: int, into: Path) -> list[Path]:
    """``capture`` cut after frame ``first`` (editcap), as two files in time order."""
    need_tool("editcap")
    subprocess.run(
        ["editcap", "-c", str(first), str(capture), str(into / "piece.pcap")], check=True
    )
    pieces = sorted(into.glob("piece_*.pcap"))
    assert len(pieces) == 2
    return pieces


def _ranges(capture: Path, ranges: list[str], into: Path) -> list[Path]:
    """``capture``'s frames in ``ranges`` ("1-16" ...), one file each, in time order."""
    need_tool("editcap")
    pieces = []
    for i, frames in enumerate(ranges, 1):
        piece = into / f"ring_{i:05d}.pcap"
        subprocess.run(["editcap", "-r", str(capture), str(piece), frames], check=True)
        pieces.append(piece)
    return pieces


def _watch() -> Watch:
    return Watch(load_policy(None, CLOSED), load_knowledge(None))


def test_a_flow_cut_between_two_files_is_one_flow_and_alerted_once(tmp_path: Path) -> None:
    # syn-dropped: frames 16-18 are one connection's SYN and its two retransmissions.
    first, second = _pieces(PCAPS / "syn-dropped" / "syn-dropped.pcap", 16, tmp_path)
    state = _watch()
    alerts = state.add(first)
    assert [(a.finding.rule, a.finding.device) for a in alerts if a.finding] == [
        ("OUTBOUND-ATTEMPT", "10.66.0.21")
    ]
    assert state.add(second) == []  # the same attempt, grown by two SYNs: no new alert
    report = state.report()
    assert report is not None
    (flow,) = report.outbound
    assert (flow.packets_out, flow.capture, flow.first_frame) == (3, str(first), 16)
    assert (flow.last_capture, flow.last_frame) == (str(second), 2)
    whole = verify([PCAPS / "syn-dropped" / "syn-dropped.pcap"], closed_network=CLOSED).report
    assert (report.verdict, report.summary.flows) == (whole.verdict, whole.summary.flows)


def test_a_rhythm_is_alerted_once_when_it_first_shows(tmp_path: Path) -> None:
    first, second = _pieces(PCAPS / "phone-home-rhythm" / "phone-home-rhythm.pcap", 40, tmp_path)
    state = _watch()
    early = [a.rhythm for a in state.add(first) if a.rhythm]
    late = [a.rhythm for a in state.add(second) if a.rhythm]
    assert len(early + late) == 1
    (found,) = early + late
    assert (found.device, found.destination, found.port) == ("10.66.0.21", "203.0.113.5", 443)
    report = state.report()
    assert report is not None
    assert [r.count for r in report.rhythm] == [15]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_alert_lines_are_one_translated_line_and_json(tmp_path: Path, lang: str) -> None:
    state = _watch()
    path = PCAPS / "phone-home-rhythm" / "phone-home-rhythm.pcap"
    alerts: list[Alert] = state.add(path)
    t = translator(lang, strict=True)
    kinds = {"finding": 0, "rhythm": 0}
    for alert in alerts:
        line = alert_line(alert, t)
        assert "\n" not in line and "10.66.0.21" in line
        out = io.StringIO()
        write_json_line(alert, out)
        data = json.loads(out.getvalue())
        kinds[data["alert"]] += 1
        assert data["file"] == str(path)
    # 30 rejected tries to two destinations: one alert per destination, and the rhythm
    assert kinds == {"finding": 2, "rhythm": 1}
    assert "phone-home-rhythm.pcap" in file_line(path, state, t)


def test_each_file_is_read_once_and_a_flow_over_three_files_is_one_flow_alerted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # syn-dropped frames 16, 17, 18: one connection's SYN and its two retransmissions,
    # each in a file of its own, as a ring rotating every second would cut them.
    whole_path = PCAPS / "syn-dropped" / "syn-dropped.pcap"
    files = _ranges(whole_path, ["1-16", "17", "18"], tmp_path)
    read: list[Path] = []
    real_work = parallel.work

    def counted(part: parallel.Part) -> parallel.PartResult:  # the real reader, noted
        read.append(part.path)
        return real_work(part)

    monkeypatch.setattr(parallel, "work", counted)
    state = _watch()
    alerts = [state.add(f) for f in files]
    assert read == files  # one read per file: nothing read again when the next closes
    assert [(a.finding.rule, a.finding.device) for a in alerts[0] if a.finding] == [
        ("OUTBOUND-ATTEMPT", "10.66.0.21")
    ]
    assert alerts[1:] == [[], []]  # the same attempt, grown by a SYN per file: no new alert
    report = state.report()
    assert report is not None
    (flow,) = report.outbound
    assert flow.packets_out == 3
    assert (flow.capture, flow.first_frame, flow.last_capture, flow.last_frame) == (
        str(files[0]),
        16,
        str(files[2]),
        1,
    )
    whole = verify([whole_path], closed_network=CLOSED).report
    assert (report.verdict, report.summary.flows, report.summary.findings) == (
        whole.verdict,
        whole.summary.flows,
        whole.summary.findings,
    )
    assert [f.rule for f in report.findings] == [f.rule for f in whole.findings]


def test_a_rhythm_over_three_files_is_one_series_alerted_once(tmp_path: Path) -> None:
    capture = PCAPS / "phone-home-rhythm" / "phone-home-rhythm.pcap"
    files = _ranges(capture, ["1-30", "31-60", "61-200"], tmp_path)
    state = _watch()
    alerts = [a for f in files for a in state.add(f)]
    assert len([a for a in alerts if a.rhythm]) == 1  # shown once, when it first shows
    found = [a.finding.summary.text for a in alerts if a.finding]
    # 30 tries to two destinations over three files, each alerted once. One SYN to :443
    # (frame 60) is the last frame of the second file and its reset the first of the
    # third: until the third is read that try is "attempted", a state not seen before,
    # so alerted; once its reset is read it is "rejected" as before: no new alert.
    assert sorted(found) == [
        "10.66.0.21 → 198.51.100.10:8443/tcp: rejected",
        "10.66.0.21 → 203.0.113.5:443/tcp: attempted",
        "10.66.0.21 → 203.0.113.5:443/tcp: rejected",
    ]
    report = state.report()
    assert report is not None
    (rhythm,) = report.rhythm
    assert (rhythm.destination, rhythm.port, rhythm.count) == ("203.0.113.5", 443, 15)
    assert rhythm.first.capture == str(files[0]) and rhythm.last.capture == str(files[2])


def test_summarising_leaves_the_folded_state_whole(tmp_path: Path) -> None:
    # The summary after each file must not eat the state the next file folds into.
    whole_path = PCAPS / "phone-home-rhythm" / "phone-home-rhythm.pcap"
    first, second = _ranges(whole_path, ["1-40", "41-200"], tmp_path)
    folder = parallel.Folder()
    folder.add(first, str(first))
    once = folder.summary()
    assert folder.summary() == once and once.flows
    folder.add(second, str(second))
    both = folder.summary()
    whole = verify([whole_path], closed_network=CLOSED).traffic
    assert (len(both.flows), both.packets) == (len(whole.flows), whole.packets)
    assert [(f.orig, f.orig_port, f.resp, f.resp_port, f.conn_state) for f in both.flows] == [
        (f.orig, f.orig_port, f.resp, f.resp_port, f.conn_state) for f in whole.flows
    ]


def test_a_flood_summarised_past_the_limit_is_alerted_once_as_its_count_grows(
    tmp_path: Path,
) -> None:
    from camaudit.policy.evaluate import DETAIL_LIMIT
    from tests.captures import CAM, eth, tcp, write_pcap

    def syns(start: int, count: int) -> list[tuple[float, bytes]]:
        return [
            (1_700_000_000 + i / 100, eth(tcp(CAM, f"203.0.113.{1 + i % 200}", 20000 + i, 80, "S")))
            for i in range(start, start + count)
        ]

    first = write_pcap(tmp_path / "ring_00001.pcap", syns(0, DETAIL_LIMIT + 10))
    second = write_pcap(tmp_path / "ring_00002.pcap", syns(DETAIL_LIMIT + 10, 20))
    state = _watch()
    alerts = [a.finding for a in state.add(first) if a.finding]
    summarised = [f for f in alerts if f.summary.code == "flows_summarised"]
    # one alert per remote listed (200 of them: the same words), one for the summary
    assert len(alerts) == 200 + 1 and len(summarised) == 1
    assert dict(summarised[0].summary.params)["count"] == 10
    assert [a for a in state.add(second) if a.finding] == []
    assert state.assessment is not None
    (grown,) = [f for f in state.assessment.findings if f.summary.code == "flows_summarised"]
    assert dict(grown.summary.params)["count"] == 30


@pytest.mark.parametrize("answered", [False, True], ids=["asked", "resolved"])
def test_a_dns_flood_summarised_past_the_limit_is_alerted_once_as_its_count_grows(
    tmp_path: Path, answered: bool
) -> None:
    """Past a device's first look-ups, its outside names are one finding per resolver,
    outcome and label: as more files come in its count and names grow, its alert is the
    group's, raised once."""
    from camaudit.policy.evaluate import DETAIL_LIMIT
    from tests.policy.test_dns_flood import T0, _answer, _query

    def lookups(start: int, count: int) -> list[tuple[float, bytes]]:
        frames = []
        for n in range(start, start + count):
            name = f"n{n}.flood.example"
            frames.append((T0 + n / 100, _query(n, name)))
            if answered:
                frames.append((T0 + n / 100 + 0.001, _answer(n, name, "203.0.113.9")))
        return frames

    code = "dns_resolved_summarised" if answered else "dns_summarised"
    first = write_pcap(tmp_path / "ring_00001.pcap", lookups(0, DETAIL_LIMIT + 1))
    second = write_pcap(tmp_path / "ring_00002.pcap", lookups(DETAIL_LIMIT + 1, 20))
    state = _watch()
    alerts = [a.finding for a in state.add(first) if a.finding]
    summarised = [f for f in alerts if f.summary.code == code]
    assert len(summarised) == 1 and dict(summarised[0].summary.params)["count"] == 1
    assert [a.finding.summary.code for a in state.add(second) if a.finding] == []
    assert state.assessment is not None
    (grown,) = [f for f in state.assessment.findings if f.summary.code == code]
    assert dict(grown.summary.params)["count"] == 21
