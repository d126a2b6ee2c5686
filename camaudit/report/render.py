"""The renderer registry: one saved report, many renderings.

Every format is a function ``render(report, t) -> str`` in its own module, imported only
when asked for (the HTML renderer loads its templates, the console one rich): a format
name maps to ``(module, function)``. ``json`` is the report itself, language-neutral
(codes, not words: a pipeline reads it), so its renderer ignores the translator.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TextIO

from camaudit.errors import UsageError
from camaudit.i18n import Translator
from camaudit.report import jsonwrite
from camaudit.report.model import Report

__all__ = [
    "FORMATS",
    "Renderer",
    "extension",
    "render",
    "renderer",
    "writer",
]

Renderer = Callable[[Report, Translator], str]
Writer = Callable[[Report, Translator, TextIO], None]

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
    return jsonwrite.dumps(report, jsonwrite.clean_all)


def write_json(report: Report, t: Translator, handle: TextIO) -> None:
    """:func:`render_json` written to ``handle`` in pieces, never held whole in memory."""
    del t
    jsonwrite.write(report, handle, jsonwrite.clean_all)


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


def writer(name: str) -> Writer:
    """What writes format ``name`` to a file: the JSON in pieces as it is made (a report
    of a big capture is never held whole), every other format as its renderer's text."""
    if name == "json":
        return write_json
    draw = renderer(name)

    def write(report: Report, t: Translator, handle: TextIO) -> None:
        handle.write(draw(report, t))

    return write


def render(report: Report, name: str, t: Translator) -> str:
    """``report`` rendered in format ``name`` and the language of ``t``."""
    return renderer(name)(report, t)


def extension(name: str) -> str:
    """The usual file name extension of format ``name`` (``md`` for markdown)."""
    return _EXTENSIONS[name]
