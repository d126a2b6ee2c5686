"""Write the golden renderings: `make golden` (or `python3 -m tests.report.golden`).

Each representative report (tests/report/reports.py) is written as JSON and as the
console shows it (fixed width, no colour, no wall clock). Review the diff before
committing: a changed golden file is a changed report.
"""

from __future__ import annotations

import io
import sys

from rich.console import Console

from camaudit.report.console import render, render_inventory
from camaudit.report.model import InventoryReport, VerifyReport, to_json
from tests.report.reports import CONSOLE_WIDTH, GOLDEN, golden_reports

REGENERATE = "make golden  (or: python3 -m tests.report.golden)"


def console_text(report: VerifyReport | InventoryReport) -> str:
    """The console rendering as a terminal of CONSOLE_WIDTH columns without colour shows it."""
    out = io.StringIO()
    # _environ={}: the caller's COLUMNS, NO_COLOR, TERM ... do not reach the golden file.
    console = Console(file=out, width=CONSOLE_WIDTH, color_system=None, _environ={})
    if isinstance(report, VerifyReport):
        render(report, console)
    else:
        render_inventory(report, console)
    return out.getvalue()


def renderings() -> dict[str, str]:
    """Golden file name -> its expected text."""
    files: dict[str, str] = {}
    for stem, report in golden_reports().items():
        files[f"{stem}.json"] = to_json(report)
        files[f"{stem}.console.txt"] = console_text(report)
    return files


def html_renderings() -> dict[str, str]:
    """Golden file name -> the HTML page, in English and Dutch, of a verify report with
    findings and of an inventory."""
    from camaudit.i18n import LANGUAGES, translator
    from camaudit.report import html
    from tests.report.reports import HTML_CASES, fake_camera_inventory, golden_verify

    reports: dict[str, VerifyReport | InventoryReport] = {
        f"verify-{name}": golden_verify(name) for name in HTML_CASES
    }
    reports["inventory-fake-hikvision"] = fake_camera_inventory()
    return {
        f"{stem}.{lang}.html": html.render(report, translator(lang, strict=True))
        for stem, report in reports.items()
        for lang in LANGUAGES
    }


def main() -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, text in {**renderings(), **html_renderings()}.items():
        (GOLDEN / name).write_text(text, encoding="utf-8")
        print(f"wrote tests/golden/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
