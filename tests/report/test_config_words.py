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


def test_passive_name_lines_are_dutch_in_the_console() -> None:
    from rich.console import Console

    from camaudit.report.console import render_audit
    from tests.audit.reports import audit_of

    console = Console(record=True, width=200, color_system=None)
    render_audit(audit_of(["passive-names"]), console, translator("nl", strict=True))
    text = console.export_text()
    assert "names the device chose" not in text
    said = "passief dhcp (namen die het apparaat zelf koos, frame 3): message=DISCOVER"
    assert said in text


# What the traffic stage writes when a capture is readable but not all of it is understood
PROBLEMS = {
    "problem_fragments": {"count": 2},
    "problem_dns_undecodable": {"count": 2},
    "problem_flows_summarised": {"count": 1234, "limit": 1000000},
    "problem_asymmetric": {"count": 2},
    "problem_hosts_bounded": {"count": 2, "limit": 100000, "frames": "7, 9", "more": ""},
    "problem_unknown_linktype": {"count": 2, "linktype": "IEEE802_15_4"},
    "problem_passive_undecodable": {"count": 2, "protocol": "MDNS"},
    "problem_passive_bounded": {"count": 2, "hosts": 4096, "names": 64},
    "problem_timestamp": {"count": 2, "frame": "7"},
    "problem_skipped_captures": {"count": 2, "path": "caps", "files": "a.txt, b.txt", "more": ""},
    "problem_skipped_zeek": {"count": 2, "path": "logs", "wanted": "conn, dns"},
    "problem_zeek_summarised": {"count": 2, "packets": 1234, "limit": 1000000},
    "problem_zeek_no_ts": {"count": 2},
}


@pytest.mark.parametrize("code", sorted(PROBLEMS))
def test_non_blocking_capture_problems_are_dutch(code: str) -> None:
    from camaudit.phrases import phrase, problem, problem_text

    found = problem("kind", phrase(code, **PROBLEMS[code]))  # type: ignore[arg-type]
    dutch = problem_text(found, translator("nl", strict=True))
    assert dutch != found.message
    assert "(s)" not in dutch.replace("pakket(ten)", "") and " were " not in dutch
    assert " 2 " in f" {dutch}" or "1.234" in dutch
