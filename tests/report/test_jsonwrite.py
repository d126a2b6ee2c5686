"""The JSON report is written in one pass, straight from the model, in pieces.

It must be the very bytes ``json.dumps`` makes of the plain tree (``to_json``), and with
every string sanitised the bytes the tree cleaned string by string would give: a report
read from a hostile file still comes out as clean UTF-8.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from camaudit.i18n import translator
from camaudit.report import jsonwrite
from camaudit.report.model import Report, to_dict, to_json
from camaudit.report.render import render, writer
from camaudit.sanitize import _CONTROL, clean_text
from tests.report.hostile import hostile_audit, hostile_inventory, hostile_verify
from tests.report.reports import golden_reports


def _cleaned_tree(value: Any) -> Any:
    """What render_json did before: the plain tree, every string (and key) cleaned."""
    if isinstance(value, str):
        return clean_text(value, 6 * len(value) + 1)
    if isinstance(value, dict):
        return {_cleaned_tree(k): _cleaned_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cleaned_tree(v) for v in value]
    return value


def _reports() -> dict[str, Report]:
    return {
        **golden_reports(),
        "hostile-verify": hostile_verify(),
        "hostile-inventory": hostile_inventory(),
        "hostile-audit": hostile_audit(),
    }


@pytest.mark.parametrize("name", sorted(_reports()))
def test_the_streamed_json_is_the_bytes_of_the_plain_tree(name: str) -> None:
    report = _reports()[name]
    assert jsonwrite.dumps(report) == to_json(report)


@pytest.mark.parametrize("name", sorted(_reports()))
def test_the_json_format_cleans_every_string_as_the_tree_cleaning_did(name: str) -> None:
    report = _reports()[name]
    expected = json.dumps(_cleaned_tree(to_dict(report)), indent=2, ensure_ascii=False) + "\n"
    t = translator("en", strict=True)
    assert render(report, "json", t) == expected
    written = io.StringIO()
    writer("json")(report, t, written)
    assert written.getvalue() == expected


class _Pieces(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_a_big_report_goes_to_the_file_in_pieces_not_as_one_string() -> None:
    report = hostile_audit()
    handle = _Pieces()
    writer("json")(report, translator("en", strict=True), handle)
    assert handle.writes > 1
    assert handle.getvalue() == render(report, "json", translator("en", strict=True))


def test_every_character_clean_text_escapes_is_one_isprintable_rejects() -> None:
    # clean_text skips its regex for printable text: that is only right if no character
    # the regex escapes counts as printable
    escaped = [chr(c) for c in range(0x110000) if _CONTROL.fullmatch(chr(c))]
    assert len(escaped) > 150
    assert not [c for c in escaped if c.isprintable()]
    assert clean_text("plain text é ü →") == "plain text é ü →"
    assert clean_text("a\u202eb") == "a\\u202eb"
