"""Attempts: what every discovery method and fingerprint probe returns, never raises.

One toolkit for both stages: the :class:`Attempter` contract (a discovery method and a
fingerprint probe are each one), the :class:`AttemptStatus` vocabulary, the sanitised
:class:`Facts` a device gave, :func:`guarded` (an exception becomes a failed attempt) and
:func:`run_all` (jobs run concurrently under one deadline; a job still running when it
passes is ``timed_out``, one never started ``not_scheduled``).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from enum import StrEnum
from typing import Generic, TypeVar

from camaudit.sanitize import clean_text

__all__ = ["HIDDEN", "AttemptStatus", "Attempter", "Facts", "guarded", "hide_secrets", "run_all"]

HIDDEN = "<hidden>"
_HEX = frozenset("0123456789abcdefABCDEF")

Job = TypeVar("Job")
Attempt = TypeVar("Attempt")
Subject = TypeVar("Subject", contravariant=True)  # what an attempter is run against
Outcome = TypeVar("Outcome", covariant=True)  # the attempt it returns


class AttemptStatus(StrEnum):
    """How one discovery method or fingerprint probe ended."""

    COMPLETED = "completed"  # it ran to the end (finding nothing is still completed)
    ERROR = "error"  # it failed; the attempt's error says why in one line
    TIMED_OUT = "timed_out"  # still running when its time ran out
    NOT_SCHEDULED = "not_scheduled"  # never run: the budget ran out first, or it cannot run here
    NOT_APPLICABLE = "not_applicable"  # nothing to ask: the device refused the connection


class Attempter(ABC, Generic[Subject, Outcome]):
    """A discovery method or a fingerprint probe: registered by ``name`` in its stage's
    registry; :meth:`run` returns an attempt with an :class:`AttemptStatus`."""

    name: str

    @abstractmethod
    def run(self, target: Subject) -> Outcome:
        """Try ``target``; every failure becomes the attempt's status, never an exception."""


def _hide_digest_responses(text: str) -> str:
    """``response="<hex>"`` values (a digest answer is an offline-crackable password hash).

    One pass with ``find`` over a lower-cased copy made once: linear in ``text``.
    """
    low, marker = text.lower(), "response="
    out: list[str] = []
    last = 0
    found = low.find(marker)
    while found >= 0:
        start = found + len(marker)
        start += 1 if text[start : start + 1] == '"' else 0
        end = start
        while end < len(text) and text[end] in _HEX:
            end += 1
        if end - start >= 32:
            out += [text[last:start], HIDDEN]
            last = end
        found = low.find(marker, max(end, found + len(marker)))
    out.append(text[last:])
    return "".join(out)


def hide_secrets(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` without any of ``secrets`` and without digest responses."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, HIDDEN)
    return _hide_digest_responses(text)


class Facts:
    """``(key, value)`` facts in the order seen, each sanitised on the way in.

    ``secrets`` (the user's password in the forms a device could echo) and digest
    responses are hidden before a value is cleaned, so an escaped control character
    inside one cannot unhide it. Empty values, ``None`` and containers are dropped.
    """

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        self._items: list[tuple[str, str]] = []
        self._secrets = list(secrets)

    def hide(self, secret: str) -> None:
        """Also hide ``secret`` (e.g. a digest response sent) from every later fact."""
        if secret:
            self._secrets.append(secret)

    def add(self, key: str, value: object, limit: int = 256) -> None:
        """Record ``value`` (device text) under ``key``, at most ``limit`` characters."""
        if value is None or isinstance(value, dict | list):
            return
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="backslashreplace")
        text = value if isinstance(value, str) else str(value)
        cleaned = clean_text(hide_secrets(text.strip(), self._secrets), limit).strip()
        if cleaned:
            self._items.append((clean_text(key, 120), cleaned))

    def get(self, key: str) -> str | None:
        """The first value recorded under ``key``."""
        return next((value for name, value in self._items if name == key), None)

    def items(self) -> tuple[tuple[str, str], ...]:
        """The facts, in recording order."""
        return tuple(self._items)


def guarded(body: Callable[[], Attempt], failed: Callable[[Exception], Attempt]) -> Attempt:
    """``body()``; an exception it raises becomes ``failed(exception)``, never escapes."""
    try:
        return body()
    except Exception as exc:  # the contract: a method or probe never raises
        return failed(exc)


def run_all(
    jobs: Sequence[Job],
    run: Callable[[Job, float], Attempt],
    late: Callable[[Job, AttemptStatus, float], Attempt],
    budget: float,
    threads: int,
    on_done: Callable[[Attempt], None] | None = None,
    name: str = "camaudit",
) -> tuple[Attempt, ...]:
    """Run every job, ``threads`` at a time, within ``budget`` seconds; one attempt each.

    ``run(job, deadline)`` gets the monotonic deadline and must not raise (wrap it in
    :func:`guarded`). A job still running at the deadline, or never started, gets
    ``late(job, TIMED_OUT or NOT_SCHEDULED, seconds elapsed)``; its thread is not waited
    for (each job's own time limit ends it soon after). Attempts come in job order;
    ``on_done`` is called as each finishes in time.
    """
    if not jobs:
        return ()
    started = time.monotonic()
    deadline = started + budget
    pool = ThreadPoolExecutor(max_workers=max(1, min(threads, len(jobs))), thread_name_prefix=name)
    try:
        futures: list[Future[Attempt]] = [pool.submit(run, job, deadline) for job in jobs]
        pending = set(futures)
        while pending and (left := deadline - time.monotonic()) > 0:
            done, pending = wait(pending, timeout=left, return_when=FIRST_COMPLETED)
            for future in done:
                if on_done is not None:
                    on_done(future.result())
        for future in pending:
            future.cancel()  # a job not yet started never will be
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    elapsed = time.monotonic() - started
    attempts: list[Attempt] = []
    for job, future in zip(jobs, futures, strict=True):
        if future.cancelled():
            attempts.append(late(job, AttemptStatus.NOT_SCHEDULED, elapsed))
        elif future.done():
            attempts.append(future.result())
        else:
            attempts.append(late(job, AttemptStatus.TIMED_OUT, elapsed))
    return tuple(attempts)
