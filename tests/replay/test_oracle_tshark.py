"""An independent oracle: tshark must see the same conversations and the same frames.

For every stored capture (and the Zeek test captures in ../shared when present),
camaudit's TCP and UDP flows must equal tshark's own conversation list, and every
finding's display filter must show, in tshark, exactly the frames camaudit cites.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from camaudit import verify
from camaudit.report.model import to_dict
from camaudit.traffic.engine import analyse
from tests.captures import CAM, GW, NVR, OUT, eth, tcp, udp, write_pcap
from tests.conftest import SHARED, need_tool
from tests.replay.cases import capture_files, cases

CAPTURES = capture_files()
CASES = cases()
CLOSED = ("10.66.0.0/24", "fd66::/64")
T0 = 1_700_000_000.0
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


def _check_cited_frames(report: dict[str, Any], paths: list[Path]) -> int:
    """Every finding's filter shows in tshark exactly the frames it cites (a flow's filter:
    every packet of that flow). Returns how many pieces of evidence were checked."""
    flows = {(f.first.capture, f.first.frame): f for f in analyse(paths).flows}
    checked = 0
    for finding in report["findings"]:
        for evidence in finding["evidence"]:
            shown = tshark_frames(Path(evidence["capture"]), evidence["display_filter"])
            assert shown, (finding["rule"], evidence)
            flow = flows.get((evidence["capture"], evidence["frames"][0]))
            if evidence["display_filter"].startswith(("(ip.addr", "ipv6.addr")):
                assert flow is not None, evidence
                assert (shown[0], shown[-1]) == (flow.first.frame, flow.last.frame), evidence
                assert len(shown) == flow.orig_packets + flow.resp_packets, evidence
            else:
                assert shown == evidence["frames"], evidence
            checked += 1
    return checked


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_finding_filters_show_exactly_the_cited_frames(path: Path) -> None:
    case = next(c for c in CASES if path in c.captures)
    policy = case.folder / case.expect["policy"] if "policy" in case.expect else None
    report = to_dict(verify([path], closed_network=CLOSED, policy=policy).report)
    checked = _check_cited_frames(report, [path])
    for row in case.expect.get("foreign", []):
        (finding,) = [f for f in report["findings"] if f["device"] == row["address"]]
        assert finding["rule"] == "FOREIGN-ADDRESS-ON-SEGMENT"
        shown = {n for e in finding["evidence"] for n in tshark_frames(path, e["display_filter"])}
        assert shown == set(row["frames"])
    if report["verdict"] in ("not_isolated", "isolated_with_attempts") or report["findings"]:
        assert checked, "a verdict that found something must cite frames"


def test_flow_filter_shows_a_flow_over_ipv4_mapped_ipv6_addresses(tmp_path: Path) -> None:
    cam, out = f"::ffff:{CAM}", f"::ffff:{OUT}"
    frames = [
        eth(tcp(CAM, NVR, 40000, 554, "S")),
        eth(tcp(NVR, CAM, 554, 40000, "SA")),
        eth(tcp(cam, out, 40001, 443, "S")),
        eth(tcp(out, cam, 443, 40001, "SA")),
        eth(tcp(cam, out, 40001, 443, "A")),
    ]
    path = write_pcap(tmp_path / "mapped.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    report = to_dict(verify([path], closed_network=CLOSED).report)
    (finding,) = [f for f in report["findings"] if f["rule"] == "BOUNDARY-CROSSED-OUT"]
    (evidence,) = finding["evidence"]
    assert tshark_frames(path, evidence["display_filter"]) == [3, 4, 5]
    assert _check_cited_frames(report, [path]) == 1


def test_dns_filter_shows_a_look_up_of_a_mixed_case_name(tmp_path: Path) -> None:
    from scapy.layers.dns import DNS, DNSQR

    name = "LiteDev.EZVIZlife.COM"
    query = DNS(id=7, rd=1, qd=DNSQR(qname=name))
    reply = DNS(id=7, qr=1, rcode=3, qd=DNSQR(qname=name))
    frames = [
        eth(tcp(CAM, NVR, 40000, 554, "S")),
        eth(tcp(NVR, CAM, 554, 40000, "SA")),
        eth(udp(CAM, GW, 33000, 53, bytes(query))),
        eth(udp(GW, CAM, 53, 33000, bytes(reply))),
    ]
    path = write_pcap(tmp_path / "case.pcap", [(T0 + i, f) for i, f in enumerate(frames)])
    report = to_dict(verify([path], closed_network=CLOSED).report)
    (finding,) = report["findings"]
    assert finding["rule"] == "DNS-EXTERNAL-LOOKUP"
    (evidence,) = finding["evidence"]
    assert evidence["frames"] == [3, 4]
    assert tshark_frames(path, evidence["display_filter"]) == [3, 4]
