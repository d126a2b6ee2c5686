"""Markdown, CSV, SARIF and JSON renderings: what each promises its reader, checked by
reading the output the way that reader does (csv module, a Markdown parser, the SARIF
SARIF 2.1.0 JSON schema), and hostile text inert in every one; for verify, inventory and
audit reports alike."""

from __future__ import annotations

import csv
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from markdown_it import MarkdownIt

from camaudit.audit.devices import audit_text
from camaudit.errors import UsageError
from camaudit.i18n import translator
from camaudit.report.model import (
    AuditReport,
    InventoryReport,
    Report,
    VerifyReport,
    to_json,
)
from camaudit.report.render import FORMATS, render, renderer
from camaudit.report.sarif import SCHEMA_URI
from camaudit.report.table import council_rows
from tests.report.hostile import BIDI, HOSTILE, hostile_audit, hostile_inventory, hostile_verify
from tests.report.reports import reread

LANGS = ("en", "nl")
NOT_HTML = [f for f in FORMATS if f != "html"]  # tests/report/test_html* check HTML


Hostile = tuple[VerifyReport, InventoryReport, AuditReport]


@pytest.fixture(scope="module")
def hostile() -> Hostile:
    return hostile_verify(), hostile_inventory(), hostile_audit()


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# ---- registry -----------------------------------------------------------------------


def test_the_registry_names_the_six_formats() -> None:
    assert FORMATS == ("console", "json", "html", "markdown", "csv", "sarif")


def test_an_unknown_format_is_a_one_line_usage_error() -> None:
    with pytest.raises(UsageError, match="expected one of console, json, html") as caught:
        renderer("pdf")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("fmt", NOT_HTML)
@pytest.mark.parametrize("lang", LANGS)
def test_the_same_report_gives_the_same_bytes(crossing: VerifyReport, fmt: str, lang: str) -> None:
    t = translator(lang, strict=True)
    again = reread(crossing)
    assert render(crossing, fmt, t) == render(again, fmt, t)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("lang", LANGS)
def test_an_audit_read_back_from_its_json_renders_to_the_same_bytes(
    audit: AuditReport, fmt: str, lang: str
) -> None:
    t = translator(lang, strict=True)
    first = render(reread(audit), fmt, t)
    assert first == render(reread(audit), fmt, t) == render(audit, fmt, t)


def test_json_is_language_neutral_and_is_the_saved_report(crossing: VerifyReport) -> None:
    english = render(crossing, "json", translator("en", strict=True))
    dutch = render(crossing, "json", translator("nl", strict=True))
    assert english == dutch == to_json(crossing)


# ---- CSV ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "header", "yes", "no"),
    [
        ("en", ["Location", "Description", "Make", "Model", "Firmware"], "yes", "no"),
        ("nl", ["Locatie", "Omschrijving", "Merk", "Model", "Firmware"], "ja", "nee"),
    ],
)
def test_csv_is_the_councils_table_one_row_per_device(
    crossing: VerifyReport, lang: str, header: list[str], yes: str, no: str
) -> None:
    rows = _csv_rows(render(crossing, "csv", translator(lang, strict=True)))
    assert rows[0][:5] == header
    assert len(rows[0]) == 11
    body = rows[1:]
    assert [r[6] for r in body] == [d.ip for d in crossing.devices]
    by_ip = {r[6]: r for r in body}
    # the camera that phoned home crossed; the gateway and the NVR did not
    assert by_ip["10.66.0.21"][5] == no and by_ip["10.66.0.21"][9] == "not_isolated"
    assert by_ip["10.66.0.21"][10].startswith("pcaps/tls-established/tls-established.pcap#")
    assert by_ip["10.66.0.10"][5] == yes and by_ip["10.66.0.10"][9] == "isolated"
    assert all(len(r) == 11 for r in body)


def test_csv_of_attempts_says_closed_but_tried(attempts: VerifyReport) -> None:
    rows = _csv_rows(render(attempts, "csv", translator("en", strict=True)))
    tried = [r for r in rows[1:] if r[9] == "isolated_with_attempts"]
    assert tried and all(r[5] == "yes" for r in tried)


