"""The renderer registry: one saved report, many renderings.

Every format is a function ``render(report, t) -> str`` in its own module, imported only
when asked for (the HTML renderer loads its templates, the console one rich): a format
name maps to its module, function and file name extension. ``json`` is the report itself,
language-neutral (codes, not words: a pipeline reads it), so its renderer ignores the
translator. Inside a renderer, :func:`by_kind` picks its function for the report's kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Concatenate, ParamSpec, TextIO, TypeVar

from camaudit.errors import UsageError
from camaudit.i18n import Translator
from camaudit.report import jsonwrite
from camaudit.report.model import AuditReport, InventoryReport, Report, VerifyReport

__all__ = [
    "FORMATS",
    "Renderer",
    "by_kind",
    "extension",
    "render",
    "renderer",
    "writer",
]

Renderer = Callable[[Report, Translator], str]
Writer = Callable[[Report, Translator, TextIO], None]
T = TypeVar("T")
P = ParamSpec("P")


@dataclass(frozen=True)
class _Format:
    module: str
    function: str  # the module's ``render(report, t) -> str``
    extension: str  # of a file in this format


# format name -> where its renderer is; the order is the order --help lists them in.
_REGISTRY = {
    "console": _Format("camaudit.report.console", "render_text", "txt"),
    "json": _Format("camaudit.report.render", "render_json", "json"),
    "html": _Format("camaudit.report.html", "render", "html"),
    "markdown": _Format("camaudit.report.markdown", "render", "md"),
    "csv": _Format("camaudit.report.csv_out", "render", "csv"),
    "sarif": _Format("camaudit.report.sarif", "render", "sarif"),
}
FORMATS = tuple(_REGISTRY)


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
    where = _REGISTRY[name]
    try:
        module = import_module(where.module)
    except ModuleNotFoundError as exc:
        if exc.name != where.module:  # a dependency of the renderer is missing: a bug
            raise
        raise UsageError(
            f"--format {name}: this build of camaudit has no {name} renderer yet"
        ) from None
    found: Renderer = getattr(module, where.function)
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
    return _REGISTRY[name].extension


def by_kind(
    report: Report,
    verify: Callable[Concatenate[VerifyReport, P], T],
    inventory: Callable[Concatenate[InventoryReport, P], T],
    audit: Callable[Concatenate[AuditReport, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """What the function for ``report``'s kind returns for it (and ``args``): the one
    place that tells the three kinds apart; a new kind is added here, and every
    renderer then has to name its function for it."""
    if isinstance(report, VerifyReport):
        return verify(report, *args, **kwargs)
    if isinstance(report, InventoryReport):
        return inventory(report, *args, **kwargs)
    if isinstance(report, AuditReport):
        return audit(report, *args, **kwargs)
    raise TypeError(f"not a report: {type(report).__name__}")  # pragma: no cover
