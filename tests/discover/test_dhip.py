"""DHIP: the framed DHDiscover.search on the wire, and JSON replies parsed safely."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from camaudit.attempt import Facts
from camaudit.discover import ReplyError
from camaudit.discover.dhip import DhipSearch, header, parse_reply, search_request, split_version
from lab.devices import replies
from lab.devices.persona import load_persona
from lab.devices.runtime import start_device
from tests.discover.conftest import UdpResponder, loopback_target

Start = Callable[[Callable[[bytes], list[bytes]]], UdpResponder]


def dahua_reply(persona: str = "dahua-ipc") -> bytes:
    return replies.dhip_reply(
        load_persona(persona),
        ip="10.66.0.22",
        mask="255.255.255.0",
        gateway="10.66.0.1",
        http_port=80,
    )


def items(parsed: tuple[Facts, str | None] | None) -> object:
    assert parsed is not None
    return parsed[0].items(), parsed[1]


def framed(payload: bytes) -> bytes:
    return header(payload) + payload


def test_the_search_request_is_framed_exactly_as_recorded() -> None:
    request = search_request()
    assert request == replies.dhip_search()
    assert request[:8] == b"\x20\x00\x00\x00DHIP"
    assert len(request) == 32 + len(b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}')


def test_a_notify_dev_info_reply_gives_model_serial_vendor_mac_and_ports() -> None:
    persona = load_persona("dahua-ipc")
    parsed = parse_reply(dahua_reply())
    assert parsed is not None
    facts, mac = parsed
    assert mac == persona.mac.lower()
    assert facts.get("model") == persona.dhip.get("device_type", persona.model)
    assert facts.get("serial") == persona.serial
    assert facts.get("vendor") == persona.dhip.get("manufacturer", persona.manufacturer)
    assert facts.get("http_port") == "80"
    assert facts.get("reported_ipv4") == "10.66.0.22"
    assert facts.get("ipv4_gateway") == "10.66.0.1"


def test_an_oem_relabel_reports_the_relabeller_as_vendor() -> None:
    parsed = parse_reply(dahua_reply("amcrest-relabel"))
    assert parsed is not None
    assert (parsed[0].get("vendor") or "").lower() == "amcrest"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("2.800.0000016.0.R,build:2020-06-05", ("2.800.0000016.0.R", "2020-06-05")),
        ("2.800.0000016.0.R, build: 2020-06-05", ("2.800.0000016.0.R", "2020-06-05")),
        ("2.623.00AC004.0.R.200316", ("2.623.00AC004.0.R.200316", None)),
    ],
)
def test_dahua_versions_split_into_firmware_and_build(
    text: str, parts: tuple[str, str | None]
) -> None:
    assert split_version(text) == parts


def test_version_and_ports_are_read_when_a_device_sends_them() -> None:
    body = {
        "mac": "38-AF-29-00-00-01",
        "method": "client.notifyDevInfo",
        "params": {
            "deviceInfo": {
                "deviceType": "IPC-HFW",
                "Version": "2.800.1.0.R,build:2021-03-01",
                "HttpPort": "8080",
                "RtspPort": 554,
                "Port": 37777,
            }
        },
    }
    payload = json.dumps(body).encode()
    parsed = parse_reply(header(payload) + payload)
    assert parsed is not None
    facts, mac = parsed
    assert mac == "38:af:29:00:00:01"
    assert (facts.get("firmware"), facts.get("build")) == ("2.800.1.0.R", "2021-03-01")
    assert (facts.get("http_port"), facts.get("rtsp_port"), facts.get("sdk_port")) == (
        "8080",
        "554",
        "37777",
    )


def test_a_search_from_another_scanner_is_not_a_device() -> None:
    assert parse_reply(search_request()) is None


def test_bare_json_without_the_header_is_tolerated() -> None:
    reply = dahua_reply()
    assert items(parse_reply(reply[32:])) == items(parse_reply(reply))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (framed(b"{not json"), "unparsable DHIP JSON"),
        (framed(b"[" * 100000 + b"]" * 100000), "nested too deeply"),
        (b'{"method":"client.notifyDevInfo","params":{}}', "without params.deviceInfo"),
        (b"\x00\x01binary", "no DHIP header"),
        (framed(b'"a string"'), "not an object"),
    ],
    ids=["bad-json", "deep-nesting", "no-device-info", "binary", "not-object"],
)
def test_broken_replies_raise_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(ReplyError, match=reason):
        parse_reply(payload)


def test_a_length_field_longer_than_the_datagram_is_not_trusted() -> None:
    reply = dahua_reply()
    lying = reply[:16] + (10**6).to_bytes(4, "little") + reply[20:]
    assert items(parse_reply(lying)) == items(parse_reply(reply))


def test_escape_codes_in_json_strings_are_sanitised() -> None:
    body = {
        "params": {
            "deviceInfo": {"DeviceType": "IPC\u001b]0;pwned\u0007\u009b2J", "SerialNo": "\udcff"}
        }
    }
    payload = json.dumps(body).encode()
    parsed = parse_reply(payload)
    assert parsed is not None
    assert parsed[0].get("model") == "IPC\\x1b]0;pwned\\x07\\x9b2J"


def test_the_recorded_fake_device_is_found_on_loopback() -> None:
    with start_device("dahua-ipc") as device:
        attempt = DhipSearch(port=device.ports["dhip"]).run(loopback_target())
    assert attempt.status == "completed", attempt.error
    (sighting,) = attempt.sightings
    assert (sighting.method, sighting.ip) == ("dhip", "127.0.0.1")
    assert sighting.mac == load_persona("dahua-ipc").mac.lower()


def test_a_deeply_nested_reply_is_kept_as_a_device_with_an_error(udp_responder: Start) -> None:
    responder = udp_responder(lambda probe: [header(b"[" * 8000) + b"[" * 8000])
    attempt = DhipSearch(port=responder.port).run(loopback_target())
    assert attempt.status == "completed"
    (sighting,) = attempt.sightings
    assert sighting.fact("error")
