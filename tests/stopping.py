"""One way for a fixture to start things (devices, responders) and stop them all afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

A = TypeVar("A")
T = TypeVar("T")


@contextmanager
def stopping(start: Callable[[A], T], stop: Callable[[T], object]) -> Iterator[Callable[[A], T]]:
    """``start`` for a test: whatever it started is stopped on leaving, also on failure."""
    started: list[T] = []

    def tracked(argument: A) -> T:
        started.append(thing := start(argument))
        return thing

    try:
        yield tracked
    finally:
        for thing in started:
            stop(thing)
