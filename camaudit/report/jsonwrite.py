"""A report written as JSON in one pass: straight from the typed model to the file.

The same bytes as ``json.dumps(to_dict(report), indent=2, ensure_ascii=False)`` (a test
holds the two together), without the intermediate trees: the model is not copied into
plain dicts, then into cleaned dicts, then into one string (Python's JSON encoder is the
pure-Python one whenever ``indent`` is set). Each string is sanitised once, as it is
written, and the text goes to the file in pieces, so a report of a big capture never sits
in memory as a whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass
from enum import Enum
from functools import cache
from json.encoder import encode_basestring
from typing import Any, TextIO

from camaudit.model import Phrase
from camaudit.sanitize import clean_text

__all__ = ["clean_all", "dumps", "write"]

Clean = Callable[[str], str] | None
_FLUSH = 4096  # pieces held before they are written out
_INDENT = tuple("\n" + "  " * level for level in range(64))


def clean_all(value: str) -> str:
    """``value`` sanitised and never cut (:func:`clean_text` writes at most six chars
    for one)."""
    return clean_text(value, 6 * len(value) + 1)


@cache
def _spec(cls: type) -> tuple[tuple[str, str, bool, bool], ...]:
    """Per field of dataclass ``cls``: name, its JSON key, params-shaped, omitted-when-empty."""
    return tuple(
        (
            f.name,
            f.metadata.get("json", f.name),
            bool(f.metadata.get("phrase_params")),
            bool(f.metadata.get("omit_empty")),
        )
        for f in fields(cls)
    )


def _indent(level: int) -> str:
    return _INDENT[level] if level < len(_INDENT) else "\n" + "  " * level


class _Writer:
    def __init__(self, handle: TextIO | None, clean: Clean) -> None:
        self.handle = handle
        self.clean = clean
        self.out: list[str] = []

    def flush(self) -> None:
        if self.handle is not None and self.out:
            self.handle.write("".join(self.out))
            self.out.clear()

    def string(self, value: str) -> str:
        if self.clean is not None:
            value = self.clean(value)
        return encode_basestring(value)

    def value(self, value: Any, level: int) -> None:
        out = self.out
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, str):
            out.append(self.string(value))
        elif value is None:
            out.append("null")
        elif value is True:
            out.append("true")
        elif value is False:
            out.append("false")
        elif isinstance(value, int):
            out.append(int.__repr__(value))
        elif isinstance(value, float):
            out.append(_float(value))
        elif isinstance(value, tuple | list):
            self.sequence(value, level)
        elif isinstance(value, Phrase):
            self.phrase(value, level)
        elif is_dataclass(value) and not isinstance(value, type):
            self.dataclass(value, level)
        else:
            raise TypeError(f"not JSON: {type(value).__name__}")
        if len(out) > _FLUSH:
            self.flush()

    def sequence(self, items: tuple[Any, ...] | list[Any], level: int) -> None:
        if not items:
            self.out.append("[]")
            return
        inner = _indent(level + 1)
        self.out.append("[")
        for i, item in enumerate(items):
            self.out.append(inner if i == 0 else "," + inner)
            self.value(item, level + 1)
        self.out.append(_indent(level) + "]")

    def members(self, pairs: list[tuple[str, Any, bool]], level: int) -> None:
        """A JSON object of (key, value, value-is-phrase-params) pairs."""
        if not pairs:
            self.out.append("{}")
            return
        inner = _indent(level + 1)
        out = self.out
        out.append("{")
        for i, (key, value, params) in enumerate(pairs):
            out.append((inner if i == 0 else "," + inner) + encode_basestring(key) + ": ")
            if params:
                self.params(value, level + 1)
            else:
                self.value(value, level + 1)
        out.append(_indent(level) + "}")

    def dataclass(self, value: Any, level: int) -> None:
        pairs = []
        kind: type = type(value)
        for name, key, params, omit in _spec(kind):
            item = getattr(value, name)
            if omit and not item:
                continue
            pairs.append((key, item, params))
        self.members(pairs, level)

    def phrase(self, value: Phrase, level: int) -> None:
        self.members(
            [
                ("text", value.text, False),
                ("code", value.code, False),
                ("params", value.params, True),
            ],
            level,
        )

    def params(self, params: Any, level: int) -> None:
        # a param's name is read from the file like any other text: cleaned too
        clean = self.clean or (lambda s: s)
        self.members([(clean(name), v, False) for name, v in params], level)


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)


def write(report: Any, handle: TextIO, clean: Clean = None) -> None:
    """Write ``report`` (a report dataclass) to ``handle`` as pretty JSON and a newline;
    every string through ``clean`` when given."""
    writer = _Writer(handle, clean)
    writer.value(report, 0)
    writer.out.append("\n")
    writer.flush()


def dumps(report: Any, clean: Clean = None) -> str:
    """The text :func:`write` writes."""
    writer = _Writer(None, clean)
    writer.value(report, 0)
    writer.out.append("\n")
    return "".join(writer.out)
