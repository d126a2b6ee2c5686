"""Dutch and English from one gettext catalogue: complete, current, and checked at use."""

from __future__ import annotations

import io
import string
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from typer.testing import CliRunner

from camaudit import messages
from camaudit.cli import app
from camaudit.errors import UsageError
from camaudit.i18n import (
    EXTRACT_KEYWORDS,
    LOCALE_DIR,
    UntranslatedError,
    default_language,
    translator,
)
from tests.conftest import PCAPS, ROOT

PO = LOCALE_DIR / "nl" / "LC_MESSAGES" / "camaudit.po"
MO = PO.with_suffix(".mo")
POT = LOCALE_DIR / "camaudit.pot"


def _catalog(path: Path = PO) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _entries() -> list[Message]:
    return [m for m in _catalog() if m.id]


def _ids(path: Path) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(path) if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# -- the catalogue --------------------------------------------------------------------------


def test_every_message_has_a_dutch_translation_that_is_not_fuzzy() -> None:
    untranslated = [
        m.id
        for m in _entries()
        if m.fuzzy
        or not (all(m.string) if isinstance(m.string, tuple) else m.string)
        or (isinstance(m.string, tuple) and len(m.string) != 2)
    ]
    assert not untranslated
    assert not _catalog().fuzzy
    assert len(_entries()) > 90


def test_placeholders_in_each_translation_match_its_msgid() -> None:
    wrong = []
    for m in _entries():
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = set().union(*(_fields(i) for i in ids))
        for text in strings:
            if _fields(text) != expected:
                wrong.append((m.id, text))
    assert not wrong


def test_the_compiled_mo_is_the_po_compiled(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    write_mo(buffer, _catalog())
    assert MO.read_bytes() == buffer.getvalue(), "camaudit.mo is stale: run `make i18n`"


def test_the_catalogue_holds_exactly_the_strings_marked_in_the_code() -> None:
    marked = {
        msgid if isinstance(msgid, str) else msgid[0]
        for _, _, msgid, _, _ in extract_from_dir(
            ROOT / "camaudit",
            method_map=[("**.py", "python")],
            keywords=EXTRACT_KEYWORDS,
        )
    }
    assert marked == _ids(POT), "camaudit.pot is stale: run `make i18n`"
    assert marked == _ids(PO), "camaudit.po is stale: run `make i18n` and translate"


def test_a_dutch_reader_sees_dutch_words() -> None:
    t = translator("nl", strict=True)
    words = {
        key: t.gettext(messages.TERMS[key])
        for key in ("closed_network", "device", "finding", "outbound_connection", "evidence")
    }
    assert words == {
        "closed_network": "gesloten netwerk",
        "device": "apparaat",
        "finding": "bevinding",
        "outbound_connection": "uitgaande verbinding",
        "evidence": "bewijs",
    }
    assert t.gettext(messages.VERDICT_NAMES["isolated"]) == "geïsoleerd"
    assert [t.gettext(messages.HEADINGS[k]) for k in ("make", "location", "description")] == [
        "Merk",
        "Locatie",
        "Omschrijving",
    ]


def test_every_report_message_is_in_the_catalogue_for_both_languages() -> None:
    tables = [
        messages.VERDICT_NAMES,
        messages.VERDICT_EXPLANATIONS,
        messages.TERMS,
        messages.HEADINGS,
        messages.SEVERITIES,
        messages.CATEGORIES,
        messages.DIRECTIONS,
        messages.FINDING_TITLES,
        messages.REASONS,
    ]
    assert set(messages.VERDICT_NAMES) == {
        "isolated",
        "isolated_with_attempts",
        "not_isolated",
        "inconclusive",
    }
    for lang in ("nl", "en"):
        t = translator(lang, strict=True)
        for table in tables:
            for text in table.values():
                t.gettext(text)  # raises when the catalogue lacks it
        for singular, plural in [*messages.PLURALS.values(), *messages.REASON_PLURALS.values()]:
            fields = {name: name for _, name, _, _ in Formatter().parse(singular) if name}
            fields.pop("count", None)
            t.ngettext(singular, plural, 2, **fields)


# -- the translator -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_a_strict_translator_refuses_a_string_missing_from_the_catalogue(lang: str) -> None:
    t = translator(lang, strict=True)
    with pytest.raises(UntranslatedError, match="not in the camaudit catalogue"):
        t.gettext("a sentence a renderer added without `make i18n`")
    with pytest.raises(UntranslatedError):
        t.ngettext("{count} new thing", "{count} new things", 3)


def test_a_lenient_translator_falls_back_to_english() -> None:
    assert translator("nl").gettext("not in the catalogue") == "not in the catalogue"


def test_two_languages_render_side_by_side_in_one_process() -> None:
    nl, en = translator("nl"), translator("en")
    text = messages.VERDICT_NAMES["not_isolated"]
    assert (nl.gettext(text), en.gettext(text), nl.gettext(text)) == (
        "niet geïsoleerd",
        "not isolated",
        "niet geïsoleerd",
    )


def test_fields_are_filled_after_translation() -> None:
    t = translator("nl", strict=True)
    assert t.gettext(messages.REASONS["crossed"], detail="10.66.0.21 → 203.0.113.5") == (
        "verkeer is over de grens gegaan: 10.66.0.21 → 203.0.113.5"
    )


@pytest.mark.parametrize(
    ("lang", "count", "text"),
    [
        ("nl", 1, "1 apparaat"),
        ("nl", 2, "2 apparaten"),
        ("nl", 1234, "1.234 apparaten"),
        ("en", 1, "1 device"),
        ("en", 1234, "1,234 devices"),
    ],
)
def test_plurals_follow_the_language_and_the_count_is_a_local_number(
    lang: str, count: int, text: str
) -> None:
    assert translator(lang, strict=True).ngettext(*messages.PLURALS["devices"], count) == text


def test_an_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="expected one of en, nl"):
        translator("de")


