"""The verdict: what counts as crossing, as an attempt, and as too weak to prove anything."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from camaudit.model import Assessment, Verdict
from camaudit.policy.evaluate import assess
from camaudit.policy.load import Policy, ServiceRule, load_policy
from camaudit.profiles import load_profiles
from camaudit.traffic.engine import analyse
from tests.captures import CAM, GW, NVR, OUT, eth, icmp, tcp, udp, write_pcap

T0 = 1_700_000_000.0
CLOSED = ("10.66.0.0/24",)


def _assess(
    tmp_path: Path, packets: list[bytes], policy: Policy | None = None, snaplen: int = 65535
) -> Assessment:
    frames = [(T0 + i * 0.1, p) for i, p in enumerate(packets)]
    traffic = analyse([write_pcap(tmp_path / "v.pcap", frames, snaplen=snaplen)])
    return assess(
        traffic, policy or load_policy(None, CLOSED), load_profiles(), today=date(2026, 11, 23)
    )


def _dns(qname: str, rcode: int = 3, answer: str | None = None) -> list[bytes]:
    from scapy.layers.dns import DNS, DNSQR, DNSRR

    query = DNS(id=7, rd=1, qd=DNSQR(qname=qname))
    reply = DNS(
        id=7,
        qr=1,
        rcode=rcode,
        qd=DNSQR(qname=qname),
        an=[DNSRR(rrname=qname, rdata=answer)] if answer else [],
    )
    return [eth(udp(CAM, GW, 33000, 53, bytes(query))), eth(udp(GW, CAM, 53, 33000, bytes(reply)))]


LOCAL = [eth(tcp(CAM, NVR, 554, 40000, "SA")), eth(tcp(NVR, CAM, 40000, 554, "A"))]


def test_local_traffic_only_is_isolated(tmp_path: Path) -> None:
    result = _assess(tmp_path, LOCAL)
    assert result.verdict == Verdict.ISOLATED
    assert result.outbound == () and result.findings == ()


def test_multicast_broadcast_and_link_local_are_never_outbound(tmp_path: Path) -> None:
    result = _assess(
        tmp_path,
        [
            *LOCAL,
            eth(udp(CAM, "239.255.255.250", 3702, 3702, b"<x/>")),
            eth(udp(CAM, "255.255.255.255", 68, 67, b"x")),
            eth(udp("169.254.1.1", "169.254.1.2", 5000, 5000, b"x")),
        ],
    )
    assert result.verdict == Verdict.ISOLATED


def test_unanswered_syn_is_an_attempt_not_a_crossing(tmp_path: Path) -> None:
    result = _assess(tmp_path, [*LOCAL, eth(tcp(CAM, OUT, 40001, 8666, "S"))])
    assert result.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    (out,) = result.outbound
    assert not out.crossed and out.device == CAM and out.remote == OUT
    assert [f.rule for f in result.findings] == ["OUTBOUND-ATTEMPT"]


def test_established_outside_connection_is_not_isolated(tmp_path: Path) -> None:
    result = _assess(
        tmp_path,
        [*LOCAL, eth(tcp(CAM, OUT, 40001, 443, "S")), eth(tcp(OUT, CAM, 443, 40001, "SA"))],
    )
    assert result.verdict == Verdict.NOT_ISOLATED
    finding = next(f for f in result.findings if f.rule == "BOUNDARY-CROSSED-OUT")
    (evidence,) = finding.evidence
    assert evidence.frames == (3, 4)
    assert evidence.display_filter == (
        f"ip.addr=={CAM} && ip.addr=={OUT} && tcp.port==40001 && tcp.port==443 && !icmp"
    )


def test_icmp_error_from_the_gateway_is_a_rejection_but_from_outside_a_crossing(
    tmp_path: Path,
) -> None:
    probe = udp(CAM, OUT, 5000, 123, b"\x1b" + b"\0" * 47)
    by_gateway = _assess(tmp_path, [*LOCAL, eth(probe), eth(icmp(GW, CAM, 3, 3, inner=probe))])
    assert by_gateway.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    by_remote = _assess(tmp_path, [*LOCAL, eth(probe), eth(icmp(OUT, CAM, 3, 3, inner=probe))])
    assert by_remote.verdict == Verdict.NOT_ISOLATED


def test_vendor_cloud_lookup_answered_nxdomain_is_a_labelled_attempt(tmp_path: Path) -> None:
    result = _assess(tmp_path, [*LOCAL, *_dns("litedev.ezvizlife.com")])
    assert result.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    (lookup,) = result.dns
    assert lookup.external and lookup.lookup.rcode == "NXDOMAIN"
    assert lookup.label is not None and "EZVIZ" in lookup.label


def test_resolver_answering_an_outside_name_with_an_outside_address_is_a_crossing(
    tmp_path: Path,
) -> None:
    result = _assess(tmp_path, [*LOCAL, *_dns("litedev.hik-connect.com", 0, OUT)])
    assert result.verdict == Verdict.NOT_ISOLATED
    assert result.dns[0].answered_with_addresses


def test_sinkholed_answer_is_an_attempt_not_a_crossing(tmp_path: Path) -> None:
    result = _assess(tmp_path, [*LOCAL, *_dns("www.easy4ipcloud.com", 0, "0.0.0.0")])
    assert result.verdict == Verdict.ISOLATED_WITH_ATTEMPTS


def test_local_and_reverse_lookups_of_inside_addresses_are_not_external(tmp_path: Path) -> None:
    result = _assess(tmp_path, [*LOCAL, *_dns("nvr.local"), *_dns("10.0.66.10.in-addr.arpa")])
    assert result.verdict == Verdict.ISOLATED
    assert [d.external for d in result.dns] == [False, False]


def test_allowed_service_and_live_exception_do_not_count_but_expired_ones_do(
    tmp_path: Path,
) -> None:
    packets = [*LOCAL, eth(tcp(CAM, OUT, 40001, 443, "S")), eth(tcp(OUT, CAM, 443, 40001, "SA"))]
    allow = ServiceRule(name="vms", reason="central VMS", hosts=(f"{OUT}/32",), ports=(443,))
    policy = Policy(name="t", path=None, closed_network=CLOSED, allow=(allow,))
    result = _assess(tmp_path, packets, policy)
    assert result.verdict == Verdict.ISOLATED
    assert result.outbound[0].allowed_by == "vms: central VMS"
    expired = ServiceRule(
        name="old", reason="pilot", hosts=(f"{OUT}/32",), expires=date(2025, 1, 1)
    )
    policy = Policy(name="t", path=None, closed_network=CLOSED, exceptions=(expired,))
    result = _assess(tmp_path, packets, policy)
    assert result.verdict == Verdict.NOT_ISOLATED
    assert "POLICY-EXCEPTION-EXPIRED" in [f.rule for f in result.findings]


def test_no_packets_from_inside_is_inconclusive(tmp_path: Path) -> None:
    result = _assess(tmp_path, [eth(udp("203.0.113.7", OUT, 5000, 53, b"x"))])
    assert result.verdict == Verdict.INCONCLUSIVE
    assert any("no packet from" in r for r in result.reasons)


def test_snaplen_too_short_is_inconclusive_unless_a_crossing_is_proven(tmp_path: Path) -> None:
    result = _assess(tmp_path, [*LOCAL, *_dns("litedev.ezvizlife.com")], snaplen=60)
    assert result.verdict == Verdict.INCONCLUSIVE
    crossing = [
        *LOCAL,
        eth(tcp(CAM, OUT, 40001, 443, "S")),
        eth(tcp(OUT, CAM, 443, 40001, "SA")),
        *_dns("litedev.ezvizlife.com"),
    ]
    assert _assess(tmp_path, crossing, snaplen=60).verdict == Verdict.NOT_ISOLATED


def test_one_direction_capture_is_inconclusive(tmp_path: Path) -> None:
    result = _assess(
        tmp_path,
        [
            eth(tcp(CAM, NVR, 40000, 554, "S")),
            eth(tcp(CAM, NVR, 40000, 554, "A")),
            eth(tcp(CAM, NVR, 40000, 554, "PA", b"OPTIONS")),
        ],
    )
    assert result.verdict == Verdict.INCONCLUSIVE


def test_default_closed_network_is_said_in_the_reasons(tmp_path: Path) -> None:
    result = _assess(tmp_path, LOCAL, load_policy(None))
    assert result.closed_network_is_default
    assert any("default" in r for r in result.reasons)


@pytest.mark.parametrize(("fail_on", "code"), [("attempts", 1), ("leaks", 0)])
def test_fail_on_decides_the_exit_code_for_attempts(
    tmp_path: Path, fail_on: str, code: int
) -> None:
    from camaudit.exitcodes import for_assessment

    policy = Policy(name="t", path=None, closed_network=CLOSED, fail_on=fail_on)
    result = _assess(tmp_path, [*LOCAL, eth(tcp(CAM, OUT, 40001, 8666, "S"))], policy)
    assert for_assessment(result) == code
