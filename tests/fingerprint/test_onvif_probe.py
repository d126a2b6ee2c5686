"""ONVIF probe (onvif-zeep) against the lab Hikvision persona's device service on loopback."""

from __future__ import annotations

import functools
import logging
import re
import subprocess
import sys

from camaudit.fingerprint.interface import Credentials, ProbeTarget
from camaudit.fingerprint.onvif import OnvifProbe
from tests.fingerprint.fakes import HIK, credentials, variant

UTC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def test_pre_authentication_calls_are_made_without_any_security_header(device):
    camera = device(variant(HIK, onvif={"versions": ["2.60"]}))
    attempt = OnvifProbe().run(ProbeTarget("127.0.0.1", camera.ports["http"], 3.0))
    seen = dict(attempt.facts)
    assert attempt.status == "completed" and attempt.probe == f"onvif:{camera.ports['http']}"
    assert UTC_TIME.fullmatch(seen["onvif_utc_time"])
    assert seen["onvif_datetime_type"] == "NTP"
    assert seen["onvif_versions"] == "2.60"
    assert "manufacturer" not in seen
    assert len(camera.requests) == 3
    assert not any(b"Security" in r.body for r in camera.requests)


def test_device_information_and_network_settings_are_read_with_credentials(device):
    camera = device(HIK)
    target = ProbeTarget("127.0.0.1", camera.ports["http"], 3.0, credentials=credentials(HIK))
    attempt = OnvifProbe().run(target)
    seen = dict(attempt.facts)
    assert seen["manufacturer"] == "HIKVISION"
    assert seen["model"] == HIK.model
    assert seen["firmware"] == f"{HIK.firmware} {HIK.build}"
    assert seen["ntp"] == "192.0.2.123" and seen["dns"] == "192.0.2.53"
    assert seen["gateway"] == "10.66.0.1" and seen["mac"] == HIK.mac.lower()
    assert ("protocol", "HTTP enabled 80") in attempt.facts
    signed = [r for r in camera.requests if b"UsernameToken" in r.body]
    assert signed and all(HIK.password.encode() not in r.body for r in signed)  # digest only


def test_refused_authenticated_calls_are_failed_calls_not_a_failed_probe(device):
    camera = device(HIK)
    wrong = Credentials("someone-else", "x")
    target = ProbeTarget("127.0.0.1", camera.ports["http"], 3.0, credentials=wrong)
    attempt = OnvifProbe().run(target)
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


def test_a_slow_wsdl_parse_does_not_count_against_the_devices_time_limit(device, monkeypatch):
    # the first probes of a run parse the ONVIF WSDL; on a loaded machine that took longer
    # than the device's whole time limit, and every ONVIF probe of the bench timed out
    import time

    from camaudit.fingerprint import onvif

    parse = onvif._parse_wsdl.__wrapped__

    def slow_parse(wsdl: str) -> object:
        time.sleep(1.5)
        return parse(wsdl)

    monkeypatch.setattr(onvif, "_parse_wsdl", functools.lru_cache(maxsize=4)(slow_parse))
    camera = device(HIK)
    attempt = OnvifProbe().run(ProbeTarget("127.0.0.1", camera.ports["http"], 1.0))
    assert attempt.status == "completed", attempt.error
    assert dict(attempt.facts)["onvif_call:GetSystemDateAndTime"] == "ok"
