"""ONVIF probe through onvif-zeep against a recorded-style device service on 127.0.0.1."""

from __future__ import annotations

import logging
import subprocess
import sys

from camaudit.fingerprint.interface import Credentials, ProbeTarget
from camaudit.fingerprint.onvif import OnvifProbe
from tests.fingerprint import devices as d

CREDS = Credentials(d.USER, d.PASSWORD)


def test_pre_authentication_calls_are_made_without_any_security_header(serve):
    server = serve(d.onvif_device())
    attempt = OnvifProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0))
    seen = dict(attempt.facts)
    assert attempt.status == "completed" and attempt.probe == f"onvif:{server.port}"
    assert seen["onvif_utc_time"] == "2024-05-06T10:20:30Z"
    assert seen["onvif_datetime_type"] == "NTP"
    assert seen["onvif_versions"] == "2.60"
    assert "manufacturer" not in seen
    assert len(server.requests) == 3
    assert not any(b"Security" in r.body for r in server.requests)


def test_device_information_and_network_settings_are_read_with_credentials(serve):
    server = serve(d.onvif_device())
    seen = dict(
        OnvifProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0, credentials=CREDS)).facts
    )
    assert seen["manufacturer"] == "HIKVISION"
    assert seen["model"] == "DS-2CD2043G2-I"
    assert seen["firmware"] == "V5.5.0 build 210101"
    assert seen["ntp"] == "198.51.100.123" and seen["dns"] == "198.51.100.53"
    assert seen["gateway"] == "10.66.0.1" and seen["mac"] == "04:03:12:aa:bb:cc"
    assert seen["protocol"] == "HTTP enabled 80"
    signed = [r for r in server.requests if b"UsernameToken" in r.body]
    assert signed and all(d.PASSWORD.encode() not in r.body for r in signed)  # digest only


def test_refused_authenticated_calls_are_failed_calls_not_a_failed_probe(serve):
    server = serve(d.onvif_device())
    wrong = Credentials("someone-else", "x")
    attempt = OnvifProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0, credentials=wrong))
    seen = dict(attempt.facts)
    assert attempt.status == "completed"
    assert seen["onvif_call:GetDeviceInformation"].startswith("failed:")


def test_importing_the_probe_does_not_configure_the_root_logger():
    code = (
        "import logging; import camaudit.fingerprint.onvif as o; o._import_onvif(); "
        "print(len(logging.getLogger().handlers))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
    assert logging.getLogger("onvif") is not None


def test_probe_threads_starting_together_parse_the_wsdl_once():
    import threading

    from camaudit.fingerprint import onvif

    wsdl = onvif._wsdl_path(onvif._import_onvif())
    onvif._parse_wsdl.cache_clear()
    start = threading.Barrier(8)

    def first_probe() -> None:
        start.wait()
        onvif._wsdl_document(wsdl)

    threads = [threading.Thread(target=first_probe) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert onvif._parse_wsdl.cache_info().misses == 1
