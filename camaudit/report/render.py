"""The renderer registry: one saved report, many renderings.

Every format is a function ``render(report, t) -> str`` in its own module, imported only
when asked for (the HTML renderer loads its templates, the console one rich): a format
name maps to ``(module, function)``. ``json`` is the report itself, language-neutral
(codes, not words: a pipeline reads it), so its renderer ignores the translator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import import_module
from typing import Any

from camaudit.errors import UsageError
from camaudit.i18n import Translator
from camaudit.report.model import Report, to_dict
from camaudit.sanitize import clean_text

__all__ = [
    "FORMATS",
    "Renderer",
    "extension",
    "render",
    "renderer",
]

Renderer = Callable[[Report, Translator], str]

# format name -> (module, function); the order is the order --help lists them in.
_REGISTRY: dict[str, tuple[str, str]] = {
    "console": ("camaudit.report.console", "render_text"),
    "json": ("camaudit.report.render", "render_json"),
    "html": ("camaudit.report.html", "render"),
    "markdown": ("camaudit.report.markdown", "render"),
    "csv": ("camaudit.report.csv_out", "render"),
    "sarif": ("camaudit.report.sarif", "render"),
}
FORMATS = tuple(_REGISTRY)
_EXTENSIONS = {
    "console": "txt",
    "json": "json",
    "html": "html",
    "markdown": "md",
    "csv": "csv",
    "sarif": "sarif",
}


def render_json(report: Report, t: Translator) -> str:
    """The report as its JSON document: codes, never translated words.

    Every string is passed through :func:`clean_text` (unbounded), so a report read from
    a hostile file comes out as valid UTF-8 without control or bidi characters; a report
    camaudit made is clean already and comes out byte for byte as ``to_json`` writes it.
    """
    del t  # JSON is for machines: the same bytes in every language
    return json.dumps(_clean(to_dict(report)), indent=2, ensure_ascii=False) + "\n"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value, 6 * len(value) + 1)  # never cut: at most 6 chars each
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def renderer(name: str) -> Renderer:
    """The render function of format ``name``; a one-line usage error when there is none."""
    if name not in _REGISTRY:
        raise UsageError(f"--format {name!r}: expected one of {', '.join(FORMATS)}")
    module_name, function = _REGISTRY[name]
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:  # a dependency of the renderer is missing: a bug
            raise
        raise UsageError(
            f"--format {name}: this build of camaudit has no {name} renderer yet"
        ) from None
    found: Renderer = getattr(module, function)
    return found


def render(report: Report, name: str, t: Translator) -> str:
    """``report`` rendered in format ``name`` and the language of ``t``."""
    return renderer(name)(report, t)


def extension(name: str) -> str:
    """The usual file name extension of format ``name`` (``md`` for markdown)."""
    return _EXTENSIONS[name]
