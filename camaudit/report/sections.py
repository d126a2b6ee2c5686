"""The register reconciliation and the BIO/BIO2 controls as tables, for every renderer.

One place decides the columns, their words and the order of the cells; each renderer
passes its own ``escape`` for the untrusted cells (Markdown, HTML) and lays the table out.
:func:`headings` words the columns of every renderer's other tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from camaudit.i18n import N_, NP_, Translator
from camaudit.messages import HEADINGS
from camaudit.report.compliance import REGISTER_KINDS, ControlsSection, control_rows
from camaudit.report.register import RegisterSection

if TYPE_CHECKING:
    from camaudit.report.model import FindingEntry, LookupEntry

Escape = Callable[[str], str]


def headings(t: Translator, *keys: str) -> list[str]:
    """The column headings ``keys`` name (keys of :data:`HEADINGS`), in ``t``'s language."""
    return [t.gettext(HEADINGS[key]) for key in keys]


def lookup_name(row: LookupEntry, t: Translator) -> str:
    """A DNS row's name; for look-ups a DNS flood's were counted together (the traffic
    stage's limit), how many, and whether their names were kept."""
    if not row.pooled:
        return row.name
    words = _POOLED_WORDS[row.names_pooled]
    return t.ngettext(*words, row.pooled, name=row.name)


# (singular, plural) of a pooled DNS row's name: counted together by name, or without names
_POOLED_WORDS = {
    False: NP_(
        "{name} ({count} alike look-up counted together)",
        "{name} ({count} alike look-ups counted together)",
    ),
    True: NP_(
        "{name} and later names, not kept ({count} look-up)",
        "{name} and later names, not kept ({count} look-ups)",
    ),
}


_REGISTER_COLUMNS = (
    N_("row"),
    N_("result"),
    HEADINGS["location"],
    HEADINGS["description"],
    HEADINGS["device"],
    N_("expected make"),
    N_("found make"),
)
_CONTROL_COLUMNS = (
    N_("control"),
    N_("title"),
    N_("status"),
    N_("findings behind it, or why not tested"),
)


def register_table(
    section: RegisterSection, t: Translator, escape: Escape
) -> tuple[list[str], list[list[str]]]:
    """The register's header and one row per entry (cells escaped by ``escape``)."""
    rows = [
        [
            t.format_number(e.row) if e.row is not None else "-",
            t.gettext(REGISTER_KINDS[e.kind]),
            escape(e.location or "-"),
            escape(e.description or "-"),
            escape(" ".join(x for x in (e.ip, e.mac) if x) or "-"),
            escape(e.expected_make or "-"),
            escape(e.found_make or "-"),
        ]
        for e in section.entries
    ]
    return [t.gettext(c) for c in _REGISTER_COLUMNS], rows


def controls_table(
    section: ControlsSection,
    t: Translator,
    escape: Escape,
    findings: Sequence[FindingEntry],
) -> tuple[str, list[str], list[tuple[str, list[str]]]]:
    """The controls' title, header and one (status, cells) row per control (``findings``:
    the report's, which the controls cite by index)."""
    name = escape(section.framework.split(" (", 1)[0])  # its long form is English data
    rows = [
        (
            str(r.status),
            [escape(r.id), escape(r.title), r.status_word, "; ".join(escape(b) for b in r.behind)],
        )
        for r in control_rows(section, t, findings)
    ]
    title = t.gettext("{framework} controls", framework=name)
    return title, [t.gettext(c) for c in _CONTROL_COLUMNS], rows
