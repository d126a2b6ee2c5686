"""fingerprint(): probes run concurrently within a total bound, identity, CVEs and findings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import time

import pytest

from camaudit.discover.interface import Sighting
from camaudit.errors import UsageError
from camaudit.fingerprint import fingerprint, fingerprint_many, total_bound
from tests.fingerprint.fakes import DAHUA, HIK, credentials, variant

CREDS = credentials(HIK)
CLOSED = ["10.66.0.0/24"]
# the Dahua persona with its UPnP and P2P settings readable (configManager, behind digest)
DAHUA_SETTINGS = variant(
    DAHUA,
    http={
        "endpoints": [*DAHUA.http["endpoints"], "/cgi-bin/configManager.cgi"],
        "config": {"UPnP": "true", "T2UServer": "false"},
    },
)


def dump(value: object) -> str:
    return json.dumps(dataclasses.asdict(value), default=str)  # type: ignore[call-overload]


def test_hikvision_camera_is_identified_with_cve_and_config_findings(device):
    camera = device(HIK)
    http, rtsp = camera.ports["http"], camera.ports["rtsp"]
    ports = {"http": http, "rtsp": rtsp, "onvif": http}
    result = fingerprint("127.0.0.1", ports, CREDS, 3.0, CLOSED)
    assert [a.status for a in result.attempts] == ["completed", "completed", "completed"]
    assert result.identity.vendor == "hikvision"
    assert result.identity.build_date == dt.date(2020, 6, 12)
    cve = next(c for c in result.cves if c.cve == "CVE-2021-36260")
    assert cve.kev_date_added == dt.date(2022, 1, 10)
    assert "NTP server 192.0.2.123 is outside the closed network" in " ".join(
        f.summary.text for f in result.config_findings
    )
    assert any(
        "default gateway (10.66.0.1) is set" in f.summary.text for f in result.config_findings
    )


def test_dahua_upnp_enabled_is_a_finding(device):
    http = device(DAHUA_SETTINGS).ports["http"]
    result = fingerprint("127.0.0.1", {"http": http}, credentials(DAHUA), 3.0)
    assert result.identity.vendor == "dahua"
    assert any(f.summary.text.startswith("UPnP is enabled") for f in result.config_findings)
    assert not any(f.summary.text.startswith("P2P") for f in result.config_findings)


def test_one_silent_probe_never_ends_the_scan_and_the_total_time_is_bounded(device):
    http = device(HIK).ports["http"]
    mute, slow = device("hostile-silent").ports["rtsp"], device("hostile-trickle").ports["http"]
    started = time.monotonic()
    result = fingerprint("127.0.0.1", {"http": http, "rtsp": mute, "onvif": slow}, None, 2.0)
    assert time.monotonic() - started < total_bound(2.0) + 1.0
    statuses = {a.probe.split(":")[0]: a.status for a in result.attempts}
    assert statuses["http"] == "completed"
    assert statuses["rtsp"] == "timed_out"
    assert result.identity.vendor == "hikvision"


def test_announced_ports_from_a_sighting_are_used(device):
    http = device(HIK).ports["http"]
    sighting = Sighting("sadp", "127.0.0.1", None, (("http_port", str(http)),))
    result = fingerprint("127.0.0.1", None, None, 2.0, (), [sighting])
    probes = [a.probe for a in result.attempts]
    assert f"http:{http}" in probes


def test_the_password_never_appears_in_results_errors_or_logs(device, caplog):
    caplog.set_level(logging.DEBUG)
    http, mute = device(HIK).ports["http"], device("hostile-silent").ports["rtsp"]
    ports = {"http": http, "onvif": http, "rtsp": mute}
    results = fingerprint_many(["127.0.0.1"], ports, CREDS, 2.0, CLOSED)
    assert HIK.password not in dump(results[0])
    assert HIK.password not in repr(results)
    assert HIK.password not in caplog.text


def test_a_name_instead_of_an_address_is_a_usage_error_and_is_never_resolved():
    with pytest.raises(UsageError, match="not an IP address"):
        fingerprint("camera.example")
    with pytest.raises(UsageError, match="not a CIDR"):
        fingerprint("127.0.0.1", closed_network=["10.0.0.0/33"])


def test_a_config_finding_carries_the_probe_answer_as_evidence(device):
    http = device(DAHUA_SETTINGS).ports["http"]
    result = fingerprint("127.0.0.1", {"http": http}, credentials(DAHUA), 3.0)
    upnp = next(f for f in result.config_findings if f.rule == "config-upnp-enabled")
    assert upnp.device == "127.0.0.1"
    (evidence,) = upnp.evidence
    assert evidence.capture == f"http:{http} upnp"
    assert evidence.display_filter == f"ip.addr == 127.0.0.1 && tcp.port == {http}"
