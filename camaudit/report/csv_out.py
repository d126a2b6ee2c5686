"""CSV: the council's inventory table, one row per device (``--format csv``).

Columns in the councils' order (location, description, make, model, firmware, closed
network yes/no), then what camaudit adds: IP, MAC, CVEs, the verdict code and the
evidence reference (see :mod:`camaudit.report.table`). The header row is in the report's
language, the verdict code is not (a spreadsheet filters on it). RFC 4180: commas,
CRLF line ends, quotes where needed, UTF-8.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or CR
before one) as a formula: such a cell gets a leading ``'``, which spreadsheets show as
text. Every cell is cleaned of control and bidi characters first.
"""

from __future__ import annotations

import csv
import io

from camaudit.i18n import N_, Translator
from camaudit.report.model import Report
from camaudit.report.sections import headings
from camaudit.report.table import (
    NOT_TESTED,
    CouncilRow,
    council_header,
    council_rows,
    passive_cells,
)
from camaudit.sanitize import clean_text

__all__ = ["neutralise", "render"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CELL_LIMIT = 2000


def neutralise(value: str) -> str:
    """``value`` cleaned, and made text for a spreadsheet when it would start a formula."""
    text = clean_text(value, CELL_LIMIT)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _header(t: Translator) -> list[str]:
    return [
        *council_header(t, N_("Closed network (yes/no)")),
        t.gettext("Verdict code"),
        *headings(t, "evidence"),
    ]


def closed_network_cell(verdict: str, t: Translator) -> str:
    """The council's yes/no: nothing left (``isolated`` / ``..._with_attempts``) is yes."""
    if verdict in ("isolated", "isolated_with_attempts"):
        return t.gettext("yes")
    if verdict == "not_isolated":
        return t.gettext("no")
    if verdict == NOT_TESTED:
        return t.gettext("not tested")
    return t.gettext("unknown")


def _row(row: CouncilRow, t: Translator) -> list[str]:
    make, model = passive_cells(row.make, row.model, t) if row.passive else (row.make, row.model)
    cells = [
        row.location,
        row.description,
        make,
        model,
        row.firmware,
        closed_network_cell(row.verdict, t),
        row.ip,
        row.mac,
        " ".join(row.cves),
        row.verdict,
        " ".join(row.evidence),
    ]
    return [neutralise(c) for c in cells]


def render(report: Report, t: Translator) -> str:
    """The inventory table of ``report`` as CSV text, header row first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_header(t))
    for row in council_rows(report):
        writer.writerow(_row(row, t))
    return out.getvalue()