# -- numbers and dates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "value", "text"),
    [
        ("nl", 1234.5, "1.234,5"),
        ("en", 1234.5, "1,234.5"),
        ("nl", 1234567, "1.234.567"),
        ("en", Decimal("0.25"), "0.25"),
        ("nl", Decimal("0.25"), "0,25"),
    ],
)
def test_numbers_are_written_the_language_s_way(
    lang: str, value: int | float | Decimal, text: str
) -> None:
    assert translator(lang).format_number(value) == text


@pytest.mark.parametrize(("lang", "text"), [("nl", "1 december 2026"), ("en", "1 December 2026")])
def test_dates_are_written_out_in_the_language(lang: str, text: str) -> None:
    assert translator(lang).format_date(date(2026, 12, 1)) == text


def test_moments_are_written_in_utc_with_the_zone_named() -> None:
    moment = datetime(2026, 12, 1, 19, 40, 14, tzinfo=UTC)
    nl = translator("nl").format_datetime(moment)
    en = translator("en").format_datetime(moment.timestamp())
    assert nl.startswith("1 december 2026") and "19:40:14" in nl and "UTC" in nl
    assert en.startswith("1 December 2026") and "19:40:14" in en and "UTC" in en
    # the same moment given in another zone is still written in UTC
    cet = moment.astimezone(timezone(timedelta(hours=1)))
    assert translator("nl").format_datetime(cet) == nl


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        translator("nl").format_datetime(datetime(2026, 12, 1, 19, 40))


# -- the language from the locale -----------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({}, "en"),
        ({"LANG": "nl_NL.UTF-8"}, "nl"),
        ({"LANG": "nl_BE.UTF-8"}, "nl"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "nl_NL.UTF-8", "LC_MESSAGES": "C"}, "en"),
        ({"LANG": "C", "LC_MESSAGES": "nl_NL.UTF-8"}, "nl"),
        ({"LANG": "nl_NL", "LC_MESSAGES": "nl_NL", "LC_ALL": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US", "LC_ALL": "nl_NL.UTF-8"}, "nl"),
        ({"LANG": "nl_NL.UTF-8", "LC_ALL": ""}, "nl"),
    ],
)
def test_the_default_language_follows_the_locale(environ: dict[str, str], lang: str) -> None:
    assert default_language(environ) == lang


runner = CliRunner()
QUIET = PCAPS / "quiet-camera"


def _verify_summary(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> str:
    out = tmp_path / "r.json"
    result = runner.invoke(
        app,
        ["verify", str(QUIET), "-n", "10.66.0.0/24", "-f", "json", "-o", str(out), *args],
        env=env,
    )
    assert result.exit_code == 0, result.stderr
    return result.stderr


def test_verify_speaks_dutch_when_the_locale_is_dutch(tmp_path: Path) -> None:
    err = _verify_summary(tmp_path, env={"LANG": "nl_NL.UTF-8"})
    assert "camaudit: oordeel: geïsoleerd (exitcode 0); rapport geschreven naar" in err


def test_lang_overrides_the_locale(tmp_path: Path) -> None:
    err = _verify_summary(tmp_path, "--lang", "en", env={"LC_ALL": "nl_NL.UTF-8"})
    assert "camaudit: verdict isolated (exit 0); report written to" in err
    err = _verify_summary(tmp_path, "--lang", "nl")
    assert "oordeel: geïsoleerd" in err


def test_an_unknown_lang_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", str(QUIET), "--lang", "fr"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "camaudit: error: --lang 'fr': expected one of en, nl"
