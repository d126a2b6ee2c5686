"""End to end: `camaudit discover` from the scanner namespace of a netns segment of fake
cameras, through fingerprinting, to the inventory report (root).

Each persona's ``[expected]`` table in lab/devices/personas is the oracle. No credentials
are given, so facts a persona only reveals after login must be reported as unknown, never
guessed, and CVEs are only reported where the firmware was read.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from camaudit.report.model import schema
from tests.netns import CAMAUDIT, SEGMENT_DISCOVERY, need_root

pytestmark = pytest.mark.netns

MAKES = (
    "axis-ipc",
    "bosch-ipc",
    "hanwha-ipc",
    "mobotix-ipc",
    "uniview-ipc",
    "vivotek-ipc",
    "ipro-ipc",
    "sony-ipc",
)
PERSONAS = (
    "hik-ipc",
    "dahua-ipc",
    "lts-relabel",
    "amcrest-relabel",
    "printer",
    "hostile-escapes",
    *MAKES,
)


@pytest.fixture(scope="module")
def scan() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    need_root("the netns segment", "ip")
    from lab.segment import Segment

    with Segment(list(PERSONAS)) as seg:
        out = seg.run(
            "scanner",
            [
                *CAMAUDIT,
                "discover",
                *SEGMENT_DISCOVERY,
                "--format",
                "json",
            ],
            timeout=240,
        )
        ips = {name: seg.device_ip(name) for name in PERSONAS}
        expected = {name: seg.device(name).persona.expected for name in PERSONAS}
    report = json.loads(out)
    devices = {d["ip"]: d for d in report["inventory"]["devices"]}
    return report, {name: devices.get(ip) for name, ip in ips.items()}, expected


def test_the_inventory_report_follows_the_schema(scan: Any) -> None:
    report, _, _ = scan
    jsonschema.validate(report, schema())
    assert report["kind"] == "inventory"


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_device_is_found_and_identified_as_its_maker(scan: Any, persona: str) -> None:
    _, devices, expected = scan
    device, want = devices[persona], expected[persona]
    assert device is not None, f"{persona} not in the inventory"
    ident = device["identity"]
    assert ident is not None
    assert ident["vendor"] == want.vendor, (persona, ident)
    assert ident["oem_brand"] == want.oem_brand, (persona, ident)


@pytest.mark.parametrize("persona", PERSONAS)
def test_model_and_firmware_are_right_or_honestly_unknown(scan: Any, persona: str) -> None:
    _, devices, expected = scan
    ident, want = devices[persona]["identity"], expected[persona]
    if persona.startswith("hostile"):
        # whatever it claims is reported, escaped: never raw control characters
        assert ident["model"] is None or "\x1b" not in ident["model"]
    else:
        assert ident["model"] in (want.model, None), (persona, ident["model"])
    if ident["firmware"] is not None and want.firmware is not None:
        assert ident["firmware"].startswith(want.firmware or "\0"), (persona, ident)
    if ident["firmware"] is None:
        assert devices[persona]["cves"] == []  # never a CVE guessed without a firmware


@pytest.mark.parametrize("persona", PERSONAS)
def test_cves_are_those_of_the_firmware_read(scan: Any, persona: str) -> None:
    _, devices, expected = scan
    device, want = devices[persona], expected[persona]
    got = {c["cve"] for c in device["cves"]}
    assert got <= set(want.cves) | set(want.cves_possible), (persona, got)
    if device["identity"]["firmware"]:
        assert set(want.cves) <= got, (persona, got)


def test_sadp_firmware_of_an_old_hikvision_brings_its_kev_cve(scan: Any) -> None:
    _, devices, _ = scan
    cves = {c["cve"]: c for c in devices["hik-ipc"]["cves"]}
    assert cves["CVE-2021-36260"]["kev_date_added"] == "2022-01-10"


def test_the_printer_gets_no_camera_identity(scan: Any) -> None:
    _, devices, _ = scan
    ident = devices["printer"]["identity"]
    assert ident["vendor"] is None and ident["model"] is None and not devices["printer"]["cves"]


def test_hostile_banners_reach_the_report_sanitised(scan: Any) -> None:
    report, _, _ = scan
    text = json.dumps(report, ensure_ascii=False)
    assert "\x1b" not in text and "\x07" not in text


@pytest.mark.parametrize("persona", MAKES)
def test_a_camera_of_another_make_is_found_and_named_without_credentials(
    scan: Any, persona: str
) -> None:
    _, devices, expected = scan
    device, want = devices[persona], expected[persona]
    assert {"arp", "wsdiscovery"} <= set(device["found_by"])
    assert device["oui_vendor"] not in (None, "other")  # the make's own OUI block
    ident = device["identity"]
    assert (ident["vendor"], ident["oem_brand"], ident["model"]) == (
        "other",
        want.oem_brand,
        want.model,
    )
