"""Verdict reasons and finding texts in the reader's language (camaudit/phrases.py).

The verdict stage writes each reason and finding as a code with params; every renderer
writes them through one function. A Dutch report of any stored capture shows no English
sentence of that vocabulary, the English report reads exactly as the stored English text,
and a report saved before reasons had codes still loads and shows its English.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path
from string import Formatter

import pytest

from camaudit.i18n import Translator, translator
from camaudit.messages import REASON_PLURALS, REASONS
from camaudit.model import Phrase
from camaudit.phrases import finding_text, phrase, phrase_text, reason_text
from camaudit.report.model import VerifyReport, from_dict, from_json, to_dict, to_json
from camaudit.report.render import render
from tests.replay.cases import cases
from tests.report.reports import GOLDEN, case_report

CAPTURES = [(c, capture) for c in cases() for capture in c.captures]
IDS = [f"{c.name}/{capture.name}" for c, capture in CAPTURES]


@cache
def _report(index: int) -> VerifyReport:
    c, capture = CAPTURES[index]
    return case_report(c, capture)


def _templates() -> list[tuple[str, list[str]]]:
    """Each English template of the vocabulary, with its Dutch forms."""
    nl = translator("nl", strict=True)

    def same(text: str, skip: str = "") -> dict[str, str]:  # each field filled with itself
        return {f: "{" + f + "}" for _, f, _, _ in Formatter().parse(text) if f and f != skip}

    found = [(t, [nl.gettext(t, **same(t))]) for t in REASONS.values()]
    for one, more in REASON_PLURALS.values():
        found.append((one, [nl.ngettext(one, more, n, **same(one, "count")) for n in (1, 2)]))
    return found


def _words(text: str) -> str:
    return " ".join(text.split())


def english_pieces(min_words: int) -> list[str]:
    """The fixed English parts of the reason/finding templates (the text between the
    ``{fields}``) that the Dutch translation does not share, of at least ``min_words``."""
    pieces = set()
    for english, dutch in _templates():
        for piece in re.split(r"\{\w+\}", english):
            piece = _words(piece.strip(" :;,.—()"))
            if len(piece.split()) >= min_words and not any(piece in _words(d) for d in dutch):
                pieces.add(piece)
    return sorted(pieces)


def _says(text: str, piece: str) -> bool:
    """Whether ``text`` holds ``piece`` as whole words."""
    return re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text) is not None


def _visible(text: str, fmt: str) -> str:
    """The words a reader sees: HTML without tags, Markdown without its escapes, the
    console without its box lines; whitespace as single spaces (the console wraps)."""
    if fmt == "html":
        text = re.sub(r"<style.*?</style>", " ", text, flags=re.S)
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    if fmt == "markdown":
        text = re.sub(r"\\(.)", r"\1", text)
    if fmt == "console":
        text = re.sub(r"[│╭╮╰╯─┃┏┓┗┛━┡┩┣┫┠┨┯┷┳┻╇╈╋┼├┤└┘┌┐]", " ", text)
    return _words(text)


def test_the_vocabulary_check_knows_the_english_it_looks_for() -> None:
    pieces = english_pieces(2)
    assert "traffic crossed the boundary" in pieces
    assert "nothing crossed, but devices tried" in pieces
    assert "no traffic from this device in the evidence" in pieces
    assert "with outside address(es" in pieces


@pytest.mark.parametrize("index", range(len(CAPTURES)), ids=IDS)
def test_a_dutch_report_of_every_stored_capture_has_no_english_reason_or_finding(
    index: int,
) -> None:
    report = _report(index)
    nl = translator("nl", strict=True)
    texts = [reason_text(r, nl) for r in report.reasons]
    texts += [finding_text(f, nl) for f in report.findings]
    # Every piece, single words too (a flow's state), in the reasons and findings ...
    for text in texts:
        for piece in english_pieces(1):
            assert not _says(_words(text), piece), (piece, text)
    # ... and no English sentence of them anywhere in the pages a reader sees.
    for fmt in ("console", "markdown", "html"):
        shown = _visible(render(report, fmt, nl), fmt)
        for piece in english_pieces(2):
            assert not _says(shown, piece), (fmt, piece)


@pytest.mark.parametrize("index", range(len(CAPTURES)), ids=IDS)
def test_the_english_of_every_reason_and_finding_is_the_text_the_report_stores(
    index: int,
) -> None:
    report = _report(index)
    read = from_json(to_json(report))
    assert isinstance(read, VerifyReport) and read == report
    en = translator("en", strict=True)
    assert [reason_text(r, en) for r in read.reasons] == [r.text for r in read.reasons]
    assert [finding_text(f, en) for f in read.findings] == [f.summary for f in read.findings]
    assert all(r.code for r in read.reasons) and all(f.code for f in read.findings)


def _uncoded(data: object) -> object:
    """The report as camaudit wrote it before reasons had codes."""
    assert isinstance(data, dict)
    data["reasons"] = [r["text"] for r in data["reasons"]]
    for finding in data["findings"]:
        del finding["code"], finding["params"]
    return data


def test_a_report_saved_before_reasons_had_codes_loads_and_shows_its_english() -> None:
    old = _uncoded(json.loads((GOLDEN / "verify-tls-established.json").read_text("utf-8")))
    report = from_dict(old)
    assert isinstance(report, VerifyReport)
    assert report.reasons[0] == Phrase(old["reasons"][0])  # type: ignore[index]
    nl = translator("nl", strict=True)
    page = render(report, "markdown", nl)
    assert "## Redenen" in page
    assert "traffic crossed the boundary: 10.66.0.21 → 203.0.113.5:443/tcp" in page
    assert finding_text(report.findings[0], nl) == report.findings[0].summary


def test_the_json_report_keeps_the_english_text_code_and_params_of_each_reason() -> None:
    data = to_dict(_report([c.name for c, _ in CAPTURES].index("dns-nxdomain")))
    reason = data["reasons"][0]
    assert reason["code"] == "tried"
    assert reason["text"].startswith("nothing crossed, but devices tried: 10.66.0.21 looked up")
    detail = reason["params"]["detail"]
    assert detail["code"] == "dns_lookup"
    assert detail["params"]["name"] == "litedev.ezvizlife.com"
    assert data["findings"][0]["code"] == "dns_lookup"


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("nl", "10.66.0.21 → 203.0.113.5:8666/tcp: geprobeerd, geen antwoord (×1.234)"),
        ("en", "10.66.0.21 → 203.0.113.5:8666/tcp: attempted (×1,234)"),
    ],
)
def test_a_count_in_a_reason_is_a_number_of_the_readers_language(lang: str, text: str) -> None:
    where = "10.66.0.21 → 203.0.113.5:8666/tcp"
    flow = phrase("flow", flow=where, state=phrase("state_attempted"), label="")
    repeated = phrase("repeated", detail=flow, count=1234)
    assert phrase_text(repeated, translator(lang, strict=True)) == text


@pytest.mark.parametrize(("count", "word"), [(1, "verbinding"), (2, "verbindingen")])
def test_a_dutch_reason_with_a_count_takes_the_singular_or_the_plural(
    count: int, word: str
) -> None:
    nl: Translator = translator("nl", strict=True)
    assert phrase_text(phrase("allowed", count=count), nl).endswith(f"({count} {word})")
    assert phrase("allowed", count=count).text.endswith(f"({count} flow(s))")


def test_a_built_in_label_is_translated_and_a_profiles_label_is_kept() -> None:
    nl = translator("nl", strict=True)
    ntp = phrase("with_label", label=phrase("label_ntp"))
    assert phrase_text(ntp, nl) == " — tijdsynchronisatie (NTP) met een externe server"
    cloud = phrase("with_label", label="Dahua Easy4IP P2P")
    assert phrase_text(cloud, nl) == " — Dahua Easy4IP P2P"


def test_a_phrase_of_a_code_this_camaudit_does_not_know_shows_its_stored_text() -> None:
    later = Phrase("a reason a later camaudit wrote", "from_the_future", (("count", 3),))
    assert phrase_text(later, translator("nl", strict=True)) == later.text


def test_an_unknown_phrase_code_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="no such phrase"):
        phrase("not_a_code")


def test_the_golden_reports_are_stored_with_codes() -> None:
    data = json.loads(Path(GOLDEN / "verify-quiet-camera.json").read_text("utf-8"))
    assert data["reasons"] == [
        {
            "text": "no packet was addressed outside and no outside name was looked up",
            "code": "nothing_out",
            "params": {},
        }
    ]


@pytest.mark.parametrize("case", ["syn-dropped", "tls-established", "truncated"])
def test_each_devices_verdict_reasons_in_a_dutch_audit_are_dutch(case: str) -> None:
    from tests.audit.reports import CAM1_IP, CAM1_MAC, audit_of, device, identity

    report = audit_of([case], device(CAM1_IP, CAM1_MAC, identity()))
    nl = translator("nl", strict=True)
    reasons = [reason_text(r, nl) for d in report.audit.devices for r in d.verdict.reasons]
    assert reasons
    for text in reasons:
        for piece in english_pieces(1):
            assert not _says(_words(text), piece), (piece, text)
    for fmt in ("console", "markdown", "html"):
        shown = _visible(render(report, fmt, nl), fmt)
        assert _words(reasons[0]).split(":")[0] in shown, fmt
        for piece in english_pieces(2):
            assert not _says(shown, piece), (fmt, piece)
