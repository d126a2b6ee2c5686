"""Write the golden renderings: `make golden` (or `python3 -m tests.report.golden`).

Each representative report (tests/report/reports.py: verify reports of lab captures, the
fake camera's inventory, and an audit of two lab captures with a fixed inventory) is
written in every format of the renderer registry and in both languages: JSON once (it is
language-neutral), the console (fixed width, no colour), Markdown, CSV and SARIF in
English and Dutch, and HTML for one verify report, the inventory and the audit
(tests/report/test_html* also open it in a browser); each rendered by a strict translator
(a string missing from the catalogue fails). Review the diff before committing: a changed
golden file is a changed report.
"""

from __future__ import annotations

import re
import sys

from camaudit.i18n import translator
from camaudit.report.model import Report, to_json
from camaudit.report.render import render
from tests.report.reports import GOLDEN, golden_reports

REGENERATE = "make golden  (or: python3 -m tests.report.golden)"

# format -> file suffix; the English console keeps its first name (<stem>.console.txt)
TEXT_FORMATS = {"console": "console.txt", "markdown": "md", "csv": "csv", "sarif": "sarif"}
LANGS = ("en", "nl")


def console_text(report: Report, lang: str = "en") -> str:
    """The console rendering as a terminal of 120 columns without colour shows it."""
    return render(report, "console", translator(lang, strict=True))


def golden_name(stem: str, fmt: str, lang: str) -> str:
    """The golden file of one report in one format and language."""
    if fmt == "json":
        return f"{stem}.json"
    if (fmt, lang) == ("console", "en"):
        return f"{stem}.console.txt"
    return f"{stem}.{lang}.{TEXT_FORMATS[fmt]}"


def renderings() -> dict[str, str]:
    """Golden file name -> its expected text."""
    files: dict[str, str] = {}
    for stem, report in golden_reports().items():
        files[golden_name(stem, "json", "en")] = to_json(report)
        for fmt in TEXT_FORMATS:
            for lang in LANGS:
                t = translator(lang, strict=True)
                files[golden_name(stem, fmt, lang)] = render(report, fmt, t)
    return files


def html_renderings() -> dict[str, str]:
    """``<stem>.<lang>.html`` -> the HTML page, in English and Dutch, of a verify report with
    findings, of an inventory and of an audit."""
    from camaudit.i18n import LANGUAGES, translator
    from camaudit.report import html
    from tests.report.reports import (
        AUDIT_STEM,
        HTML_CASES,
        fake_camera_inventory,
        golden_audit,
        golden_verify,
    )

    reports: dict[str, Report] = {f"verify-{name}": golden_verify(name) for name in HTML_CASES}
    reports["inventory-fake-hikvision"] = fake_camera_inventory()
    reports[AUDIT_STEM] = golden_audit()
    return {
        f"{stem}.{lang}.html": html.render(report, translator(lang, strict=True))
        for stem, report in reports.items()
        for lang in LANGUAGES
    }


# Every page shares one head (the stylesheet and the CSP), stored once; a page's golden
# file holds its body. A Dutch page is the English page's markup with Dutch words: its golden
# file holds those words only, and the markup is checked against the English body.
HTML_HEAD = "report-head.html"
_LANG = re.compile(r'<html lang="[^"]*">')
_TITLE = re.compile(r"<title>[^<]*</title>")
_TAG = re.compile(r"(<[^>]*>)")
_WORDS_IN_TAG = re.compile(r'( aria-label=")([^"]*)(")')
WORD = "\u2026"  # stands for one text of the page in its markup


def page_parts(page: str) -> tuple[str, str]:
    """A page's head (up to ``<body>``) and its body (from ``<body>``)."""
    head, mark, body = page.partition("<body>")
    return head, mark + body


def same_language_as(head: str, other: str) -> str:
    """``head`` with the language and title of ``other`` (the rest must be the same)."""
    head = _LANG.sub(lambda _: _match(_LANG, other), head)
    return _TITLE.sub(lambda _: _match(_TITLE, other), head)


def _match(pattern: re.Pattern[str], text: str) -> str:
    found = pattern.search(text)
    return found.group(0) if found else ""


def markup_and_words(body: str) -> tuple[str, list[str]]:
    """A body's markup with every text (and every translated attribute) replaced by one
    mark, and those texts in order."""
    words: list[str] = []
    markup: list[str] = []
    for part in _TAG.split(body):
        if part.startswith("<"):
            for found in _WORDS_IN_TAG.finditer(part):
                words.append(found.group(2))
            markup.append(_WORDS_IN_TAG.sub(rf"\g<1>{WORD}\g<3>", part))
        elif part.strip():
            words.append(part)
            markup.append(WORD)
        else:
            markup.append(part)
    return "".join(markup), words


def html_goldens(pages: dict[str, str]) -> dict[str, str]:
    """Golden file name -> text: the shared head, each English body, each Dutch page's words."""
    files: dict[str, str] = {}
    for name, page in sorted(pages.items()):
        head, body = page_parts(page)
        if name.endswith(".en.html"):
            files.setdefault(HTML_HEAD, head)
            files[name] = body
        else:
            words = markup_and_words(body)[1]
            files[name.removesuffix(".html") + ".words"] = "\n".join(words) + "\n"
    return files


def main() -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, text in {**renderings(), **html_goldens(html_renderings())}.items():
        # newline="": CSV's CRLF line ends are part of the format, written as made
        (GOLDEN / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote tests/golden/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