@pytest.mark.parametrize(("lang", "cell"), [("en", "not tested"), ("nl", "niet getoetst")])
def test_csv_of_an_inventory_says_not_tested(
    inventory: InventoryReport, lang: str, cell: str
) -> None:
    rows = _csv_rows(render(inventory, "csv", translator(lang, strict=True)))
    (device,) = rows[1:]
    assert device[2:5] == ["hikvision", "DS-2CD2143G0-I", "V5.6.3 build 200612"]
    assert device[5] == cell and device[9] == "not_tested"
    assert device[8] == "CVE-2021-36260"


@pytest.mark.parametrize(
    ("lang", "yes", "no", "unknown"),
    [("en", "yes", "no", "unknown"), ("nl", "ja", "nee", "onbekend")],
)
def test_csv_of_an_audit_is_one_row_per_device_with_its_own_verdict(
    audit: AuditReport, lang: str, yes: str, no: str, unknown: str
) -> None:
    rows = _csv_rows(render(audit, "csv", translator(lang, strict=True)))
    assert len(rows[0]) == 11 and all(len(r) == 11 for r in rows)
    by_ip = {r[6]: r for r in rows[1:]}
    assert list(by_ip) == [d.ip for d in audit.audit.devices]
    camera = by_ip["10.66.0.21"]
    assert camera[2:5] == ["hikvision", "DS-2CD2143G0-I", "V5.6.3 build 200612"]
    assert (camera[5], camera[8], camera[9]) == (no, "CVE-2021-36260", "not_isolated")
    assert "pcaps/tls-established/tls-established.pcap#18,32" in camera[10].split()
    assert (by_ip["10.66.0.10"][5], by_ip["10.66.0.10"][9]) == (yes, "isolated")
    # discovered but silent in the captures: no verdict, never "yes"
    assert (by_ip["10.66.0.99"][5], by_ip["10.66.0.99"][9]) == (unknown, "inconclusive")
    assert by_ip["10.66.0.99"][10] == "#/audit/devices/2"
    assert by_ip["10.66.0.1"][9] == "isolated"  # the gateway, seen only in the traffic


def test_a_csv_cell_that_would_be_a_formula_is_text(hostile: Hostile) -> None:
    _, inventory, audit = hostile
    for report in (inventory, audit):
        rows = _csv_rows(render(report, "csv", translator("en", strict=True)))
        assert len(rows) == 1 + len(HOSTILE), "one row per device, whatever the names hold"
        cells = [cell for row in rows[1:] for cell in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
        assert '\'=HYPERLINK("http://evil.example","x")' in cells
        assert "'+cmd|' /C calc'!A0" in cells and "'-2+3" in cells and "'@SUM(A1:A9)" in cells


# ---- Markdown -----------------------------------------------------------------------


def _html(markdown: str) -> str:
    parser = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "linkify"])
    return parser.render(markdown)


def _markdown_with(report: Report, lang: str, words: list[str]) -> tuple[str, str]:
    """The Markdown rendering, checked to hold each of ``words``, and its HTML."""
    text = render(report, "markdown", translator(lang, strict=True))
    for word in words:
        assert word in text
    return text, _html(text)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["Verdict: not isolated", "## Devices", "## Outbound connections", "## Findings"]),
        ("nl", ["Oordeel: niet geïsoleerd", "## Apparaten", "## Uitgaande verbindingen"]),
    ],
)
def test_markdown_has_verdict_inventory_flows_and_findings(
    crossing: VerifyReport, lang: str, words: list[str]
) -> None:
    _, html = _markdown_with(crossing, lang, words)
    assert html.count("<table>") == 2  # the inventory and the outbound flows
    assert html.count("<h3>") == len(crossing.findings)
    filters = [e.display_filter for f in crossing.findings for e in f.evidence]
    codes = re.findall(r"<code>(.*?)</code>", html)
    assert len(codes) == len(filters)  # every filter in a code span, copyable as it is
    assert "&lt;" not in "".join(codes) or "<" in "".join(filters)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", ["## Verdict per device", "### 10.66.0.21 (02:66:00:00:00:21): not isolated"]),
        ("nl", ["## Oordeel per apparaat", "### 10.66.0.99 (02:66:00:00:00:99): niet vast te"]),
    ],
)
def test_markdown_of_an_audit_gives_each_device_its_verdict_and_evidence(
    audit: AuditReport, lang: str, words: list[str]
) -> None:
    text, html = _markdown_with(audit, lang, words)
    devices = re.search(r"<table>.*?</table>", html, re.S)
    assert devices is not None
    rows = re.findall(r"<tr>(.*?)</tr>", devices.group(0), re.S)[1:]
    assert len(rows) == len(audit.audit.devices)
    assert html.count("<h3>") == len(audit.audit.devices) + len(audit.findings)
    camera = audit.audit.devices[0]
    codes = re.findall(r"<code>(.*?)</code>", html)
    for e in camera.verdict.evidence:  # the device's own evidence, each filter copyable
        assert e.display_filter.replace("&", "&amp;").replace('"', "&quot;") in codes
    t = translator(lang, strict=True)
    for reason in audit.audit.not_checked[:1]:  # in the reader's language
        assert audit_text(reason, t).split(" (")[0] in text


