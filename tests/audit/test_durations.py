"""Durations as an officer types them: one parser for --duration and --rotate."""

from __future__ import annotations

import pytest

from camaudit.audit.durations import parse_duration
from camaudit.errors import UsageError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("1.5", 1.5),
        ("90s", 90.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1d", 86400.0),
        (" 10M ", 600.0),
    ],
)
def test_durations_are_read_in_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "0", "0s", "-5", "10x", "m", "10m10m", "5s2h", "1h 30m", "2d", "25h", "ten"]
)
def test_what_is_not_a_duration_of_up_to_a_day_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--duration"):
        parse_duration(text)
