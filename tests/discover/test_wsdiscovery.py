"""WS-Discovery: a real Probe; replies parsed tolerantly and safely."""

from __future__ import annotations

import time
from collections.abc import Callable

import defusedxml.ElementTree as safe_xml
import pytest

from camaudit.discover import ReplyError
from camaudit.discover.wsdiscovery import WsDiscovery, parse_probe_matches, probe_message
from lab.devices import replies
from tests.discover.conftest import UdpResponder, loopback_target

Start = Callable[[Callable[[bytes], list[bytes]]], UdpResponder]

SCOPES = (
    b"onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/HIKVISION%20yard "
    b"onvif://www.onvif.org/hardware/DS-2CD2143G0-I onvif://www.onvif.org/location/city/lab"
)
XADDRS = "http://10.66.0.21:80/onvif/device_service"
ENDPOINT = "urn:uuid:6aff4000-1f90-00b0-0000-4419b63a2101"


def match(style: str) -> bytes:
    return replies.wsd_probe_match(
        style, relates_to=b"uuid:1", endpoint=ENDPOINT, scopes=SCOPES, xaddrs=XADDRS
    )


def test_the_probe_is_a_well_formed_soap_probe_for_network_video_transmitters() -> None:
    root = safe_xml.fromstring(probe_message("1234"), forbid_dtd=True)
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"
    types = root.find(".//{http://schemas.xmlsoap.org/ws/2005/04/discovery}Types")
    assert types is not None
    assert types.text == "dn:NetworkVideoTransmitter"
    assert replies.wsd_is_probe(probe_message())


@pytest.mark.parametrize("style", ["strict", "loose"])
def test_strict_and_loose_probe_matches_give_the_same_facts(style: str) -> None:
    (facts,) = parse_probe_matches(match(style))
    assert facts.get("xaddrs") == XADDRS
    assert facts.get("model") == "DS-2CD2143G0-I"
    assert facts.get("name") == "HIKVISION yard"
    assert facts.get("location") == "city/lab"
    assert facts.get("device_type") == "video_encoder"
    assert facts.get("epr") == ENDPOINT
    assert facts.get("uuid") == "6aff4000-1f90-00b0-0000-4419b63a2101"
    assert (facts.get("scopes") or "").split() == SCOPES.decode().split()


def test_undeclared_prefixes_are_tolerated() -> None:
    reply = (
        b"<SOAP-ENV:Envelope><SOAP-ENV:Body><wsdd:ProbeMatches><wsdd:ProbeMatch>"
        b"<wsa:EndpointReference><wsa:Address>urn:uuid:abc</wsa:Address></wsa:EndpointReference>"
        b"<wsdd:XAddrs>\n http://10.66.0.22/onvif/device_service \n</wsdd:XAddrs>"
        b"</wsdd:ProbeMatch></wsdd:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>\x00\x00"
    )
    (facts,) = parse_probe_matches(reply)
    assert facts.get("xaddrs") == "http://10.66.0.22/onvif/device_service"
    assert facts.get("uuid") == "abc"


def test_missing_fields_are_simply_absent() -> None:
    (facts,) = parse_probe_matches(b"<ProbeMatches><ProbeMatch></ProbeMatch></ProbeMatches>")
    assert facts.items() == ()


def test_a_probe_from_another_client_is_not_a_device() -> None:
    assert parse_probe_matches(probe_message()) == []


@pytest.mark.parametrize(
    ("attack", "reason"),
    [("billion-laughs", "DTD"), ("external-entity", "DTD")],
)
def test_entity_attacks_are_refused_without_expansion(attack: str, reason: str) -> None:
    hostile = replies.xml_attack(match("strict"), "s:Envelope", attack, b"d:Scopes")
    started = time.monotonic()
    with pytest.raises(ReplyError, match=reason):
        parse_probe_matches(hostile)
    assert time.monotonic() - started < 1.0


def test_escape_codes_c1_controls_and_invalid_utf8_in_a_reply_are_sanitised() -> None:
    scopes = (
        b"onvif://www.onvif.org/hardware/DS\x1b]0;pwned\x07\x1b[2J-X "
        b"onvif://www.onvif.org/name/csi\xc2\x9b31m\xe2\x80\xaeevil"
    )
    reply = replies.wsd_probe_match(
        "loose", relates_to=b"x", endpoint=ENDPOINT, scopes=scopes, xaddrs=XADDRS
    )
    (facts,) = parse_probe_matches(reply)
    for _, value in facts.items():
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value), value
        assert "\u202e" not in value
    assert facts.get("model") == "DS\\x1b]0;pwned\\x07\\x1b[2J-X"
    assert facts.get("name") == "csi\\x9b31m\\u202eevil"


def test_invalid_utf8_is_shown_escaped_not_fatal(udp_responder: Start) -> None:
    responder = udp_responder(lambda probe: [match("loose").replace(b"city", b"\xff\xfe\x1b[2J")])
    attempt = WsDiscovery(port=responder.port).run(loopback_target())
    (sighting,) = attempt.sightings
    assert sighting.fact("location") == "\\xff\\xfe\\x1b[2J/lab"
    assert sighting.fact("xaddrs") == XADDRS
    assert "\x1b" not in sighting.raw_excerpt


def test_unparsable_xml_is_an_error_fact_with_a_sanitised_excerpt(udp_responder: Start) -> None:
    responder = udp_responder(lambda probe: [b"<ProbeMatch>\x1b[2J<XAddrs>http://x</ProbeMatch"])
    attempt = WsDiscovery(port=responder.port).run(loopback_target())
    (sighting,) = attempt.sightings
    assert "unparsable XML" in (sighting.fact("error") or "")
    assert sighting.raw_excerpt.startswith("<ProbeMatch>\\x1b[2J")


def test_a_reply_over_the_size_cap_is_kept_as_a_device_with_an_error(udp_responder: Start) -> None:
    huge = match("strict").replace(b"<d:Scopes>", b"<d:Scopes>" + b"A" * 60000)
    responder = udp_responder(lambda probe: [huge])
    attempt = WsDiscovery(port=responder.port).run(loopback_target())
    assert attempt.status == "completed"
    (sighting,) = attempt.sightings
    assert sighting.ip == "127.0.0.1"
    assert "exceeds the 16384-byte cap" in (sighting.fact("error") or "")
    assert len(sighting.raw_excerpt) <= 400


def test_a_device_answering_the_probe_on_loopback_is_sighted(udp_responder: Start) -> None:
    responder = udp_responder(lambda probe: [match("loose")] if b"Probe" in probe else [])
    attempt = WsDiscovery(port=responder.port).run(loopback_target())
    assert attempt.status == "completed", attempt.error
    (sighting,) = attempt.sightings
    assert (sighting.method, sighting.ip) == ("wsdiscovery", "127.0.0.1")
    assert sighting.fact("model") == "DS-2CD2143G0-I"
    assert responder.received and b"NetworkVideoTransmitter" in responder.received[0]


def test_a_billion_laughs_reply_ends_as_an_error_fact_not_a_crash(udp_responder: Start) -> None:
    bomb = replies.xml_attack(match("strict"), "s:Envelope", "billion-laughs", b"d:Scopes")
    responder = udp_responder(lambda probe: [bomb])
    attempt = WsDiscovery(port=responder.port).run(loopback_target())
    assert attempt.status == "completed"
    (sighting,) = attempt.sightings
    assert (sighting.fact("error") or "").startswith("XML refused")
    assert sighting.fact("xaddrs") is None
