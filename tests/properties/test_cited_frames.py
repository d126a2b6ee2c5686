"""Every frame a finding cites is what ``tshark -Y`` shows with the finding's filter, and no
other: also when the evidence is several files read together, or one capture cut into parts.

Real tshark (tests/replay/test_oracle_tshark.py's ``tshark_frames``); a flow's filter shows every
packet of that flow, and a flow that runs across files is cited in each file it has packets in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from camaudit.api import verify
from camaudit.report.model import to_dict
from camaudit.traffic.engine import analyse
from tests.audit.reports import CLOSED
from tests.properties.test_split_captures import PCAP_FILES, PROPERTY, cut_captures, split
from tests.replay.test_oracle_tshark import tshark_frames

# tshark runs once per piece of evidence: a handful of examples each
FEW = settings(PROPERTY, max_examples=8)


def _check_parts(parts: list[Path]) -> None:
    """A flow cut between files is cited in each file it has packets in: there its filter
    shows the cited frames, and over all the parts exactly the flow's packets."""
    report = to_dict(verify(parts, closed_network=CLOSED).report)
    flows = {(f.first.capture, f.first.frame): f for f in analyse(parts).flows}
    for finding in report["findings"]:
        by_filter: dict[str, list[dict[str, Any]]] = {}
        for evidence in finding["evidence"]:
            by_filter.setdefault(evidence["display_filter"], []).append(evidence)
        for display_filter, pieces in by_filter.items():
            shown = {p: tshark_frames(p, display_filter) for p in parts}
            for evidence in pieces:
                cited = evidence["frames"]
                assert set(cited) <= set(shown[Path(evidence["capture"])]), evidence
            starts = [flows.get((e["capture"], e["frames"][0])) for e in pieces]
            if not display_filter.startswith(("(ip.addr", "ipv6.addr")):
                for evidence in pieces:  # not a flow's filter: exactly the cited frames
                    assert shown[Path(evidence["capture"])] == evidence["frames"], evidence
                continue
            (flow,) = [f for f in starts if f is not None]
            everywhere = sum(len(frames) for frames in shown.values())
            assert everywhere == flow.orig_packets + flow.resp_packets, pieces


@FEW
@given(case=cut_captures())
def test_findings_over_a_cut_capture_cite_what_tshark_shows_in_each_part(
    case: tuple[Path, list[int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path, cuts = case
    _check_parts(split(path, cuts, tmp_path_factory.mktemp("parts")))


@FEW
@given(paths=st.lists(st.sampled_from(PCAP_FILES), min_size=2, max_size=3, unique=True))
def test_findings_over_several_captures_cite_what_tshark_shows(paths: list[Path]) -> None:
    # captures of one lab hold the same conversations: a flow may run across files
    _check_parts(paths)
