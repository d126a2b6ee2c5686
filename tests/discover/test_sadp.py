"""SADP: the Hikvision inquiry on the wire, and ProbeMatch replies parsed safely."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from camaudit.discover import ReplyError
from camaudit.discover.sadp import SadpInquiry, inquiry, parse_probe_match, split_version
from lab.devices import replies
from lab.devices.persona import load_persona
from lab.devices.runtime import start_device
from tests.discover.conftest import UdpResponder, loopback_target

Start = Callable[[Callable[[bytes], list[bytes]]], UdpResponder]


def probe_match(persona: str = "hik-ipc") -> bytes:
    p = load_persona(persona)
    return replies.sadp_probe_match(
        p,
        b"ABC",
        b"inquiry",
        ip="10.66.0.21",
        mask="255.255.255.0",
        gateway="10.66.0.1",
        http_port=80,
        sdk_port=8000,
    )


def test_the_inquiry_is_the_recorded_plain_xml_probe() -> None:
    sent = inquiry("0a1b")
    assert sent.endswith(b"<Probe><Uuid>0A1B</Uuid><Types>inquiry</Types></Probe>")
    assert replies.sadp_parse_probe(sent) == (b"0A1B", b"inquiry")


def test_a_probe_match_gives_model_serial_mac_ports_and_firmware() -> None:
    parsed = parse_probe_match(probe_match())
    assert parsed is not None
    facts, mac = parsed
    assert mac == "44:19:b6:3a:21:01"
    assert facts.get("model") == "DS-2CD2143G0-I"
    assert facts.get("serial") == "DS-2CD2143G0-I20200612AAWRE12345678"
    assert facts.get("reported_ipv4") == "10.66.0.21"
    assert facts.get("ipv4_gateway") == "10.66.0.1"
    assert facts.get("sdk_port") == "8000"
    assert facts.get("http_port") == "80"
    assert facts.get("software_version") == "V5.6.3build 200612"
    assert (facts.get("firmware"), facts.get("build")) == ("V5.6.3", "200612")
    assert facts.get("activated") == "true"
    assert facts.get("dsp_version")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("V5.5.0 build 170725", ("V5.5.0", "170725")),
        ("V5.6.3build 200612", ("V5.6.3", "200612")),
        ("V5.7.18", ("V5.7.18", None)),
        ("unknown", (None, None)),
    ],
)
def test_software_version_splits_into_firmware_and_build(
    text: str, parts: tuple[str | None, str | None]
) -> None:
    assert split_version(text) == parts


def test_an_inquiry_from_another_scanner_is_not_a_device() -> None:
    assert parse_probe_match(inquiry()) is None


def test_escape_codes_and_invalid_utf8_in_fields_are_sanitised() -> None:
    parsed = parse_probe_match(probe_match("hostile-escapes"))
    assert parsed is not None
    facts, _ = parsed
    for _, value in facts.items():
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value), value
    assert (facts.get("model") or "").startswith("DS-2CD\\x1b]0;pwned\\x07")


@pytest.mark.parametrize("attack", ["billion-laughs", "external-entity"])
def test_entity_attacks_in_a_probe_match_are_refused(attack: str) -> None:
    hostile = replies.xml_attack(probe_match(), "ProbeMatch", attack, b"DeviceDescription")
    with pytest.raises(ReplyError, match="XML refused"):
        parse_probe_match(hostile)


def test_a_foreign_document_is_an_error_not_a_device_description() -> None:
    with pytest.raises(ReplyError, match="not a SADP ProbeMatch"):
        parse_probe_match(b"<html><body>hello</body></html>")


def test_the_recorded_fake_device_is_found_on_loopback() -> None:
    with start_device("hik-ipc") as device:
        attempt = SadpInquiry(port=device.ports["sadp"]).run(loopback_target())
    assert attempt.status == "completed", attempt.error
    (sighting,) = attempt.sightings
    assert (sighting.method, sighting.ip, sighting.mac) == (
        "sadp",
        "127.0.0.1",
        "44:19:b6:3a:21:01",
    )
    assert sighting.fact("model") == "DS-2CD2143G0-I"


def test_a_flood_of_replies_ends_at_the_timeout(udp_responder: Start) -> None:
    flood = [probe_match().replace(b"ABC", str(i).encode()) for i in range(3000)]
    responder = udp_responder(lambda probe: flood)
    attempt = SadpInquiry(port=responder.port).run(loopback_target(timeout=1.0))
    assert attempt.status == "completed"
    assert attempt.duration < 3.0
    assert 0 < len(attempt.sightings) <= 2048


def test_no_reply_is_a_completed_attempt_with_no_sightings(udp_responder: Start) -> None:
    responder = udp_responder(lambda probe: [])
    attempt = SadpInquiry(port=responder.port).run(loopback_target(timeout=0.3))
    assert (attempt.status, attempt.sightings, attempt.error) == ("completed", (), None)
