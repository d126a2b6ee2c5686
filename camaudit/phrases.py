"""Verdict reasons and finding texts in the reader's language: one home for all renderers.

The verdict stage writes each reason and finding text as a :class:`Phrase`: a code from
:data:`camaudit.messages.REASONS` / :data:`~camaudit.messages.REASON_PLURALS`, its params
and its English text (for JSON readers, and for reports saved before phrases had codes).
Every renderer writes them through :func:`reason_text` / :func:`finding_text`, so a Dutch
report never shows an English sentence the catalogue can translate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from camaudit.i18n import Translator, translator
from camaudit.messages import REASON_PLURALS, REASONS
from camaudit.model import Phrase, Problem

if TYPE_CHECKING:
    from camaudit.model import Finding
    from camaudit.report.model import FindingEntry

__all__ = [
    "BUILT_IN_LABELS",
    "config_text",
    "finding_phrase",
    "finding_text",
    "label_phrase",
    "label_text",
    "phrase",
    "phrase_text",
    "problem",
    "problem_phrase",
    "problem_text",
    "reason_text",
]

Param = str | int | Phrase | tuple[str | int | Phrase, ...]
# What an outside flow of a well-known service is when no profile names it: app -> code.
# A profile's label is data (mostly a proper name) and stays as the profile wrote it.
BUILT_IN_LABELS = {"ntp": "label_ntp", "dns": "label_dns"}


@cache
def _english() -> Translator:
    return translator("en")


def phrase(code: str, /, **params: Param) -> Phrase:
    """The phrase ``code`` with ``params``, its English text written out.

    A str param is shown as it is (addresses, names, ports, frame numbers), an int is
    a quantity (``1.234`` in Dutch), a phrase is translated in turn, a tuple is a list
    of those, written with commas.
    """
    if not params:
        return _bare(code)
    pairs = tuple(params.items())
    return Phrase(_english_text(code, pairs), code, pairs)


@cache
def _bare(code: str) -> Phrase:
    if code not in REASONS:
        raise KeyError(f"no such phrase: {code!r}")
    return Phrase(REASONS[code], code)


def _english_text(code: str, params: tuple[tuple[str, Param], ...]) -> str:
    """What :func:`phrase_text` gives in English, without walking the nested phrases
    again (each holds its English already): English is the source language, so its
    text is the msgid itself. A verdict over a flood builds one phrase per flow."""
    # str first, inline: a flood's flows are mostly addresses (one call fewer each)
    fields = {k: v if type(v) is str else _english_param(v) for k, v in params}
    template = REASONS.get(code)
    if template is None:
        if code not in REASON_PLURALS:
            raise KeyError(f"no such phrase: {code!r}")
        singular, plural = REASON_PLURALS[code]
        template = singular if dict(params).get("count") == 1 else plural
    return template.format_map(fields)


def _english_param(value: Param) -> str:
    if type(value) is str:  # the common case first: addresses, names
        return value
    if isinstance(value, tuple):
        return ", ".join(_english_param(v) for v in value)
    if isinstance(value, Phrase):
        return value.text
    if isinstance(value, int) and not isinstance(value, bool):
        return _number(_english(), value)
    return str(value)


def phrase_text(p: Phrase, t: Translator) -> str:
    """``p`` in ``t``'s language; its stored English text when it has no code we know
    (a report saved before phrases had codes, or by a later camaudit)."""
    fields = {name: _param(value, t) for name, value in p.params}
    if p.code in REASONS:
        return t.gettext(REASONS[p.code], **fields)
    if p.code in REASON_PLURALS:
        count = dict(p.params).get("count")
        if isinstance(count, int):
            del fields["count"]
            return t.ngettext(*REASON_PLURALS[p.code], count, **fields)
    return p.text


def _param(value: Param, t: Translator) -> str:
    if isinstance(value, tuple):
        return ", ".join(_param(v, t) for v in value)
    if isinstance(value, Phrase):
        return phrase_text(value, t)
    if isinstance(value, int) and not isinstance(value, bool):
        return _number(t, value)
    return str(value)


@lru_cache(maxsize=4096)
def _number(t: Translator, value: int) -> str:
    return t.format_number(value)


@cache
def _built_in_label_codes() -> dict[str, str]:
    return {phrase(code).text: code for code in BUILT_IN_LABELS.values()}


def label_phrase(label: str) -> Phrase | str:
    """A flow's label as a phrase when it is a built-in one, else as the profile wrote it."""
    code = _built_in_label_codes().get(label)
    return phrase(code) if code else label


def label_text(label: str | None, t: Translator) -> str:
    """A flow's or look-up's label (the report keeps its English) in ``t``'s language."""
    if not label:
        return ""
    found = label_phrase(label)
    return phrase_text(found, t) if isinstance(found, Phrase) else found


def problem(kind: str, message: Phrase, capture: str | None = None, count: int = 1) -> Problem:
    """A :class:`Problem` of ``kind`` whose message is ``message`` (its English kept)."""
    return Problem(kind, message.text, capture, count, message.code, message.params)


def first_frames(first: Sequence[int], more: bool) -> dict[str, str]:
    """A problem's ``frames`` and ``more`` params: the first frame numbers it cites, and
    ``", ..."`` when there are more than those."""
    return {"frames": ", ".join(str(f) for f in first), "more": ", ..." if more else ""}


def problem_phrase(p: Problem) -> Phrase:
    """A problem's message as a phrase (the report keeps its code and params apart)."""
    return Phrase(p.message, p.message_code, p.params)


def problem_text(p: Problem, t: Translator) -> str:
    """A problem's message in ``t``'s language (its English when it has no code)."""
    return phrase_text(problem_phrase(p), t)


def reason_text(reason: Phrase, t: Translator) -> str:
    """A verdict reason (of the report, or of one device) in ``t``'s language."""
    return phrase_text(reason, t)


def finding_phrase(finding: FindingEntry | Finding) -> Phrase:
    """A finding's text as a phrase (the report keeps its code and params apart)."""
    if isinstance(finding.summary, Phrase):
        return finding.summary
    return Phrase(finding.summary, finding.code, finding.params)


def finding_text(finding: FindingEntry | Finding, t: Translator) -> str:
    """A finding's text in ``t``'s language (a device setting's finding has no code yet:
    its English sentence is matched, :func:`config_text`)."""
    found = finding_phrase(finding)
    return phrase_text(found, t) if found.code else config_text(found.text, t)


@cache
def _config_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    # imported here: camaudit.fingerprint imports much that imports this module
    from camaudit.fingerprint.findings import MESSAGES

    return tuple((message, _pattern(message)) for message in MESSAGES)


def _pattern(message: str) -> re.Pattern[str]:
    """``message`` as a pattern whose groups are its ``{fields}``."""
    parts = re.split(r"\{(\w+)\}", message)
    text = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*)" for i, p in enumerate(parts))
    return re.compile(text, re.DOTALL)


def config_text(text: str, t: Translator) -> str:
    """A device setting's finding (the report keeps the English sentence the fingerprint
    stage wrote) in ``t``'s language; a sentence it did not write stays as it is."""
    for message, pattern in _config_patterns():
        found = pattern.fullmatch(text)
        if found:
            return t.gettext(message, **found.groupdict())
    return text
