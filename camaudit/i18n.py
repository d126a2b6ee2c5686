"""Dutch and English: every user-facing string from one gettext catalogue (domain ``camaudit``).

A :class:`Translator` is an immutable value: two languages can render side by side in
one process, and nothing here reads or changes global state after import (the locale
environment is read only by :func:`default_language`, when asked).

Messages use ``str.format`` fields (``{count}``, ``{device}``): the translator fills them
in *after* translating, so a translation may reorder them but must keep every one (a test
checks). Mark a string for extraction by passing it literally to ``gettext`` /
``ngettext``, or with :func:`N_` where it is defined away from its use. ``make i18n``
extracts (``pybabel extract``), updates ``locale/nl/LC_MESSAGES/camaudit.po`` and compiles
the ``.mo`` that the wheel ships.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date as _format_date
from babel.dates import format_datetime as _format_datetime
from babel.messages.mofile import read_mo
from babel.numbers import format_decimal

from camaudit.errors import UsageError

__all__ = [
    "DOMAIN",
    "EXTRACT_KEYWORDS",
    "LANGUAGES",
    "LOCALE_DIR",
    "NP_",
    "N_",
    "Translator",
    "UntranslatedError",
    "default_language",
    "translator",
]

DOMAIN = "camaudit"
LANGUAGES = ("en", "nl")
LOCALE_DIR = Path(__file__).parent / "locale"
# pybabel's keywords (beyond its defaults _, gettext, ngettext, N_ ...): `make i18n` passes
# the same ones, and a test extracts with these to check the catalogue is current.
EXTRACT_KEYWORDS = {"N_": None, "NP_": (1, 2), "gettext": None, "ngettext": (1, 2)}
# The CLDR locale each language formats numbers and dates in. British English writes the
# day before the month and a 24-hour clock, as Dutch readers of an English report expect.
_CLDR = {"en": "en_GB", "nl": "nl_NL"}
# Where the catalogue of message ids comes from: English is the source language, so its
# texts are the msgids themselves, and the Dutch catalogue holds every one of them.
_REFERENCE = "nl"


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translate it where shown)."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular/plural pair for extraction; translate it with ``ngettext``."""
    return singular, plural


class UntranslatedError(LookupError):
    """A strict translator was asked for a message the catalogue does not hold."""


def default_language(environ: Mapping[str, str]) -> str:
    """``nl`` when the locale asks for Dutch, else ``en``.

    The first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set and not empty decides,
    as in POSIX: ``nl``, ``nl_NL.UTF-8``, ``nl_BE`` ... give ``nl``; ``C``, ``POSIX`` and
    every other language give ``en``.
    """
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(key, "").strip()
        if value:
            return "nl" if value.lower().startswith("nl") else "en"
    return "en"


@dataclass(frozen=True)
class Translator:
    """Texts, numbers and dates in one language. Build one with :func:`translator`.

    With ``strict``, a message that is not in the catalogue raises
    :class:`UntranslatedError` instead of showing its English text: the tests render
    with strict translators, so a renderer cannot add an untranslated string silently.
    """

    lang: str
    strict: bool
    _messages: _gettext.NullTranslations = field(repr=False, compare=False)
    _known: frozenset[str] = field(repr=False, compare=False)

    @property
    def locale(self) -> str:
        """The CLDR locale numbers and dates are written in (``nl_NL``, ``en_GB``)."""
        return _CLDR[self.lang]

    def _check(self, message: str) -> None:
        if self.strict and message not in self._known:
            raise UntranslatedError(f"not in the {DOMAIN} catalogue: {message!r}")

    def gettext(self, message: str, /, **fields: object) -> str:
        """``message`` in this language, its ``{fields}`` filled in."""
        self._check(message)
        text = self._messages.gettext(message)
        return text.format(**fields) if fields else text

    def ngettext(self, singular: str, plural: str, count: int, /, **fields: object) -> str:
        """The form for ``count``; ``{count}`` is filled in as a number in this language."""
        self._check(singular)
        text = self._messages.ngettext(singular, plural, count)
        return text.format(count=self.format_number(count), **fields)

    def format_number(self, value: int | float | Decimal) -> str:
        """``1234.5`` as ``1.234,5`` (nl) or ``1,234.5`` (en)."""
        return str(format_decimal(value, locale=self.locale))

    def format_date(self, value: date) -> str:
        """``1 december 2026`` (nl), ``1 December 2026`` (en)."""
        return str(_format_date(value, format="long", locale=self.locale))

    def format_datetime(self, value: datetime | float, zone: tzinfo = UTC) -> str:
        """A moment (a datetime, or POSIX seconds as captures store them) in ``zone``.

        ``1 december 2026, 19:40:14 UTC`` (nl). The zone is always written, and UTC is
        the default so that the same capture gives the same report anywhere.
        """
        moment = datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else value
        if moment.tzinfo is None:
            raise ValueError("a naive datetime has no meaning in a report: give its zone")
        return str(_format_datetime(moment, format="long", tzinfo=zone, locale=self.locale))


@lru_cache(maxsize=len(LANGUAGES))
def _catalogue(lang: str) -> _gettext.NullTranslations:
    if lang == "en":
        return _gettext.NullTranslations()
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as handle:
        return _gettext.GNUTranslations(handle)


@lru_cache(maxsize=1)
def known_messages() -> frozenset[str]:
    """Every msgid of the catalogue (the singular of a plural entry)."""
    path = LOCALE_DIR / _REFERENCE / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with path.open("rb") as handle:
        catalog = read_mo(handle)
    ids = set()
    for message in catalog:
        if message.id:
            ids.add(message.id if isinstance(message.id, str) else message.id[0])
    return frozenset(ids)


def translator(lang: str, strict: bool = False) -> Translator:
    """The translator for ``lang`` (``nl`` or ``en``); a usage error for any other."""
    if lang not in LANGUAGES:
        raise UsageError(f"--lang {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return Translator(lang, strict, _catalogue(lang), known_messages())
