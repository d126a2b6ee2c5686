"""Integration: every method against the fake devices of a netns segment (root).

One discover run (all methods) from the ``scanner`` namespace over the whole segment;
every persona's ``expected.found_by`` / ``not_found_by`` is the oracle, and nothing may
be invented for the device that is not a camera.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

from camaudit.discover import Inventory

pytestmark = pytest.mark.netns

PERSONAS = (
    "hik-ipc",
    "dahua-ipc",
    "lts-relabel",
    "amcrest-relabel",
    "onvif-generic",
    "printer",
    "hostile-escapes",
    "hostile-xml-bomb",
    "hostile-trickle",
)
CAMERA_FACTS = ("model", "serial", "firmware", "vendor", "xaddrs", "scopes")

RUN = """
import dataclasses, json
from camaudit.discover import Target, discover
target = Target(networks=("10.66.0.0/24",), interface="eth0", timeout=2.0, budget=150)
print(json.dumps(dataclasses.asdict(discover(target))))
"""


@dataclasses.dataclass
class SegmentRun:
    inventory: dict[str, Any]
    raw: str
    ips: dict[str, str]
    macs: dict[str, str]
    expected: dict[str, Any]
    seconds: float

    def device(self, persona: str) -> dict[str, Any]:
        ip = self.ips[persona]
        return next(d for d in self.inventory["devices"] if d["ip"] == ip)

    def sightings(self, persona: str, method: str) -> list[dict[str, Any]]:
        return [s for s in self.device(persona)["sightings"] if s["method"] == method]


def usable(sighting: dict[str, Any]) -> bool:
    return not any(key == "error" for key, _ in sighting["facts"])


@pytest.fixture(scope="module")
def segment_run() -> Iterator[SegmentRun]:
    if os.geteuid() != 0:
        pytest.skip("needs root for ip netns")
    if shutil.which("ip") is None or shutil.which("nmap") is None:
        pytest.skip("needs iproute2 and nmap")
    from lab.segment import Segment

    with Segment(list(PERSONAS)) as seg:
        started = time.monotonic()
        raw = seg.python("scanner", RUN, timeout=240)
        seconds = time.monotonic() - started
        yield SegmentRun(
            inventory=json.loads(raw),
            raw=raw,
            ips={name: seg.device_ip(name) for name in PERSONAS},
            macs={name: seg.device_mac(name) for name in PERSONAS},
            expected={name: seg.device(name).persona.expected for name in PERSONAS},
            seconds=seconds,
        )


def test_every_method_completes_on_the_segment(segment_run: SegmentRun) -> None:
    statuses = {a["method"]: (a["status"], a["error"]) for a in segment_run.inventory["attempts"]}
    assert {m: s for m, (s, _) in statuses.items()} == {
        "arp": "completed",
        "wsdiscovery": "completed",
        "sadp": "completed",
        "dhip": "completed",
        "nmap": "completed",
    }, statuses
    assert Inventory  # the JSON above is dataclasses.asdict(Inventory)


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_persona_is_found_by_the_methods_that_should_find_it_and_by_no_other(
    segment_run: SegmentRun, persona: str
) -> None:
    expected = segment_run.expected[persona]
    for method in expected.found_by:
        found = [s for s in segment_run.sightings(persona, method) if usable(s)]
        assert found, f"{persona} not found by {method}"
        if method in ("arp", "sadp", "dhip"):
            assert {s["mac"] for s in found} == {segment_run.macs[persona]}, (persona, method)
    for method in expected.not_found_by:  # a method that must not see it reports no camera
        found = [s for s in segment_run.sightings(persona, method) if usable(s)]
        assert not found, f"{persona} wrongly found by {method}: {found}"


def test_the_device_that_is_not_a_camera_gets_no_camera_facts(segment_run: SegmentRun) -> None:
    device = segment_run.device("printer")
    assert set(device["methods"]) <= {"arp", "nmap"}
    for sighting in device["sightings"]:
        assert not [k for k, _ in sighting["facts"] if k in CAMERA_FACTS], sighting


def test_nothing_is_invented_beyond_the_segment_hosts(segment_run: SegmentRun) -> None:
    from lab.segment import SCANNER_V4

    allowed = set(segment_run.ips.values()) | {SCANNER_V4}
    assert {d["ip"] for d in segment_run.inventory["devices"]} <= allowed


def test_the_vendor_ouis_are_named(segment_run: SegmentRun) -> None:
    assert segment_run.device("hik-ipc")["oui_vendor"] == "hikvision"
    assert segment_run.device("dahua-ipc")["oui_vendor"] == "dahua"


def test_xml_bombs_on_the_wire_end_as_error_facts(segment_run: SegmentRun) -> None:
    answered = segment_run.sightings("hostile-xml-bomb", "sadp") + segment_run.sightings(
        "hostile-xml-bomb", "wsdiscovery"
    )
    assert answered
    for sighting in answered:
        assert dict(sighting["facts"])["error"].startswith("XML refused"), sighting


def test_escape_codes_never_reach_the_inventory(segment_run: SegmentRun) -> None:
    text = json.loads(segment_run.raw)
    flat = json.dumps(text, ensure_ascii=False)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in flat)
    replies = segment_run.sightings("hostile-escapes", "sadp")
    assert len(replies) == 1, replies
    (sadp,) = replies
    assert "\\x1b" in dict(sadp["facts"])["model"]


def test_a_trickling_device_is_kept_and_the_run_stays_in_budget(segment_run: SegmentRun) -> None:
    device = segment_run.device("hostile-trickle")
    assert "arp" in device["methods"]
    assert segment_run.seconds < 150 + 15
