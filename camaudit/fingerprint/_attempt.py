"""Helpers every probe shares: sanitised facts, and exceptions turned into attempts."""

from __future__ import annotations

import base64
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

__all__ = ["FactList", "describe", "failed_attempt", "hide_secrets", "scrub", "status_of"]

HIDDEN = "<hidden>"
_HEX = frozenset("0123456789abcdefABCDEF")


def secret_forms(credentials: Credentials | None) -> tuple[str, ...]:
    """Every form of the password that a device could echo back: itself and the Basic token."""
    if credentials is None or not credentials.password:
        return ()
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode())
    unpadded = token.decode("ascii").rstrip("=")
    return tuple(sorted({credentials.password, unpadded}, key=len, reverse=True))


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


def hide_secrets(text: str, credentials: Credentials | None, extra: tuple[str, ...] = ()) -> str:
    """``text`` without the password, its Basic token, digest responses or ``extra`` secrets."""
    for secret in (*secret_forms(credentials), *extra):
        if secret:
            text = text.replace(secret, HIDDEN)
    return _hide_digest_responses(text)


def scrub(text: str, credentials: Credentials | None) -> str:
    """``text`` with the user's secrets (if any) replaced, then sanitised to one line."""
    text = hide_secrets(text, credentials)
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
        self._extra: list[str] = []

    def hide(self, secret: str) -> None:
        """Also hide ``secret`` (e.g. a digest response sent) from every later fact."""
        if secret:
            self._extra.append(secret)

    def add(self, key: str, value: object) -> None:
        """Record ``value`` (sanitised; empty values are dropped)."""
        if value is None:
            return
        text = value if isinstance(value, str | bytes) else str(value)
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="backslashreplace")
        # secrets hidden before cleaning: an escaped control inside one must not unhide it
        cleaned = clean_text(hide_secrets(text, self._credentials, tuple(self._extra))).strip()
        if cleaned:
            self._facts.append((clean_text(key, 120), cleaned))

    def get(self, key: str) -> str | None:
        """The first value under ``key``."""
        return next((value for name, value in self._facts if name == key), None)

    def freeze(self) -> tuple[tuple[str, str], ...]:
        """The facts as the attempt stores them."""
        return tuple(self._facts)
