"""The strict DNS reader (traffic/dnswire.py) says, to the letter, what dnspython says, or
declines: for messages dnspython itself writes (queries, responses, EDNS, compression,
names with characters it escapes) and for every cut, flipped or spliced copy of them."""

from __future__ import annotations

from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.SOA import SOA
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from camaudit.traffic import apps, dnswire
from camaudit.traffic.engine import analyse
from tests.replay.cases import Case, cases

MANY = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def dnspython_reads(wire: bytes) -> apps.DnsMessage | None:
    """What apps.parse_dns gave before the strict reader: dnspython, uncached."""
    if len(wire) < 12:
        return None
    body = apps._parse_dns_body.__wrapped__(wire[2:])
    return None if body is None else body._replace(ident=int.from_bytes(wire[:2], "big"))


def same_or_declined(wire: bytes) -> bool:
    """True when the strict reader read ``wire``; fails when it read it otherwise."""
    fields = dnswire.read_dns(wire)
    if fields is None:
        return False
    assert apps.DnsMessage(*fields) == dnspython_reads(wire)
    return True


# A message is drawn either "common" (every part one the reader reads: plain names, class
# IN, A/AAAA/CNAME answers, NS/SOA authority, EDNS without options) or "any" (labels with
# what dnspython escapes, other classes, types, opcodes and EDNS options): the first kind
# checks what the reader says, the second what it must decline.
_PLAIN = st.text("abcxyzABCXYZ0123456789-_", min_size=1, max_size=12).map(str.encode)
_ODD = st.one_of(st.binary(min_size=1, max_size=6), st.just(b"a" * 63))


def names(common: bool) -> st.SearchStrategy[dns.name.Name]:
    label = _PLAIN if common else st.one_of(_PLAIN, _ODD)
    return st.lists(label, max_size=5).map(
        lambda labels: (
            dns.name.Name([*labels, b""])
            if sum(len(x) + 1 for x in labels) < 240
            else dns.name.root
        )
    )


def choice(common: bool, read: list[object], declined: list[object]) -> st.SearchStrategy[Any]:
    return st.sampled_from(read if common else read + declined)


