"""An independent oracle: tshark must see the same conversations and the same frames.

For every stored capture (and the Zeek test captures in ../shared when present),
camaudit's TCP and UDP flows must equal tshark's own conversation list, and every
finding's display filter must show, in tshark, exactly the frames camaudit cites.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from camaudit import verify
from camaudit.traffic.engine import analyse
from tests.conftest import SHARED, need_tool
from tests.replay.cases import capture_files

CAPTURES = capture_files()
ZEEK_PCAPS = sorted(SHARED.glob("zeek-samples/*/*.pcap")) if SHARED.exists() else []


def _tshark(args: list[str]) -> str:
    """tshark's output; it exits 2 on a capture cut short but still prints what it read."""
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    cut_short = done.returncode == 2 and "cut short" in done.stderr
    assert done.returncode == 0 or cut_short, done.stderr
    return done.stdout


def _endpoint(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def tshark_conversations(path: Path) -> Counter[tuple[str, frozenset[tuple[str, int]], int]]:
    """(proto, {endpoint, endpoint}, total frames) for every TCP and UDP conversation."""
    tshark = need_tool("tshark")
    out = _tshark([tshark, "-n", "-r", str(path), "-q", "-z", "conv,tcp", "-z", "conv,udp"])
    convs: Counter[tuple[str, frozenset[tuple[str, int]], int]] = Counter()
    proto = ""
    for line in out.splitlines():
        if line.endswith("Conversations"):
            proto = line.split()[0].lower()
            continue
        fields = line.split()
        if len(fields) > 8 and fields[1] == "<->":
            ends = frozenset((_endpoint(fields[0]), _endpoint(fields[2])))
            # columns: <- frames, bytes, unit, -> frames, bytes, unit, total frames ...
            convs[(proto, ends, int(fields[9].replace(",", "")))] += 1
    return convs


def camaudit_conversations(path: Path) -> Counter[tuple[str, frozenset[tuple[str, int]], int]]:
    convs: Counter[tuple[str, frozenset[tuple[str, int]], int]] = Counter()
    for flow in analyse([path]).flows:
        if flow.proto in ("tcp", "udp"):
            ends = frozenset(((flow.orig, flow.orig_port), (flow.resp, flow.resp_port)))
            convs[(flow.proto, ends, flow.orig_packets + flow.resp_packets)] += 1
    return convs


@pytest.mark.parametrize("path", CAPTURES + ZEEK_PCAPS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_flows_match_tshark_conversations(path: Path) -> None:
    assert camaudit_conversations(path) == tshark_conversations(path)


def tshark_frames(path: Path, display_filter: str) -> list[int]:
    tshark = need_tool("tshark")
    out = _tshark(
        [tshark, "-n", "-r", str(path), "-Y", display_filter, "-T", "fields", "-e", "frame.number"]
    )
    return [int(x) for x in out.split()]


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_finding_filters_show_exactly_the_cited_frames(path: Path) -> None:
    report = verify([path], closed_network=("10.66.0.0/24", "fd66::/64")).report
    flows = {(o["capture"], o["first_frame"]): o for o in report["outbound"]}
    checked = 0
    for finding in report["findings"]:
        for evidence in finding["evidence"]:
            shown = tshark_frames(Path(evidence["capture"]), evidence["display_filter"])
            assert shown, (finding["rule"], evidence)
            if evidence["display_filter"].startswith(("ip.addr", "ipv6.addr")):
                flow = flows[(evidence["capture"], evidence["frames"][0])]
                assert (shown[0], shown[-1]) == (flow["first_frame"], flow["last_frame"])
                assert len(shown) == flow["packets_out"] + flow["packets_in"]
            else:
                assert shown == evidence["frames"]
            checked += 1
    if report["verdict"] in ("not_isolated", "isolated_with_attempts"):
        assert checked, "a verdict that found something must cite frames"