def test_hostile_markdown_makes_no_link_image_heading_or_html(hostile: Hostile) -> None:
    for report in hostile:
        for lang in LANGS:
            text = render(report, "markdown", translator(lang, strict=True))
            html = _html(text)
            assert "<a " not in html and "<img" not in html
            assert "<script" not in html and "<b>" not in html
            headings = re.findall(r"<h(\d)>(.*?)</h\1>", html)
            # an audit's device headings name the device: its "# Heading" shows as text
            # there, while an injected heading would start with the injected words
            assert not [h for h in headings if h[1].startswith(("Heading", "injected"))]
            # the hostile table cells stay cells: every row has as many as the header
            for table in re.findall(r"<table>.*?</table>", html, re.S):
                widths = {len(re.findall(r"<t[hd]>", row)) for row in table.split("<tr>")[1:]}
                assert len(widths) == 1, widths


# ---- SARIF --------------------------------------------------------------------------
# Every SARIF log is validated against the OASIS SARIF 2.1.0 JSON schema (errata01,
# tests/report/sarif-schema-2.1.0.json, see its .source.md); check_sarif adds what the
# schema cannot say (indices that point at the right rule and artifact, no nulls).

SARIF_SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")


@cache
def _sarif_validator() -> jsonschema.Draft4Validator:
    loaded = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(loaded)
    return jsonschema.Draft4Validator(loaded, format_checker=jsonschema.FormatChecker())


def validate_sarif(log: Any) -> None:
    """Raise :class:`jsonschema.ValidationError` where ``log`` breaks the SARIF schema."""
    _sarif_validator().validate(log)


_LEVELS = {"none", "note", "warning", "error"}


def _check_message(message: Any) -> None:
    assert isinstance(message, dict) and isinstance(message.get("text"), str)


def check_sarif(log: Any) -> None:
    """Raise where ``log`` breaks the SARIF 2.1.0 schema or a requirement camaudit uses."""
    validate_sarif(log)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert isinstance(driver["name"], str) and driver["name"]
    rules = driver.get("rules", [])
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "rule ids are unique"
    for rule in rules:
        for key in ("shortDescription", "fullDescription", "help"):
            _check_message(rule[key])
        assert rule["defaultConfiguration"]["level"] in _LEVELS
    for invocation in run["invocations"]:
        assert isinstance(invocation["executionSuccessful"], bool)
        assert isinstance(invocation["exitCode"], int)
    artifacts = run.get("artifacts", [])
    for artifact in artifacts:
        assert isinstance(artifact["location"]["uri"], str)
    for result in run["results"]:
        _check_message(result["message"])
        assert result["level"] in _LEVELS
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        for location in result["locations"]:
            physical = location.get("physicalLocation")
            if physical is not None:
                where = physical["artifactLocation"]
                assert isinstance(where["uri"], str)
                if "index" in where:
                    assert artifacts[where["index"]]["location"]["uri"] == where["uri"]
            for logical in location.get("logicalLocations", []):
                assert isinstance(logical["name"], str)
    assert "null" not in json.dumps(log), "SARIF leaves unknown properties out"