@st.composite
def records(draw: st.DrawFn, owner: dns.name.Name, common: bool) -> dns.rrset.RRset:
    """One record: A, AAAA, CNAME, NS, or (not common) MX or TXT."""
    kind = draw(choice(common, ["A", "AAAA", "CNAME", "NS"], ["MX", "TXT"]))
    cls = dns.rdataclass.IN
    if kind == "A":
        rdata = dns.rdata.from_wire(
            cls, dns.rdatatype.A, draw(st.binary(min_size=4, max_size=4)), 0, 4
        )
    elif kind == "AAAA":
        address = draw(st.binary(min_size=16, max_size=16))
        rdata = dns.rdata.from_wire(cls, dns.rdatatype.AAAA, address, 0, 16)
    elif kind == "MX":
        rdata = MX(cls, dns.rdatatype.MX, 10, draw(names(common)))
    elif kind == "TXT":
        rdata = dns.rdata.from_text(cls, kind, '"model=x"')
    else:
        target = draw(names(common))
        rdata = (CNAME if kind == "CNAME" else NS)(cls, dns.rdatatype.from_text(kind), target)
    return dns.rrset.from_rdata(draw(st.one_of(st.just(owner), names(common))), 60, rdata)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A query or response as dnspython writes it (names compressed where it can)."""
    common = draw(st.booleans())
    name = draw(names(common))
    query = dns.message.make_query(
        name,
        draw(st.sampled_from([1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 65, 255, 65280])),
        rdclass=draw(choice(common, [1], [3, 254, 255])),
        use_edns=draw(st.sampled_from([None, False, 0, 1])),
        want_dnssec=draw(st.booleans()),
        payload=draw(st.sampled_from([512, 1232, 4096])),
        options=draw(choice(common, [None], [[dns.edns.GenericOption(65001, b"x")]])),
        id=draw(st.integers(0, 0xFFFF)),
    )
    query.set_opcode(
        draw(choice(common, [dns.opcode.QUERY], [dns.opcode.NOTIFY, dns.opcode.STATUS]))
    )
    if not draw(st.booleans()):
        return query.to_wire(max_size=65535)
    response = dns.message.make_response(query)
    response.set_rcode(draw(st.sampled_from([0, 2, 3, 5, 16, 23, 4095])))
    for _ in range(draw(st.integers(0, 4))):
        response.answer.append(draw(records(name, common)))
    if draw(st.booleans()):
        ns, admin = dns.name.Name([b"ns"]) + name, dns.name.Name([b"admin"]) + name
        soa = SOA(dns.rdataclass.IN, dns.rdatatype.SOA, ns, admin, 1, 2, 3, 4, 5)
        response.authority.append(dns.rrset.from_rdata(name, 60, soa))
    if draw(st.booleans()):
        response.additional.append(draw(records(name, common)))
    return response.to_wire(max_size=65535)


def mutated(wire: bytes, data: st.DataObject) -> bytes:
    """``wire`` cut, with bytes changed or nudged, or with a piece of itself spliced in."""
    out = bytearray(wire)
    for _ in range(data.draw(st.integers(1, 3))):
        how = data.draw(st.sampled_from(["cut", "byte", "nudge", "pointer", "splice"]))
        at = data.draw(st.integers(0, max(0, len(out) - 1)))
        if how == "cut":
            del out[at:]
        elif how == "byte" and out:
            out[at] = data.draw(st.sampled_from([0, 1, 0x3F, 0x40, 0x80, 0xC0, 0xFF, at & 0xFF]))
        elif how == "nudge" and out:  # a length or count one or two off
            out[at] = (out[at] + data.draw(st.sampled_from([-2, -1, 1, 2]))) & 0xFF
        elif how == "pointer":
            target = data.draw(st.integers(0, len(out) + 4))
            out[at : at + 2] = bytes([0xC0 | (target >> 8) & 0x3F, target & 0xFF])
        else:
            piece = bytes(out[data.draw(st.integers(0, len(out))) :][:8])
            out[at:at] = piece
    return bytes(out)


@MANY
@given(messages())
def test_dnspython_written_messages_read_alike_or_are_declined(wire: bytes) -> None:
    same_or_declined(wire)


@MANY
@given(messages(), st.data())
def test_cut_and_changed_messages_read_alike_or_are_declined(
    wire: bytes, data: st.DataObject
) -> None:
    same_or_declined(mutated(wire, data))


@MANY
@given(st.binary(min_size=12, max_size=80))
@example(bytes(12))  # nothing in it: no question at all
@example(bytes.fromhex("0001 0100 0001 0000 0000 0000 c00c 0001 0001"))  # points at itself
@example(bytes.fromhex("0001 0100 0001 0000 0000 0000 c00e 0001 0001"))  # points forward
def test_any_bytes_read_alike_or_are_declined(wire: bytes) -> None:
    same_or_declined(wire)


def query(name: str, qtype: str = "A") -> bytes:
    return dns.message.make_query(name, qtype, id=0x1234, use_edns=False).to_wire()


def response(name: str, *records: tuple[str, str], edns: bool = False) -> bytes:
    asked = dns.message.make_query(name, "A", id=7, use_edns=0 if edns else False)
    answer = dns.message.make_response(asked)
    for kind, value in records:
        answer.answer.append(dns.rrset.from_text(dns.name.from_text(name), 60, "IN", kind, value))
    return answer.to_wire()


@pytest.mark.parametrize(
    "wire",
    [
        query("n0000001.flood.example"),  # bench/make_flood.py --dns
        query("Camera-1.Example.", "AAAA"),
        query("_onvif._tcp.example", "PTR"),
        dns.message.make_query("dev.example", "A", id=3).to_wire(),  # EDNS, no options
        response("cloud.example", ("CNAME", "edge.cloud.example."), ("A", "192.0.2.7")),
        response("cloud.example", ("AAAA", "2001:db8::7"), ("AAAA", "::ffff:192.0.2.1")),
        response("cloud.example", ("A", "198.51.100.1"), edns=True),
    ],
)
def test_common_messages_take_the_strict_reader(wire: bytes) -> None:
    assert same_or_declined(wire)


def test_an_nxdomain_answer_with_its_soa_takes_the_strict_reader() -> None:
    asked = dns.message.make_query("p2p.cloud.example", "A", id=9)
    answer = dns.message.make_response(asked)
    answer.set_rcode(dns.rcode.NXDOMAIN)
    soa = "ns.cloud.example. admin.cloud.example. 1 2 3 4 5"
    answer.authority.append(dns.rrset.from_text("cloud.example.", 60, "IN", "SOA", soa))
    assert same_or_declined(answer.to_wire())


@pytest.mark.parametrize("octets", [254, 255, 256])
def test_a_name_is_read_up_to_255_octets_and_declined_past_them(octets: int) -> None:
    """RFC 1035 §3.1: dnspython refuses a longer name; the reader must not read one."""
    labels, left = [], octets - 1  # the root's octet
    while left:
        size = min(63, left - 1)
        labels.append(bytes([size]) + b"a" * size)
        left -= size + 1
    wire = bytes.fromhex("0001 0100 0001 0000 0000 0000") + b"".join(labels) + b"\0\0\1\0\1"
    assert same_or_declined(wire) is (octets <= 255)
    assert (dnspython_reads(wire) is None) is (octets > 255)


@pytest.mark.parametrize("ttl", ["00000000", "01000000", "7fffffff", "80000000", "ffffffff"])
def test_the_edns_extended_rcode_and_version_read_as_dnspython_reads_them(ttl: str) -> None:
    """OPT's TTL holds the rcode's upper 8 bits, the version and the DO flag (RFC 6891 §6.1.3)."""
    question = "0001 8103 0001 0000 0000 0001 0178 00 0001 0001"
    assert same_or_declined(bytes.fromhex(f"{question} 00 0029 1000 {ttl} 0000"))


@pytest.mark.parametrize(
    "wire",
    [
        query("with space.example"),  # printed \032 by dnspython
        query("semi;colon.example"),
        dns.message.make_query("x.example", "A", rdclass="CH", use_edns=False).to_wire(),
        dns.message.make_query(
            "x.example", "A", options=[dns.edns.GenericOption(65001, b"x")]
        ).to_wire(),
        response("x.example", ("MX", "10 mail.x.example.")),
        bytes.fromhex("0001 2800 0001 0000 0000 0000 0178 00 0006 0001"),  # UPDATE
    ],
)
def test_what_the_reader_does_not_print_as_dnspython_is_declined(wire: bytes) -> None:
    assert dnswire.read_dns(wire) is None
    assert apps.parse_dns(wire) == dnspython_reads(wire)


# A response's header and question ("x.", A), then an owner name pointing at that question
_ASKED_X = "0007 8180 0001"
_ABOUT_X = "0178 00 0001 0001 c00c"


@pytest.mark.parametrize(
    "wire",
    [
        bytes.fromhex("0001 0100 0001 0000 0000 0000 c00c 0001 0001"),  # a pointer to itself
        bytes.fromhex("0001 0100 0001 0000 0000 0000 c010 0001 0001"),  # forward
        bytes.fromhex("0001 0100 0001 0000 0000 0000 c0ff 0001 0001"),  # past the end
        bytes.fromhex("0001 0100 0001 0000 0000 0000 0561 62"),  # a label cut short
        bytes.fromhex("0001 0100 0001 0000 0000 0000 4161 00 0001 0001"),  # label type 01
        # records whose data is longer or shorter than what their type holds
        bytes.fromhex(f"{_ASKED_X} 0001 0000 0000 {_ABOUT_X} 0005 0001 0000003c 0004 017900 00"),
        bytes.fromhex(f"{_ASKED_X} 0001 0000 0000 {_ABOUT_X} 0001 0001 0000003c 0005 c0000201 00"),
        bytes.fromhex(f"{_ASKED_X} 0000 0001 0000 {_ABOUT_X} 0006 0001 0000003c 0019 c00c c00c")
        + bytes(21),
        bytes.fromhex(f"{_ASKED_X} 0000 0001 0000 {_ABOUT_X} 0006 0001 0000003c 0017 c00c c00c")
        + bytes(20),
    ],
)
def test_a_broken_message_is_still_undecodable(wire: bytes) -> None:
    assert dnswire.read_dns(wire) is None
    assert apps.parse_dns(wire) is None


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_every_stored_capture_reads_alike_with_and_without_the_strict_reader(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_reader = analyse(case.captures)
    monkeypatch.setattr(apps, "read_dns", lambda payload: None)
    apps._parse_dns_body.cache_clear()
    assert analyse(case.captures) == with_reader


def test_the_stored_dns_captures_take_the_strict_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only declined: the lab's own look-ups and answers are what the reader reads."""
    read: list[bool] = []
    real = apps.read_dns

    def counted(payload: bytes) -> dnswire.Fields | None:
        fields = real(payload)
        read.append(fields is not None)
        return fields

    monkeypatch.setattr(apps, "read_dns", counted)
    for case in cases():
        if case.name in ("dns-nxdomain", "host-header-resolved"):
            analyse(case.captures)
    assert read and all(read)
