"""The HTML report as a reader sees it: opened in headless Chromium (Debian's `chromium`,
lab/apt-packages.txt), in a fresh network namespace with only loopback up, its DOM read
back as Chromium built it, a screenshot taken, and Chromium's own net log read for any
request the page made. Nothing is installed here; a missing browser fails in CI.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from camaudit.i18n import translator
from camaudit.report import html
from camaudit.report.model import AuditReport, InventoryReport, VerifyReport
from tests.conftest import need_tool
from tests.report.hostile_html import (
    HOSTILE,
    SHOWN,
    hostile_audit,
    hostile_inventory,
    hostile_verify,
)
from tests.report.test_html import ELEMENTS, Page

pytestmark = pytest.mark.browser

BROWSER_TIMEOUT = 120


@dataclass(frozen=True)
class Opened:
    """What Chromium made of a page: its DOM as text, and the requests the page caused."""

    dom: Page
    requests: tuple[str, ...]


@pytest.fixture(scope="module")
def chromium() -> str:
    if os.geteuid() != 0:
        pytest.skip("opens the page in a fresh network namespace: needs root")
    need_tool("unshare")
    return need_tool("chromium")


def _run_chromium(chromium: str, page: Path, work: Path, *extra: str) -> str:
    """Chromium on ``page`` inside a new network namespace (only ``lo`` up): whatever the
    page or the browser tries to reach, no packet can leave this machine."""
    argv = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={work / 'profile'}", *extra, page.as_uri(),
    ]  # fmt: skip
    script = 'ip link set lo up && exec "$@"'
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script, "sh", *argv],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def page_requests(net_log: Path) -> tuple[str, ...]:
    """The hosts and URLs the page asked for, from Chromium's net log.

    Chromium's own background fetches (update checks, time) carry no top-level site
    (``network_anonymization_key`` "null"); everything the page loads carries the page's
    site (``file://``), so that is what is kept.
    """
    data = json.loads(net_log.read_text(encoding="utf-8"))
    found: set[str] = set()
    for event in data["events"]:
        params: dict[str, Any] = event.get("params") or {}
        key = params.get("network_anonymization_key")
        if isinstance(key, str) and key != "null":
            found.add(str(params.get("host") or params.get("url") or key))
    return tuple(sorted(found))


def open_page(chromium: str, text: str, work: Path) -> Opened:
    work.mkdir(parents=True, exist_ok=True)
    page = work / "report.html"
    page.write_text(text, encoding="utf-8")
    net_log = work / "net-log.json"
    dom = _run_chromium(chromium, page, work, f"--log-net-log={net_log}", "--dump-dom")
    return Opened(Page(dom), page_requests(net_log))


def screenshot(chromium: str, text: str, work: Path, height: int = 1400) -> Path:
    """A PNG of the page as a 1100-pixel-wide window shows it."""
    work.mkdir(parents=True, exist_ok=True)
    page = work / "report.html"
    page.write_text(text, encoding="utf-8")
    shot = work / "report.png"
    _run_chromium(chromium, page, work, f"--window-size=1100,{height}", f"--screenshot={shot}")
    return shot


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def png_colours(path: Path) -> set[tuple[int, int, int]]:
    """Every RGB colour of an 8-bit RGB or RGBA PNG (what Chromium writes), decoded here:
    the PNG filters of RFC 2083 undone row by row."""
    data = path.read_bytes()
    width, height = struct.unpack(">II", data[16:24])
    depth, colour_type = data[24], data[25]
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    channels = 3 if colour_type == 2 else 4
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        if data[at + 4 : at + 8] == b"IDAT":
            chunks.append(data[at + 8 : at + 8 + length])
        at += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    colours: set[tuple[int, int, int]] = set()
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = row[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                row[i] = (row[i] + left) & 0xFF
            elif kind == 2:
                row[i] = (row[i] + up) & 0xFF
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                nearest = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[i] = (row[i] + nearest) & 0xFF
        colours.update((row[x], row[x + 1], row[x + 2]) for x in range(0, stride, channels))
        previous = row
    return colours


# ---- what a reader sees -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "verdict", "heading"),
    [("en", "not isolated", "Findings"), ("nl", "niet geïsoleerd", "Bevindingen")],
)
def test_reader_sees_the_verdict_each_device_and_each_finding_filter(
    chromium: str,
    crossing: VerifyReport,
    tmp_path: Path,
    lang: str,
    verdict: str,
    heading: str,
) -> None:
    text = html.render(crossing, translator(lang, strict=True))
    opened = open_page(chromium, text, tmp_path)
    shown = opened.dom.shown
    assert verdict in shown
    assert heading in shown
    for device in crossing.devices:
        assert device.ip in shown
    filters = [e.display_filter for f in crossing.findings for e in f.evidence]
    assert filters and all(f in shown for f in filters)
    assert "rect" in opened.dom.tags and "title" in opened.dom.tags  # the timeline
    assert opened.requests == ()


def test_reader_sees_each_inventoried_device_in_dutch(
    chromium: str, inventory: InventoryReport, tmp_path: Path
) -> None:
    text = html.render(inventory, translator("nl", strict=True))
    shown = open_page(chromium, text, tmp_path).dom.shown
    assert "Inventaris" in shown
    for device in inventory.inventory.devices:
        assert device.ip and device.ip in shown
        assert device.identity and device.identity.model and device.identity.model in shown


def test_screenshot_shows_a_page(chromium: str, crossing: VerifyReport, tmp_path: Path) -> None:
    shot = screenshot(chromium, html.render(crossing, translator("en")), tmp_path)
    assert _png_size(shot) == (1100, 1400)
    assert shot.stat().st_size > 20_000  # text and colour, not a blank page


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "en",
            {
                "not_isolated": "not isolated",
                "isolated": "isolated",
                "inconclusive": "inconclusive",
            },
        ),
        (
            "nl",
            {
                "not_isolated": "niet geïsoleerd",
                "isolated": "geïsoleerd",
                "inconclusive": "niet vast te stellen",
            },
        ),
    ],
)
def test_reader_sees_each_audited_device_with_its_own_verdict_and_evidence(
    chromium: str, audit: AuditReport, tmp_path: Path, lang: str, words: dict[str, str]
) -> None:
    text = html.render(audit, translator(lang, strict=True))
    opened = open_page(chromium, text, tmp_path)
    shown = opened.dom.shown
    assert opened.requests == ()
    for device in audit.audit.devices:
        assert device.ip is not None and device.mac is not None
        # the verdict card's heading, as Chromium laid the text out
        assert f"{device.ip} ({device.mac}): {words[device.verdict.verdict]}" in shown
        for e in device.verdict.evidence:
            assert e.display_filter in shown
    assert "CVE-2021-36260" in shown and "DS-2CD2143G0-I" in shown
    assert "rect" in opened.dom.tags  # the timeline of the camera's attempts


def test_screenshot_of_an_audit_shows_the_banner_and_each_verdict_colour(
    chromium: str, audit: AuditReport, tmp_path: Path
) -> None:
    text = html.render(audit, translator("nl", strict=True))
    shot = screenshot(chromium, text, tmp_path, height=2600)
    assert _png_size(shot) == (1100, 2600)
    colours = png_colours(shot)
    assert (0xFD, 0xE8, 0xE8) in colours  # the banner: not isolated
    # the verdict cards' left borders: a crossing (red), isolated (green), inconclusive (grey)
    assert {(0xB3, 0x26, 0x1E), (0x1E, 0x7B, 0x34), (0x4A, 0x55, 0x68)} <= colours


def test_the_colour_check_sees_a_page_without_them(chromium: str, tmp_path: Path) -> None:
    """The screenshot check can fail: a plain page has none of the verdict colours."""
    plain = "<!DOCTYPE html><html><body><p>nothing here</p></body></html>"
    colours = png_colours(screenshot(chromium, plain, tmp_path, height=400))
    assert (0xFF, 0xFF, 0xFF) in colours
    assert not {(0xFD, 0xE8, 0xE8), (0xB3, 0x26, 0x1E), (0x1E, 0x7B, 0x34)} & colours


# ---- nothing fetched, nothing injected ----------------------------------------------------


def test_the_net_log_catches_a_page_that_fetches(chromium: str, tmp_path: Path) -> None:
    """The check below can fail: a page with one remote image is caught by it."""
    fetching = '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"></body></html>'
    assert open_page(chromium, fetching, tmp_path).requests == ("http://127.0.0.1:9",)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_hostile_report_makes_no_request_and_injects_no_element(
    chromium: str,
    crossing: VerifyReport,
    inventory: InventoryReport,
    audit: AuditReport,
    tmp_path: Path,
    lang: str,
) -> None:
    t = translator(lang, strict=True)
    reports: tuple[tuple[str, VerifyReport | InventoryReport | AuditReport], ...] = (
        ("verify", hostile_verify(crossing)),
        ("inventory", hostile_inventory(inventory)),
        ("audit", hostile_audit(audit)),
    )
    for name, report in reports:
        opened = open_page(chromium, html.render(report, t), tmp_path / name)
        assert opened.requests == ()
        assert set(opened.dom.tags) <= ELEMENTS, set(opened.dom.tags) - ELEMENTS
        assert not [a for a, _ in opened.dom.attrs if a.startswith("on")]
        for hostile in HOSTILE:
            assert SHOWN[hostile] in opened.dom.shown, (name, hostile[:40])