def test_the_sarif_check_catches_a_broken_log(crossing: VerifyReport) -> None:
    log = json.loads(render(crossing, "sarif", translator("en", strict=True)))
    log["runs"][0]["results"][0]["ruleIndex"] = 1  # valid SARIF, but the wrong rule
    with pytest.raises(AssertionError):
        check_sarif(log)


@pytest.mark.parametrize(
    "broken",
    [
        {"level": "fatal"},  # not one of SARIF's four levels
        {"kind": "broken"},  # not a result kind
        {"message": {"markdown": "no text"}},  # a message needs text (or an id)
        {"locations": [{"physicalLocation": {"artifactLocation": {"index": -2}}}]},
    ],
    ids=["level", "kind", "message", "artifact-index"],
)
def test_the_sarif_schema_catches_what_the_spec_forbids(
    crossing: VerifyReport, broken: dict[str, Any]
) -> None:
    log = json.loads(render(crossing, "sarif", translator("en", strict=True)))
    log["runs"][0]["results"][0].update(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate_sarif(log)


def test_the_sarif_schema_is_the_oasis_one() -> None:
    loaded = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert loaded["id"] == SCHEMA_URI  # the schema every log camaudit writes names
    assert loaded["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"


@pytest.mark.parametrize("kind", ["verify", "inventory", "audit", "hostile"])
@pytest.mark.parametrize("lang", LANGS)
def test_every_sarif_log_is_valid_against_the_sarif_schema(
    crossing: VerifyReport,
    inventory: InventoryReport,
    audit: AuditReport,
    hostile: Hostile,
    kind: str,
    lang: str,
) -> None:
    reports: dict[str, tuple[Report, ...]] = {
        "verify": (crossing,),
        "inventory": (inventory,),
        "audit": (audit,),
        "hostile": hostile,
    }
    for report in reports[kind]:
        log = json.loads(render(report, "sarif", translator(lang, strict=True)))
        check_sarif(log)


@pytest.mark.parametrize("lang", LANGS)
def test_sarif_of_an_audit_has_a_verdict_result_per_device_at_its_frames(
    audit: AuditReport, lang: str
) -> None:
    log = json.loads(render(audit, "sarif", translator(lang, strict=True)))
    (run,) = log["runs"]
    verdicts = [
        r
        for r in run["results"]
        if r["ruleId"].startswith("DEVICE-") and "verdict" in r.get("properties", {})
    ]
    assert [r["properties"]["ip"] for r in verdicts] == [d.ip for d in audit.audit.devices]
    by_ip = {r["properties"]["ip"]: r for r in verdicts}
    camera = by_ip["10.66.0.21"]
    assert (camera["ruleId"], camera["level"], camera["kind"]) == (
        "DEVICE-NOT-ISOLATED",
        "error",
        "fail",
    )
    device, *frames = camera["locations"]
    assert device["logicalLocations"][0] == {
        "name": "10.66.0.21",
        "fullyQualifiedName": "10.66.0.21",
        "kind": "device",
    }
    evidence = audit.audit.devices[0].verdict.evidence
    assert [f["properties"]["frames"] for f in frames] == [list(e.frames) for e in evidence]
    uris = [a["location"]["uri"] for a in run["artifacts"]]
    for f in frames:
        where = f["physicalLocation"]["artifactLocation"]
        assert uris[where["index"]] == where["uri"]
    assert (by_ip["10.66.0.10"]["level"], by_ip["10.66.0.10"]["kind"]) == ("none", "pass")
    assert by_ip["10.66.0.99"]["ruleId"] == "DEVICE-INCONCLUSIVE"
    assert by_ip["10.66.0.99"]["level"] == "warning"
    assert any(r["ruleId"] == "CVE-2021-36260" for r in run["results"])
    assert run["properties"]["kind"] == "audit" and run["properties"]["verdict"] == "not_isolated"


@pytest.mark.parametrize("lang", LANGS)
def test_sarif_of_a_crossing_has_rules_levels_and_frame_locations(
    crossing: VerifyReport, lang: str
) -> None:
    log = json.loads(render(crossing, "sarif", translator(lang, strict=True)))
    check_sarif(log)
    (run,) = log["runs"]
    assert run["invocations"][0]["exitCode"] == crossing.exit_code == 1
    assert run["properties"]["verdict"] == "not_isolated"
    assert [r["ruleId"] for r in run["results"]] == [f.rule for f in crossing.findings]
    assert {r["level"] for r in run["results"]} == {"error"}  # both findings are high
    first = run["results"][0]["locations"][0]
    assert first["physicalLocation"]["artifactLocation"]["uri"] == (
        "pcaps/tls-established/tls-established.pcap"
    )
    assert first["properties"]["frames"] == [18, 32]
    assert first["properties"]["displayFilter"] == crossing.findings[0].evidence[0].display_filter
    assert run["artifacts"][0]["hashes"]["sha-256"] == crossing.inputs[0].sha256


@pytest.mark.parametrize(
    ("severity", "level"),
    [("high", "error"), ("medium", "warning"), ("low", "note"), ("info", "note")],
)
def test_sarif_level_follows_severity(severity: str, level: str) -> None:
    from camaudit.report.sarif import level as sarif_level

    assert sarif_level(severity) == level


def test_sarif_of_an_inventory_locates_cves_at_the_device(inventory: InventoryReport) -> None:
    log = json.loads(render(inventory, "sarif", translator("nl", strict=True)))
    check_sarif(log)
    results = log["runs"][0]["results"]
    cve = next(r for r in results if r["ruleId"] == "CVE-2021-36260")
    assert cve["level"] == "error"  # CVSS 9.8 and in CISA KEV
    assert cve["locations"][0]["logicalLocations"][0]["name"] == "127.0.0.1"


# ---- hostile text, every format ------------------------------------------------------

_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + BIDI + "\u200b-\u200f\u2028\u2029\ud800-\udfff]"
)


@pytest.mark.parametrize("fmt", NOT_HTML)
@pytest.mark.parametrize("lang", LANGS)
def test_hostile_text_is_inert_in_every_format(hostile: Hostile, fmt: str, lang: str) -> None:
    for report in hostile:
        text = render(report, fmt, translator(lang, strict=True))
        found = _FORBIDDEN.search(text)
        assert found is None, f"{fmt}: {found.group(0)!r} passed" if found else ""
        assert "\x1b" not in text
        assert "\r" not in text.replace("\r\n", "")  # only CSV's own line ends
        text.encode("utf-8")  # valid UTF-8: no lone surrogate
        if fmt in ("json", "sarif"):
            json.loads(text)
        if fmt != "csv":  # CSV: a row per device, checked above
            assert "\nline2" not in text and "\n## injected" not in text
        if fmt != "json":  # JSON is the record: it keeps the name whole (escaped)
            assert "A" * 65536 not in text, "a 64 k name is cut for a reader"


def test_every_device_of_a_hostile_report_keeps_its_own_row(hostile: Hostile) -> None:
    for report in hostile:
        rows = council_rows(report)
        text = render(report, "csv", translator("nl", strict=True))
        assert len(_csv_rows(text)) == 1 + len(rows)


def _report_kinds() -> list[type[Report]]:
    return [VerifyReport, InventoryReport, AuditReport]


def test_renderers_cover_every_report_kind(
    crossing: VerifyReport, inventory: InventoryReport, audit: AuditReport
) -> None:
    kinds = {type(crossing), type(inventory), type(audit)}
    assert kinds == set(_report_kinds())
    for fmt in FORMATS:
        for report in (crossing, inventory, audit):
            assert render(report, fmt, translator("en", strict=True))


def test_the_dutch_console_audit_names_its_device_table_and_notes_in_dutch(
    audit: AuditReport,
) -> None:
    text = render(audit, "console", translator("nl", strict=True))
    for word in ("Apparaten", "gezien via", "fabrikant", "oordeel", "│ ontdekking ", "│ verkeer "):
        assert word in text
    assert "10.66.0.10: niet gecontroleerd: " in text
    assert "10.66.0.21: cloud van de fabrikant: EZVIZ / Hik-Connect cloud" in text
    # the labels are Dutch; the reasons themselves are the report's text (codes later)
    for english in ("seen by", "vendor cloud", ": not checked: ", "\nnot checked: ", "Devices"):
        assert english not in text
