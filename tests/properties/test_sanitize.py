"""Sanitised text never holds a control, bidi or surrogate character, whatever came in."""

from __future__ import annotations

import unicodedata

from hypothesis import example, given, settings
from hypothesis import strategies as st

from camaudit.sanitize import clean_name, clean_text

# explicit embeddings, overrides and isolates, and the implicit marks (LRM, RLM, ALM)
BIDI_CLASSES = frozenset(("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"))
BIDI_MARKS = frozenset("\u200e\u200f\u061c")
PROPERTY = settings(max_examples=300, deadline=None)
hostile = (
    st.text(st.characters(codec=None, categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Lu", "Ll", "Nd")))
    | st.text()
)


def unsafe(text: str) -> list[str]:
    return [
        c
        for c in text
        if unicodedata.category(c) in ("Cc", "Cs")
        or unicodedata.bidirectional(c) in BIDI_CLASSES
        or c in BIDI_MARKS
    ]


@PROPERTY
@given(value=hostile | st.binary(), limit=st.integers(1, 300))
@example(value="name\u061c.example", limit=256)  # ARABIC LETTER MARK, a bidi mark (Cf)
def test_clean_text_holds_no_control_bidi_or_surrogate(value: str | bytes, limit: int) -> None:
    cleaned = clean_text(value, limit)
    assert not unsafe(cleaned)
    assert len(cleaned) <= limit


@PROPERTY
@given(value=hostile | st.binary())
def test_clean_name_holds_no_control_bidi_or_surrogate(value: str | bytes) -> None:
    assert not unsafe(clean_name(value))
