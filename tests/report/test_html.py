"""The HTML report: one self-contained page, in Dutch and English, the same bytes each time,
with every untrusted text shown as text. (What Chromium shows of it: test_html_browser.py.)"""

from __future__ import annotations

import difflib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from camaudit.audit.devices import audit_text
from camaudit.i18n import translator
from camaudit.phrases import reason_text
from camaudit.report import html
from camaudit.report.compliance import REGISTER_KINDS, STATUS_NAMES, control_rows, with_controls
from camaudit.report.model import AuditReport, InventoryReport, Report, VerifyReport
from camaudit.report.register import read_register, with_register
from tests.audit.reports import CAM1_IP
from tests.report.golden import (
    HTML_HEAD,
    REGENERATE,
    html_goldens,
    html_renderings,
    markup_and_words,
    page_parts,
    same_language_as,
)
from tests.report.hostile_html import (
    HOSTILE,
    LONG,
    SHOWN,
    hostile_audit,
    hostile_inventory,
    hostile_verify,
)
from tests.report.reports import GOLDEN

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# The only elements the page is made of: anything else came from the report's text.
ELEMENTS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "section",
    "div", "span", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "code", "article",
    "svg", "rect", "line", "text", "i", "footer",
}  # fmt: skip


class Page(HTMLParser):
    """The elements, attributes and visible text of a page, as a browser's parser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def shown(self) -> str:
        return "".join(self.text)


def _render(report: Report, lang: str) -> str:
    return html.render(report, translator(lang, strict=True))


# ---- what a reader sees ----------------------------------------------------------------


def test_verify_page_shows_the_verdict_devices_findings_and_their_filters_in_english(
    crossing: VerifyReport,
) -> None:
    page = Page(_render(crossing, "en"))
    assert "not isolated" in page.shown
    for device in crossing.devices:
        assert device.ip in page.shown
        assert device.mac and device.mac in page.shown
    assert crossing.findings
    for finding in crossing.findings:
        for evidence in finding.evidence:
            assert evidence.display_filter in page.shown
    for capture in crossing.inputs:
        assert capture.sha256 in page.shown
    assert "litedev.hik-connect.com" in page.shown  # the DNS look-up


def test_dutch_page_says_gesloten_netwerk_apparaat_bevinding_uitgaande_verbinding(
    crossing: VerifyReport,
) -> None:
    text = _render(crossing, "nl")
    page = Page(text)
    assert '<html lang="nl">' in text
    shown = page.shown.lower()
    for word in ("niet geïsoleerd", "gesloten netwerk", "apparaten", "bevindingen",
                 "uitgaande verbinding", "netwerkopname", "weergavefilter"):  # fmt: skip
        assert word in shown, word
    for english in ("Verdict", "Findings", "Outbound connections", "Devices", "Summary"):
        assert english not in page.shown, english


def test_dutch_page_writes_dates_and_numbers_the_dutch_way(crossing: VerifyReport) -> None:
    shown = Page(_render(crossing, "nl")).shown
    assert "23 november 2026, 12:00:00 UTC" in shown  # the report's date
    assert "32 pakketten" in shown
    assert "23 November 2026" in Page(_render(crossing, "en")).shown


def test_timeline_has_a_mark_per_outbound_flow_with_a_tooltip(
    crossing: VerifyReport,
) -> None:
    text = _render(crossing, "en")
    marks = re.findall(
        r'<rect class="(crossed|attempted|rejected)"[^>]*><title>([^<]*)</title>', text
    )
    assert len(marks) == len(crossing.outbound) == 1
    category, title = marks[0]
    assert category == "crossed"
    assert "10.66.0.21" in title and "203.0.113.5" in title and "crossed the boundary" in title


def test_inventory_page_shows_each_device_with_make_model_firmware_and_cves(
    inventory: InventoryReport,
) -> None:
    for lang in ("en", "nl"):
        page = Page(_render(inventory, lang))
        for device in inventory.inventory.devices:
            assert device.ip and device.ip in page.shown
            assert device.identity and device.identity.model
            assert device.identity.model in page.shown
            assert device.identity.firmware and device.identity.firmware in page.shown
            for cve in device.cves:
                assert cve.cve in page.shown
    assert "Inventaris" in Page(_render(inventory, "nl")).shown


# ---- self-contained, deterministic -------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_page_fetches_nothing_and_forbids_fetching(crossing: VerifyReport, lang: str) -> None:
    text = _render(crossing, lang)
    page = Page(text)
    assert ("content", CSP + "; base-uri 'none'; form-action 'none'") in page.attrs
    assert not {"script", "img", "link", "iframe", "object", "embed"} & set(page.tags)
    # the only URL in the page is the SVG namespace, which is a name, not a fetch
    urls = set(re.findall(r"(?:https?|ftp|wss?):/?/?[^\s\"'<>)]*", text))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "url(" not in text and "@import" not in text and "src=" not in text


def test_same_report_and_language_give_the_same_bytes(crossing: VerifyReport) -> None:
    for lang in ("en", "nl"):
        assert _render(crossing, lang) == _render(crossing, lang)
    assert _render(crossing, "en") != _render(crossing, "nl")


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return html_renderings()


def test_html_golden_files_are_what_the_renderer_writes(pages: dict[str, str]) -> None:
    made = html_goldens(pages)
    stored = {p.name for p in GOLDEN.glob("*.html")} | {p.name for p in GOLDEN.glob("*.words")}
    assert stored == set(made), f"HTML golden files differ; run {REGENERATE}"
    for name, got in made.items():
        expected = (GOLDEN / name).read_text(encoding="utf-8")
        if got != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True), got.splitlines(keepends=True), name, "now"
                )
            )
            pytest.fail(f"{name} differs from its golden file; run {REGENERATE}\n{diff[:4000]}")


def test_every_html_page_has_the_one_stored_head_in_its_own_language(
    pages: dict[str, str],
) -> None:
    stored = (GOLDEN / HTML_HEAD).read_text(encoding="utf-8")
    for name, page in pages.items():
        head, body = page_parts(page)
        lang = name.split(".")[-2]
        assert f'<html lang="{lang}">' in head, name
        title = Page(head).shown.strip().splitlines()[0]
        assert f"<h1>{title}</h1>" in body, f"{name}: the title is not the page's heading"
        assert same_language_as(head, stored) == stored, f"{name}: head differs from {HTML_HEAD}"


def test_a_dutch_page_is_the_english_page_with_dutch_words(pages: dict[str, str]) -> None:
    dutch = [name for name in pages if name.endswith(".nl.html")]
    assert dutch
    for name in dutch:
        english = name.replace(".nl.html", ".en.html")
        nl_markup, nl_words = markup_and_words(page_parts(pages[name])[1])
        en_markup, en_words = markup_and_words(page_parts(pages[english])[1])
        assert nl_markup == en_markup, f"{name}: markup differs from {english}"
        assert nl_words != en_words
        assert not any("\n" in word for word in nl_words), "one word per golden line"


# ---- hostile text --------------------------------------------------------------------------


def assert_shown_as_text(text: str) -> Page:
    """Every hostile text is on the page as text: no element, no handler, no control or
    bidi character, nothing 64 k long."""
    page = Page(text)
    assert set(page.tags) <= ELEMENTS, set(page.tags) - ELEMENTS
    assert not [name for name, _ in page.attrs if name.startswith("on")]
    for hostile in HOSTILE:
        assert SHOWN[hostile] in page.shown, hostile[:40]
    assert LONG not in text and len(text) < 200_000  # 64 k strings are cut
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]", text)
    return page


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_hostile_text_in_a_verify_report_is_shown_as_text(
    crossing: VerifyReport, lang: str
) -> None:
    page = assert_shown_as_text(_render(hostile_verify(crossing), lang))
    assert "{{ 7*7 }}" in page.shown


def test_hostile_text_in_an_inventory_is_shown_as_text(inventory: InventoryReport) -> None:
    assert_shown_as_text(_render(hostile_inventory(inventory), "nl"))


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_hostile_text_in_an_audit_is_shown_as_text(audit: AuditReport, lang: str) -> None:
    page = assert_shown_as_text(_render(hostile_audit(audit), lang))
    assert page.shown.count("{{ 7*7 }}") >= len(audit.audit.devices)


# ---- audit: each device with its own verdict ----------------------------------------------


@pytest.mark.parametrize(
    ("lang", "crossed", "inside", "unknown"),
    [
        ("en", "not isolated", "isolated", "inconclusive"),
        ("nl", "niet geïsoleerd", "geïsoleerd", "niet vast te stellen"),
    ],
)
def test_audit_page_shows_each_device_with_its_own_verdict(
    audit: AuditReport, lang: str, crossed: str, inside: str, unknown: str
) -> None:
    text = _render(audit, lang)
    rows = re.findall(r'<tr class="device">(.*?)</tr>', text)
    assert len(rows) == len(audit.audit.devices) == 4
    verdicts = {
        Page(row).text[0]: re.findall(r'<span class="verdict (\w+)">([^<]*)</span>', row)
        for row in rows
    }
    assert verdicts == {
        "10.66.0.21": [("not_isolated", crossed)],
        "10.66.0.10": [("isolated", inside)],
        "10.66.0.99": [("inconclusive", unknown)],
        "10.66.0.1": [("isolated", inside)],  # the gateway, seen only in the traffic
    }
    shown = Page(text).shown
    assert "DS-2CD2143G0-I" in shown and "CVE-2021-36260" in shown
    assert "telnet is enabled (port 23)" in shown
    # the overall verdict stays the verify verdict, in the banner
    banner = re.search(r'<section class="banner (\w+)"', text)
    assert banner is not None and banner.group(1) == "not_isolated"


def test_audit_page_has_a_verdict_card_per_device_with_the_frames_behind_it(
    audit: AuditReport,
) -> None:
    text = _render(audit, "nl")
    cards = re.findall(r'<article class="device-verdict (\w+)">(.*?)</article>', text, re.S)
    assert [c[0] for c in cards] == [d.verdict.verdict for d in audit.audit.devices]
    camera = Page(cards[0][1]).shown
    for e in audit.audit.devices[0].verdict.evidence:
        assert e.capture in camera and e.display_filter in camera
    for reason in audit.audit.devices[0].verdict.reasons:
        assert reason_text(reason, translator("nl", strict=True)) in camera
    silent = Page(cards[2][1]).shown
    assert "Niet te controleren" in silent
    nl = translator("nl", strict=True)
    assert all(audit_text(n, nl) in silent for n in audit.audit.devices[2].not_checked)
    marks = re.findall(r'<rect class="(?:crossed|rejected|attempted)"', text)
    assert len(marks) == len(audit.outbound)  # the timeline: a mark per flow


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_audit_page_shows_every_bio_control_with_its_status_and_every_register_row(
    audit: AuditReport, lang: str, tmp_path: Path
) -> None:
    register = tmp_path / "register.csv"
    register.write_text(
        "Locatie;Omschrijving;IP-adres;MAC-adres;Merk\r\n"
        f"Stadhuis;Camera hoofdingang;{CAM1_IP};;Dahua\r\n"
        "Bibliotheek;Camera leeszaal;10.66.0.98;;Axis\r\n",
        encoding="utf-8",
    )
    rows, sha256 = read_register(register)
    report = with_controls(with_register(audit, rows, str(register), sha256))
    assert report.controls is not None and report.register is not None
    t = translator(lang, strict=True)
    text = _render(report, lang)
    controls = re.search(r'<section id="controls">(.*?)</section>', text, re.S)
    assert controls is not None
    shown = {
        tuple(Page(row).text[:3])
        for row in re.findall(r'<tr class="control \w+">(.*?)</tr>', controls.group(1))
    }
    rows = control_rows(report.controls, t, report.findings)
    assert shown == {(r.id, r.title, r.status_word) for r in rows}
    assert len(shown) == len(report.controls.controls)
    assert t.gettext(STATUS_NAMES["failed"]) in {s for _, _, s in shown}
    section = re.search(r'<section id="register">(.*?)</section>', text, re.S)
    assert section is not None
    entries = re.findall(r'<tr class="register-entry">(.*?)</tr>', section.group(1))
    assert len(entries) == len(report.register.entries) >= 4
    kinds = {Page(row).text[1] for row in entries}
    assert kinds == {t.gettext(REGISTER_KINDS[e.kind]) for e in report.register.entries}
    page = Page(section.group(1)).shown
    assert "Bibliotheek" in page and "Dahua" in page and "Axis" in page
    if lang == "nl":
        assert "not tested" not in Page(text).shown and "expected make" not in text
