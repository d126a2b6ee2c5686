"""Untrusted text (banners, DNS names, SNI, HTTP headers) is made safe once, at the edge.

After :func:`clean_text` a string holds no control characters, no terminal escape
sequences and no invalid UTF-8, and is bounded in length, so it can go to a
terminal, a JSON report or an HTML page without injecting anything.
"""

from __future__ import annotations

import os
import re

# C0/C1 controls, zero-width and direction marks (LRM, RLM and the Arabic letter mark),
# line/paragraph separators, bidi embeddings/overrides/isolates, and lone surrogates (no
# valid UTF-8 holds one: a report with one could not even be written as UTF-8).
_CONTROL = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


# os.fsdecode turns a file name byte that is not UTF-8 into U+DC80..U+DCFF
# (surrogateescape): shown as that byte (``\\x9b``), as the user would type it.
_ESCAPED_BYTE = range(0xDC80, 0xDD00)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code in _ESCAPED_BYTE:
        code -= 0xDC00
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean_text(value: str | bytes, limit: int = 256) -> str:
    """Return ``value`` as printable text: controls shown as ``\\xNN``, at most ``limit`` chars.

    Bytes that are not valid UTF-8 are shown as ``\\xNN`` too; a cut string ends in ``…``.
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="backslashreplace")
    # isprintable() is false for every character _CONTROL matches (a test holds the two
    # together): most text is clean, and this skips the regex for it
    text = value if value.isprintable() else _CONTROL.sub(_escape, value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def shown_path(path: str | bytes | os.PathLike[str] | os.PathLike[bytes], limit: int = 512) -> str:
    """A file name as shown to the user: undecodable bytes as ``\\xNN``, then :func:`clean_text`."""
    return clean_text(os.fsdecode(path), limit)


def clean_name(value: str | bytes) -> str:
    """A DNS name, SNI or Host header: lower-cased, no trailing dot, then :func:`clean_text`."""
    text = clean_text(value, limit=260)
    return text.rstrip(".").lower()
