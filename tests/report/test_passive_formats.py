"""Names a device chose (DHCP, mDNS, SSDP) in the HTML, Markdown and CSV reports of an
audit: one line per protocol on the device's card, and a make and model guessed from them
marked "(passive)" in the reader's language, never shown as the device's identity."""

from __future__ import annotations

import csv
import io

import pytest

from camaudit.i18n import translator
from camaudit.report import csv_out, html, markdown
from camaudit.report.model import AuditReport
from tests.audit.reports import audit_of
from tests.report.test_html import Page

HIK_MAC = "02:66:00:00:00:21"
MARK = {"en": "passive", "nl": "passief"}
CHOSE = {"en": "names the device chose", "nl": "namen die het apparaat zelf koos"}


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return audit_of(["passive-names"])


def test_the_lab_capture_gives_a_traffic_only_camera_a_passive_guess(report: AuditReport) -> None:
    (hik,) = [d for d in report.audit.devices if d.mac == HIK_MAC]
    assert hik.identity is None and hik.passive_identity is not None and hik.passive


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_html_marks_the_passive_make_and_model_and_lists_the_names_per_protocol(
    report: AuditReport, lang: str
) -> None:
    page = html.render(report, translator(lang, strict=True))
    rows = [Page(r).text for r in _between(page, '<tr class="device">', "</tr>")]
    (hik,) = [r for r in rows if HIK_MAC in r]
    assert f"hikvision ({MARK[lang]})" in hik and f"DS-2CD2143G0-I ({MARK[lang]})" in hik
    card = next(
        c for c in _between(page, '<article class="device-verdict', "</article>") if HIK_MAC in c
    )
    lines = [Page(li).shown for li in _between(card, '<ul class="passive">', "</ul>")]
    shown = " ".join(lines)
    assert f"{MARK[lang]} dhcp ({CHOSE[lang]}, frame 3): message=DISCOVER, host_name=yard" in shown
    assert f"{MARK[lang]} mdns ({CHOSE[lang]}" in shown


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_markdown_marks_the_passive_make_and_model_and_lists_the_names_per_protocol(
    report: AuditReport, lang: str
) -> None:
    text = markdown.render(report, translator(lang, strict=True))
    row = next(
        line for line in text.splitlines() if line.startswith("|") and "02:66:00:00:00:21" in line
    )
    # the Markdown text escapes the brackets: it reads "hikvision (passive)" once rendered
    for cell in (f"hikvision ({MARK[lang]})", f"DS-2CD2143G0-I ({MARK[lang]})"):
        assert markdown.text(cell) in row
    said = f"{MARK[lang]} dhcp ({CHOSE[lang]}, frame 3): message=DISCOVER, host_name=yard"
    assert f"- {markdown.text(said)}" in text


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_csv_marks_the_passive_make_and_model(report: AuditReport, lang: str) -> None:
    rows = list(csv.reader(io.StringIO(csv_out.render(report, translator(lang, strict=True)))))
    (hik,) = [r for r in rows if HIK_MAC in r]
    assert f"hikvision ({MARK[lang]})" in hik and f"DS-2CD2143G0-I ({MARK[lang]})" in hik
    # exactly the devices with no identity of their own and a guess are marked
    devices = report.audit.devices
    assert len(rows) == 1 + len(devices)
    marked = [any(f"({MARK[lang]})" in cell for cell in r[2:4]) for r in rows[1:]]
    assert marked == [d.identity is None and d.passive_identity is not None for d in devices]
    assert any(marked) and not all(marked)


def _between(text: str, start: str, end: str) -> list[str]:
    parts = text.split(start)[1:]
    return [p.split(end, 1)[0] for p in parts]


def test_the_dutch_console_marks_the_passive_guess_and_names_in_dutch(report: AuditReport) -> None:
    from rich.console import Console

    from camaudit.report.console import render_audit

    console = Console(record=True, width=240, color_system=None)
    render_audit(report, console, translator("nl", strict=True))
    text = console.export_text()
    assert "hikvision (passief)" in text and "DS-2CD2143G0-I (passief)" in text
    assert "passief dhcp (namen die het apparaat zelf koos, frame 3)" in text
    assert "(passive)" not in text and "names the device chose" not in text
