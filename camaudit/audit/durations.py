"""Durations as people type them: ``90``, ``90s``, ``10m``, ``2h``, ``1h30m``."""

from __future__ import annotations

import re

from camaudit.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
MAX_SECONDS = 24 * 3600  # the longest recording live capture accepts


def parse_duration(text: str, option: str = "--duration") -> float:
    """Seconds in ``text``; :class:`UsageError` with one line when it is not a duration.

    A bare number is seconds; otherwise one or more number+unit parts (s, m, h, d),
    each unit at most once, largest first. Zero, negative and over a day are refused:
    a recording that long is a mistake, not an audit.
    """
    raw = text.strip().lower()
    seconds = _seconds(raw)
    if seconds is None:
        raise UsageError(f"{option} {text!r}: expected seconds or e.g. 90s, 10m, 2h, 1h30m")
    if not 0 < seconds <= MAX_SECONDS:
        raise UsageError(f"{option} {text!r}: must be more than 0 and at most 24h")
    return seconds


def _seconds(raw: str) -> float | None:
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    parts = _PART.findall(raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        return None
    units = [u for _n, u in parts]
    order = [list(_UNITS).index(u) for u in units]
    if len(set(units)) != len(units) or order != sorted(order, reverse=True):
        return None  # "10m10m" or "5s2h": a typo, not a duration
    return sum(float(n) * _UNITS[u] for n, u in parts)
