"""The verdict: what counts as crossing, as an attempt, and as too weak to prove anything."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from camaudit.knowledge.profiles import load_profiles
from camaudit.model import AllowBasis, Assessment, Verdict
from camaudit.phrases import phrase
from camaudit.policy.evaluate import DEVICE, WHOLE, VerdictWords, assess, decide, link_scoped
from camaudit.policy.load import Policy, ServiceRule, load_policy
from camaudit.traffic.engine import analyse
from tests.captures import (
    CAM,
    GW,
    NVR,
    OUT,
    eth,
    icmp,
    one_side_of_a_connection,
    tcp,
    udp,
    write_pcap,
)

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
        f"(ip.addr=={CAM} || ipv6.addr==::ffff:{CAM}) && (ip.addr=={OUT} || "
        f"ipv6.addr==::ffff:{OUT}) && tcp.port==40001 && tcp.port==443 && !(icmp || icmpv6)"
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


def test_allowing_the_resolver_by_address_does_not_allow_looking_up_outside_names(
    tmp_path: Path,
) -> None:
    resolver = ServiceRule(name="site dns", reason="resolver", hosts=(f"{GW}/32",), ports=(53,))
    policy = Policy(name="t", path=None, closed_network=CLOSED, allow=(resolver,))
    result = _assess(tmp_path, [*LOCAL, *_dns("litedev.ezvizlife.com")], policy)
    assert result.verdict == Verdict.ISOLATED_WITH_ATTEMPTS
    assert [f.rule for f in result.findings] == ["DNS-EXTERNAL-LOOKUP"]
    by_name = ServiceRule(name="ezviz", reason="accepted", names=("ezvizlife.com",), ports=(53,))
    policy = Policy(name="t", path=None, closed_network=CLOSED, allow=(resolver, by_name))
    result = _assess(tmp_path, [*LOCAL, *_dns("litedev.ezvizlife.com")], policy)
    assert result.verdict == Verdict.ISOLATED


def test_no_packets_from_inside_is_inconclusive(tmp_path: Path) -> None:
    result = _assess(tmp_path, [eth(udp("203.0.113.7", OUT, 5000, 53, b"x"))])
    assert result.verdict == Verdict.INCONCLUSIVE
    assert any("no packet from" in r.text for r in result.reasons)


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
    result = _assess(tmp_path, one_side_of_a_connection(CAM, NVR, 40000, 554, b"OPTIONS"))
    assert result.verdict == Verdict.INCONCLUSIVE


def test_default_closed_network_is_said_in_the_reasons(tmp_path: Path) -> None:
    result = _assess(tmp_path, LOCAL, load_policy(None))
    assert result.closed_network_is_default
    assert any("default" in r.text for r in result.reasons)


@pytest.mark.parametrize(("fail_on", "code"), [("attempts", 1), ("leaks", 0)])
def test_fail_on_decides_the_exit_code_for_attempts(
    tmp_path: Path, fail_on: str, code: int
) -> None:
    from camaudit.exitcodes import for_assessment

    policy = Policy(name="t", path=None, closed_network=CLOSED, fail_on=fail_on)
    result = _assess(tmp_path, [*LOCAL, eth(tcp(CAM, OUT, 40001, 8666, "S"))], policy)
    assert for_assessment(result) == code


# -- allow rules by name: only names the capture shows resolved, unless the rule trusts SNI/Host

VENDOR = "updates.vendor.example"
CAM2 = "10.66.0.22"
ELSEWHERE = "198.51.100.10"


def _post(dst: str = OUT, host: str = VENDOR, src: str = CAM) -> list[bytes]:
    body = f"POST /upload HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\n\r\nhi".encode()
    return [
        eth(tcp(src, dst, 40100, 80, "S")),
        eth(tcp(dst, src, 80, 40100, "SA")),
        eth(tcp(src, dst, 40100, 80, "A")),
        eth(tcp(src, dst, 40100, 80, "PA", body)),
        eth(tcp(dst, src, 80, 40100, "PA", b"HTTP/1.1 200 OK\r\n\r\n")),
    ]


def _hello(dst: str = OUT, sni: str = VENDOR) -> list[bytes]:
    from scapy.layers.tls.extensions import ServerName, TLS_Ext_ServerName
    from scapy.layers.tls.handshake import TLSClientHello
    from scapy.layers.tls.record import TLS

    ext = TLS_Ext_ServerName(servernames=[ServerName(servername=sni.encode())])
    hello = bytes(TLS(msg=[TLSClientHello(ext=[ext])]))
    return [
        eth(tcp(CAM, dst, 40200, 443, "S")),
        eth(tcp(dst, CAM, 443, 40200, "SA")),
        eth(tcp(CAM, dst, 40200, 443, "PA", hello)),
        eth(tcp(dst, CAM, 443, 40200, "A")),
    ]


def _lookup(name: str, answer: str, client: str = CAM) -> list[bytes]:
    from scapy.layers.dns import DNS, DNSQR, DNSRR

    query = DNS(id=9, rd=1, qd=DNSQR(qname=name))
    reply = DNS(id=9, qr=1, qd=DNSQR(qname=name), an=[DNSRR(rrname=name, rdata=answer)])
    return [
        eth(udp(client, GW, 33100, 53, bytes(query))),
        eth(udp(GW, client, 53, 33100, bytes(reply))),
    ]


def _by_name(trust: bool = False) -> Policy:
    rule = ServiceRule(
        name="vendor updates", reason="firmware", names=(VENDOR,), trust_client_names=trust
    )
    return Policy(name="t", path=None, closed_network=CLOSED, allow=(rule,))


def test_host_header_of_an_allowed_name_never_resolved_does_not_allow_the_flow(
    tmp_path: Path,
) -> None:
    result = _assess(tmp_path, [*LOCAL, *_post()], _by_name())
    assert result.verdict == Verdict.NOT_ISOLATED
    (out,) = result.outbound
    assert out.flow.http_host == VENDOR
    assert out.allowed_by is None and out.allowed_basis is None
    assert [f.rule for f in result.findings] == ["BOUNDARY-CROSSED-OUT"]


def test_sni_of_an_allowed_name_never_resolved_does_not_allow_the_flow(tmp_path: Path) -> None:
    result = _assess(tmp_path, [*LOCAL, *_hello()], _by_name())
    assert result.verdict == Verdict.NOT_ISOLATED
    (out,) = result.outbound
    assert out.flow.sni == VENDOR and out.allowed_by is None


def test_name_the_device_resolved_to_that_address_allows_the_flow_on_dns(
    tmp_path: Path,
) -> None:
    result = _assess(tmp_path, [*LOCAL, *_lookup(VENDOR, OUT), *_post()], _by_name())
    assert result.verdict == Verdict.ISOLATED
    (out,) = result.outbound
    assert out.allowed_by == "vendor updates: firmware"
    assert out.allowed_basis == AllowBasis.DNS
    assert [r.text for r in result.reasons] == [
        "nothing crossed but what the policy allows (1 flow(s))"
    ]


def test_name_resolved_to_another_address_does_not_allow_this_one(tmp_path: Path) -> None:
    packets = [*LOCAL, *_lookup(VENDOR, ELSEWHERE), *_post(OUT)]
    result = _assess(tmp_path, packets, _by_name())
    assert result.verdict == Verdict.NOT_ISOLATED
    assert result.outbound[0].allowed_by is None


def test_name_resolved_by_another_device_does_not_allow_this_device(tmp_path: Path) -> None:
    packets = [*LOCAL, *_lookup(VENDOR, OUT, client=CAM2), *_post(OUT)]
    result = _assess(tmp_path, packets, _by_name())
    assert result.verdict == Verdict.NOT_ISOLATED
    assert result.outbound[0].allowed_by is None


def test_name_resolved_only_after_the_flow_began_does_not_allow_it(tmp_path: Path) -> None:
    result = _assess(tmp_path, [*LOCAL, *_post(), *_lookup(VENDOR, OUT)], _by_name())
    assert result.verdict == Verdict.NOT_ISOLATED
    assert result.outbound[0].allowed_by is None


def test_rule_that_trusts_client_names_allows_on_sni_or_host(tmp_path: Path) -> None:
    for packets in (_post(), _hello()):
        result = _assess(tmp_path, [*LOCAL, *packets], _by_name(trust=True))
        assert result.verdict == Verdict.ISOLATED
        (out,) = result.outbound
        assert out.allowed_basis == AllowBasis.CLIENT_NAME


def test_trusted_client_name_must_still_be_under_the_rule_names(tmp_path: Path) -> None:
    packets = [*LOCAL, *_post(host="evil.example")]
    assert _assess(tmp_path, packets, _by_name(trust=True)).verdict == Verdict.NOT_ISOLATED


def test_allow_by_address_and_by_port_only_say_so(tmp_path: Path) -> None:
    by_host = ServiceRule(name="vms", reason="", hosts=(f"{OUT}/32",))
    by_port = ServiceRule(name="web", reason="", ports=(80,))
    for rule, basis in ((by_host, AllowBasis.ADDRESS), (by_port, AllowBasis.ANY_REMOTE)):
        policy = Policy(name="t", path=None, closed_network=CLOSED, allow=(rule,))
        (out,) = _assess(tmp_path, [*LOCAL, *_post()], policy).outbound
        assert out.allowed_basis == basis


# -- a neighbour with a foreign address: link-scoped multicast is no crossing

FOREIGN = "192.0.2.64"
FOREIGN_MAC = "02:66:00:00:00:22"


def _igmp_report(src: str) -> bytes:
    from scapy.layers.inet import IP, IPOption_Router_Alert

    # IGMPv3 membership report: join 224.0.0.251 (type 0x22, one group record)
    record = bytes([4, 0, 0, 0]) + bytes([224, 0, 0, 251])
    body = bytes([0x22, 0, 0, 0, 0, 0, 0, 1]) + record
    pkt = IP(src=src, dst="224.0.0.22", ttl=1, proto=2, options=[IPOption_Router_Alert()])
    return eth(pkt / body, src=FOREIGN_MAC, dst="01:00:5e:00:00:16")


def _foreign_chatter(src: str = FOREIGN) -> list[bytes]:
    return [
        eth(udp(src, "224.0.0.251", 5353, 5353, b"\0" * 12), src=FOREIGN_MAC),
        eth(udp(src, "239.255.255.250", 41900, 1900, b"M-SEARCH * HTTP/1.1\r\n\r\n"), FOREIGN_MAC),
        eth(udp(src, "255.255.255.255", 68, 67, b"x"), src=FOREIGN_MAC),
        _igmp_report(src),
    ]


def test_multicast_from_a_foreign_address_on_the_segment_is_a_finding_not_a_crossing(
    tmp_path: Path,
) -> None:
    result = _assess(tmp_path, [*LOCAL, *_foreign_chatter()])
    assert result.verdict == Verdict.ISOLATED
    assert result.outbound == ()
    (finding,) = result.findings
    assert finding.rule == "FOREIGN-ADDRESS-ON-SEGMENT" and finding.device == FOREIGN
    assert FOREIGN_MAC in finding.summary.text and "224.0.0.22/igmp" in finding.summary.text
    assert sorted(e.frames[0] for e in finding.evidence) == [3, 4, 5, 6]
    assert any("FOREIGN-ADDRESS-ON-SEGMENT" in r.text for r in result.reasons)


def test_ipv6_link_scope_multicast_from_a_foreign_address_is_not_a_crossing(
    tmp_path: Path,
) -> None:
    packet = eth(udp("2001:db8:5::64", "ff02::fb", 5353, 5353, b"\0" * 12), src=FOREIGN_MAC)
    result = _assess(tmp_path, [*LOCAL, packet])
    assert result.verdict == Verdict.ISOLATED
    assert [f.rule for f in result.findings] == ["FOREIGN-ADDRESS-ON-SEGMENT"]


def test_unicast_from_an_outside_address_delivered_inside_is_still_a_crossing(
    tmp_path: Path,
) -> None:
    packets = [*LOCAL, *_foreign_chatter(), eth(udp(FOREIGN, CAM, 5353, 5353, b"\0" * 12))]
    result = _assess(tmp_path, packets)
    assert result.verdict == Verdict.NOT_ISOLATED
    assert "BOUNDARY-CROSSED-IN" in [f.rule for f in result.findings]


def test_outside_address_to_a_routable_multicast_group_is_still_a_crossing(
    tmp_path: Path,
) -> None:
    result = _assess(tmp_path, [*LOCAL, eth(udp(OUT, "239.1.2.3", 5000, 5000, b"x"))])
    assert result.verdict == Verdict.NOT_ISOLATED


@pytest.mark.parametrize(
    ("address", "proto", "scoped"),
    [
        ("224.0.0.251", "udp", True),
        ("224.0.0.22", "ip-2", True),
        ("239.1.2.3", "ip-2", True),
        ("239.1.2.3", "udp", False),
        ("239.255.255.250", "udp", True),
        ("255.255.255.255", "udp", True),
        ("169.254.3.4", "tcp", True),
        ("10.66.0.255", "udp", False),
        ("ff02::fb", "udp", True),
        ("ff12::1234", "udp", True),
        ("ff05::1:3", "udp", False),
        ("ff0e::1", "udp", False),
    ],
)
def test_link_scope_of_destinations(address: str, proto: str, scoped: bool) -> None:
    assert link_scoped(address, proto) is scoped


def test_report_and_console_say_on_what_basis_a_flow_was_allowed(tmp_path: Path) -> None:
    import io

    import jsonschema
    from rich.console import Console

    from camaudit.report.build import build_report
    from camaudit.report.console import render
    from camaudit.report.model import schema, to_dict

    frames = [(T0 + i * 0.1, p) for i, p in enumerate([*LOCAL, *_lookup(VENDOR, OUT), *_post()])]
    traffic = analyse([write_pcap(tmp_path / "r.pcap", frames)])
    result = assess(traffic, _by_name(), load_profiles(), today=date(2026, 11, 23))
    report = build_report(result, traffic)
    jsonschema.validate(to_dict(report), schema())
    assert [o.allowed_basis for o in report.outbound] == ["dns"]
    console = Console(file=io.StringIO(), width=200, record=True)
    render(report, console)
    assert "(allowed: dns)" in console.export_text()


# The fail-closed order, once for the whole evidence and for each device (policy.evaluate.decide).
_SAID = phrase("nothing_out")


@pytest.mark.parametrize("words", [WHOLE, DEVICE])
@pytest.mark.parametrize(
    ("crossed", "unseen", "blocking", "attempts", "inherited", "verdict"),
    [
        (True, True, True, True, True, Verdict.NOT_ISOLATED),
        (False, True, True, True, True, Verdict.INCONCLUSIVE),
        (False, False, True, True, True, Verdict.INCONCLUSIVE),
        (False, False, False, True, True, Verdict.ISOLATED_WITH_ATTEMPTS),
        (False, False, False, False, True, Verdict.INCONCLUSIVE),
        (False, False, False, False, False, Verdict.ISOLATED),
    ],
)
def test_a_crossing_outranks_what_cannot_be_shown_which_outranks_attempts(
    words: VerdictWords,
    crossed: bool,
    unseen: bool,
    blocking: bool,
    attempts: bool,
    inherited: bool,
    verdict: Verdict,
) -> None:
    said = [_SAID]
    got, reasons = decide(
        said if crossed else [],
        said if attempts else [],
        said if blocking else [],
        words,
        unseen=_SAID if unseen else None,
        inherited=said if inherited else (),
    )
    assert got == verdict
    assert reasons  # every verdict says why
