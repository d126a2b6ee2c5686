"""SightingStream: probes start as sightings arrive; the result is the one probing after
discovery gives (identify_devices is the oracle), on the lab's fake Hikvision camera
(lab/devices hik-ipc) on loopback."""

from __future__ import annotations

import threading
from typing import Any

from camaudit.attempt import AttemptStatus
from camaudit.discover.interface import InventoryDevice, MethodAttempt, Sighting
from camaudit.discover.inventory import merge
from camaudit.fingerprint import Batch, Fingerprint, identify_devices
from camaudit.fingerprint.stream import SightingStream
from tests.fingerprint.fakes import HIK

HOST = "127.0.0.1"
TIMEOUT = 5.0  # generous: the answers, not the timing, are compared (a loaded machine)
SETTINGS = Batch(None, None, TIMEOUT, (), None, None)  # no ports given, no credentials


def sightings(http: int, rtsp: int, onvif: int) -> tuple[Sighting, Sighting]:
    """An ARP-like sighting (no ports), then a SADP/WS-Discovery-like one announcing them."""
    arp = Sighting("arp", HOST, "44:19:b6:00:00:01", time=1.0)
    sadp = Sighting(
        "sadp",
        HOST,
        "44:19:b6:00:00:01",
        (
            ("http_port", str(http)),
            ("rtsp_port", str(rtsp)),
            ("xaddrs", f"http://{HOST}:{onvif}/onvif/device_service"),
        ),
        time=2.0,
    )
    return arp, sadp


def inventory(*found: Sighting) -> tuple[InventoryDevice, ...]:
    return merge([MethodAttempt(s.method, AttemptStatus.COMPLETED, (s,)) for s in found])


def comparable(fp: Fingerprint | None) -> Any:
    assert fp is not None
    attempts = [(a.probe, a.status, a.facts, a.error) for a in fp.attempts]
    return attempts, fp.identity, fp.cves, fp.config_findings


def test_a_streamed_device_is_identified_exactly_as_after_discovery(device):
    camera = device(HIK)
    http, rtsp = camera.ports["http"], camera.ports["rtsp"]
    arp, sadp = sightings(http, rtsp, http)
    devices = inventory(arp, sadp)
    # first, as the oracle: the first ONVIF probe of a process reads the WSDL set, which
    # takes seconds on a loaded machine
    oracle = identify_devices(devices, lambda _d: True, None, TIMEOUT)
    reported: list[Fingerprint] = []
    stream = SightingStream(lambda ip: True, SETTINGS, reported.append)
    stream.sighted([arp])  # probes start on the usual ports before the ports are announced
    stream.sighted([sadp])  # the announced ports are probed at once, too
    streamed = stream.finish(devices, lambda _d: True)
    mine, theirs = comparable(streamed[0].fingerprint), comparable(oracle[0].fingerprint)
    assert mine[0] == theirs[0]  # the same probes, in plan order, with the same answers
    assert mine[1:] == theirs[1:]  # so the same identity, CVEs and findings
    assert streamed[0].fingerprint.identity.vendor == "hikvision"  # type: ignore[union-attr]
    assert [f.host for f in reported] == [HOST]  # one progress report per device
    probed = [a.probe for a in streamed[0].fingerprint.attempts]  # type: ignore[union-attr]
    assert f"http:{http}" in probed and "http:80" not in probed


def test_a_device_is_reported_while_discovery_still_runs(device):
    http = device(HIK).ports["http"]
    _arp, sadp = sightings(http, 9, 9)
    done = threading.Event()
    stream = SightingStream(lambda ip: True, SETTINGS, lambda _: done.set())
    stream.sighted([sadp])
    assert done.wait(10), "no device reported before finish()"
    devices = inventory(sadp)
    stream.finish(devices, lambda _d: True)


def test_covered_names_the_ports_the_probes_will_ask():
    arp, sadp = sightings(8080, 10554, 8899)
    stream = SightingStream(lambda ip: ip == HOST, SETTINGS)
    assert stream.covered(HOST, [arp]) == {80, 443, 554}
    assert stream.covered(HOST, [arp, sadp]) == {8080, 443, 10554, 8899}
    assert stream.covered("10.66.0.99", [arp, sadp]) == frozenset()  # never probed: not covered


def test_a_device_outside_the_probe_filter_is_never_probed(device):
    camera = device(HIK)
    _arp, sadp = sightings(camera.ports["http"], 9, 9)
    stream = SightingStream(lambda ip: False, SETTINGS)
    stream.sighted([sadp])
    devices = inventory(sadp)
    (device,) = stream.finish(devices, lambda _d: False)
    assert device.fingerprint is None
    assert camera.requests == []
