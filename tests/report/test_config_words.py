"""A Dutch reader sees the device settings' findings in Dutch (issue 11): the report keeps
the English sentence the fingerprint stage wrote, every renderer translates it."""

from __future__ import annotations

import html as html_escape

import pytest

from camaudit.i18n import translator
from camaudit.report import html
from camaudit.report.model import Report
from camaudit.report.render import render
from tests.report.reports import fake_camera_inventory, golden_audit

ENGLISH = (
    "NTP server 192.0.2.123 is outside the closed network (onvif:80)",
    "DNS server 192.0.2.53 is outside the closed network (onvif:80)",
    "a default gateway (10.66.0.1) is set on a closed network (onvif:80)",
)
DUTCH = (
    "NTP-server 192.0.2.123 ligt buiten het gesloten netwerk (onvif:80)",
    "DNS-server 192.0.2.53 ligt buiten het gesloten netwerk (onvif:80)",
    "er is een standaardgateway (10.66.0.1) ingesteld op een gesloten netwerk (onvif:80)",
)
UPNP = ("UPnP is enabled (onvif:80)", "UPnP staat aan (onvif:80)")


def _dutch(report: Report, fmt: str) -> str:
    t = translator("nl", strict=True)
    if fmt == "html":
        return html_escape.unescape(html.render(report, t))
    # the console wraps long lines: join them to find a sentence
    text = render(report, fmt, t).replace("│", " ").replace("\\", "")
    return " ".join(text.split())


@pytest.mark.parametrize("fmt", ["console", "markdown", "html", "sarif"])
@pytest.mark.parametrize("which", ["inventory", "audit"])
def test_device_setting_findings_are_dutch_in_every_renderer(which: str, fmt: str) -> None:
    report: Report = fake_camera_inventory() if which == "inventory" else golden_audit()
    english, dutch = ENGLISH, DUTCH
    if which == "audit":
        english, dutch = (*ENGLISH, UPNP[0]), (*DUTCH, UPNP[1])
    text = _dutch(report, fmt)
    for sentence in english:
        assert sentence not in text
    for sentence in dutch:
        assert sentence in text


def test_the_report_json_keeps_the_english_sentences() -> None:
    text = render(golden_audit(), "json", translator("nl", strict=True))
    for sentence in (*ENGLISH, UPNP[0]):
        assert sentence in text
