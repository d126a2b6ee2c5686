"""What every probe shares: facts that hide the user's secrets, exceptions turned into attempts."""

from __future__ import annotations

import base64
import ssl
import time

from camaudit.attempt import AttemptStatus, Facts, hide_secrets
from camaudit.fingerprint._net import (
    DeadlineExceeded,
    NotAReply,
    PortClosed,
    ReplyTooLarge,
    UnsafeXml,
)
from camaudit.fingerprint.interface import Credentials, ProbeAttempt
from camaudit.sanitize import clean_text

__all__ = [
    "completed_attempt",
    "describe",
    "facts_for",
    "failed_attempt",
    "scrub",
    "secret_forms",
    "status_of",
]


def secret_forms(credentials: Credentials | None) -> tuple[str, ...]:
    """Every form of the password that a device could echo back: itself and the Basic token."""
    if credentials is None or not credentials.password:
        return ()
    token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode())
    unpadded = token.decode("ascii").rstrip("=")
    return tuple(sorted({credentials.password, unpadded}, key=len, reverse=True))


def facts_for(credentials: Credentials | None) -> Facts:
    """An empty fact list that hides the user's secrets."""
    return Facts(secret_forms(credentials))


def scrub(text: str, credentials: Credentials | None) -> str:
    """``text`` with the user's secrets (if any) replaced, then sanitised to one line."""
    text = hide_secrets(text, secret_forms(credentials))
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


def status_of(exc: BaseException) -> AttemptStatus:
    """The attempt status an exception stands for."""
    if isinstance(exc, PortClosed):
        return AttemptStatus.NOT_APPLICABLE
    if isinstance(exc, DeadlineExceeded | TimeoutError):
        return AttemptStatus.TIMED_OUT
    return AttemptStatus.ERROR


def completed_attempt(
    probe: str, host: str, facts: tuple[tuple[str, str], ...], started: float
) -> ProbeAttempt:
    """The attempt for a probe that ran its conversation to the end."""
    return ProbeAttempt(
        probe, host, AttemptStatus.COMPLETED, facts, None, time.monotonic() - started
    )


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
