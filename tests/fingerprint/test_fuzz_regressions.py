"""Replies the fuzzers (fuzz/) found crashing a probe's parser, each kept as the spec it broke."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from camaudit.attempt import Facts
from camaudit.fingerprint._net import Deadline, exchange
from camaudit.fingerprint.onvif import _RECORDERS, _protocols_facts
from lab.devices import Persona, RunningDevice
from tests.fingerprint.fakes import crafted


@pytest.mark.parametrize("length", ["\x1d0", "²", "1\x1c"])
def test_reply_whose_content_length_is_no_ascii_number_is_read_to_the_close(
    device: Callable[[Persona | str], RunningDevice], length: str
) -> None:
    # fuzz_http: "\x1d0".strip().isdigit() is true, int() refuses it
    answer = f"HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\nbody".encode()
    port = device(crafted({"/": answer})).ports["http"]
    reply = exchange("127.0.0.1", port, b"GET / HTTP/1.1\r\n\r\n", Deadline(3.0))
    assert (reply.status, reply.body) == (200, b"body")


@pytest.mark.parametrize("result", [{"Name": "HTTP"}, "HTTP", [None, "x", {"Name": "RTSP"}]])
def test_network_protocols_of_another_shape_record_only_what_they_hold(result: object) -> None:
    # fuzz_onvif: zeep returns a dict (or text) where the schema says a list
    facts = Facts()
    _protocols_facts(result, facts)
    assert [v for k, v in facts.items() if k == "protocol"] == (
        ["RTSP disabled"] if isinstance(result, list) else []
    )


@pytest.mark.parametrize("call", sorted(_RECORDERS))
@pytest.mark.parametrize(
    "result", [{"x": "y"}, "text", [None, "x"], {"Device": "x"}, {"UTCDateTime": [1]}, 7]
)
def test_every_onvif_call_records_a_result_of_another_shape_without_failing(
    call: str, result: object
) -> None:
    # fuzz_onvif: GetServices gave a dict where a list was expected
    facts = Facts()
    _RECORDERS[call](result, facts)
    assert all(isinstance(v, str) for _, v in facts.items())


BAD_YEAR = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope"'
    ' xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'
    ' xmlns:tt="http://www.onvif.org/ver10/schema"><SOAP-ENV:Body>'
    "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
    "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
    "<tt:UTCDateTime><tt:Time><tt:Hour>22</tt:Hour><tt:Minute>57</tt:Minute>"
    "<tt:Second>26</tt:Second></tt:Time><tt:Date><tt:Year>20\u00ff6</tt:Year>"
    "<tt:Month>12</tt:Month><tt:Day>1</tt:Day></tt:Date></tt:UTCDateTime>"
    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
).encode()


def test_onvif_reply_with_a_number_that_is_not_one_prints_no_traceback(
    device: Callable[[Persona | str], RunningDevice],
) -> None:
    # fuzz_onvif: zeep logs "Error during xml -> python translation" with the whole
    # traceback through logging's last-resort handler, i.e. on the user's stderr
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(BAD_YEAR), BAD_YEAR)
    )
    port = device(crafted({"/onvif/device_service": answer})).ports["http"]
    code = (
        "from camaudit.fingerprint.interface import ProbeTarget\n"
        "from camaudit.fingerprint.onvif import OnvifProbe\n"
        f"attempt = OnvifProbe().run(ProbeTarget('127.0.0.1', {port}, 5.0))\n"
        "print(dict(attempt.facts).get('onvif_call:GetSystemDateAndTime'))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "ok"  # the call was made and its reply read
    assert "Traceback" not in run.stderr and "translation" not in run.stderr
