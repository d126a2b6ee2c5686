"""Helpers every probe shares: sanitised facts, and exceptions turned into attempts."""

from __future__ import annotations

import ssl
import time

from camaudit.fingerprint._net import (
    DeadlineExceeded,
    NotAReply,
    PortClosed,
    ReplyTooLarge,
    UnsafeXml,
)
from camaudit.fingerprint.interface import Credentials, ProbeAttempt
from camaudit.sanitize import clean_text

__all__ = ["FactList", "describe", "failed_attempt", "scrub", "status_of"]


def scrub(text: str, credentials: Credentials | None) -> str:
    """``text`` with the user's password (if any) replaced, then sanitised to one line."""
    if credentials is not None and credentials.password:
        text = text.replace(credentials.password, "<hidden>")
    return clean_text(" ".join(text.split()), limit=200)


def describe(exc: BaseException, credentials: Credentials | None = None) -> str:
    """A one-line, sanitised reason for a failure, never holding the password."""
    if isinstance(exc, PortClosed):
        return "connection refused"
    if isinstance(exc, DeadlineExceeded | TimeoutError):
        return "no complete reply within the time limit"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the device"
    if isinstance(exc, ssl.SSLError):
        return scrub(f"TLS failed: {exc.reason or exc}", credentials)
    if isinstance(exc, NotAReply | ReplyTooLarge | UnsafeXml):
        return scrub(str(exc), credentials)
    return scrub(f"{type(exc).__name__}: {exc}", credentials)


def status_of(exc: BaseException) -> str:
    """The attempt status an exception stands for."""
    if isinstance(exc, PortClosed):
        return "not_applicable"
    if isinstance(exc, DeadlineExceeded | TimeoutError):
        return "timed_out"
    return "error"


def failed_attempt(
    probe: str,
    host: str,
    exc: BaseException,
    started: float,
    credentials: Credentials | None = None,
    facts: tuple[tuple[str, str], ...] = (),
) -> ProbeAttempt:
    """The attempt for a probe that could not talk to the device at all."""
    return ProbeAttempt(
        probe=probe,
        host=host,
        status=status_of(exc),
        facts=facts,
        error=describe(exc, credentials),
        duration=time.monotonic() - started,
    )


class FactList:
    """Facts in the order seen, each key and value sanitised on the way in."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self._facts: list[tuple[str, str]] = []
        self._credentials = credentials

    def add(self, key: str, value: object) -> None:
        """Record ``value`` (sanitised; empty values are dropped)."""
        if value is None:
            return
        text = value if isinstance(value, str | bytes) else str(value)
        cleaned = clean_text(text).strip()
        if self._credentials is not None and self._credentials.password:
            cleaned = cleaned.replace(self._credentials.password, "<hidden>")
        if cleaned:
            self._facts.append((clean_text(key, 120), cleaned))

    def get(self, key: str) -> str | None:
        """The first value under ``key``."""
        return next((value for name, value in self._facts if name == key), None)

    def freeze(self) -> tuple[tuple[str, str], ...]:
        """The facts as the attempt stores them."""
        return tuple(self._facts)
