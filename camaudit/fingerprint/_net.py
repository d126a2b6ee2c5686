"""Bounded conversations with untrusted devices over raw sockets.

A plain socket timeout restarts on every byte, so a device that trickles one byte a
second would hold a reader for ever. Everything here runs non-blocking against one
:class:`Deadline` for the whole exchange (connect, TLS handshake, request, reply) and
stops reading at a byte cap, so a huge, endless or trickling reply ends on time.
Only IP literals are accepted: no name is ever resolved.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import ipaddress
import selectors
import socket
import ssl
import time
from dataclasses import dataclass

from camaudit.sanitize import clean_text

__all__ = [
    "MAX_HEADER_BYTES",
    "MAX_REPLY_BYTES",
    "Deadline",
    "DeadlineExceeded",
    "NotAReply",
    "PortClosed",
    "Reply",
    "ReplyTooLarge",
    "UnsafeXml",
    "certificate_sha256",
    "exchange",
]

MAX_REPLY_BYTES = 256 * 1024
MAX_HEADER_BYTES = 32 * 1024


class DeadlineExceeded(TimeoutError):
    """The exchange's deadline passed before it completed."""


class PortClosed(ConnectionRefusedError):
    """The device refused the connection: nothing listens on the port."""


class NotAReply(ValueError):
    """The device answered, but not in the protocol spoken to it."""


class UnsafeXml(ValueError):
    """A device reply carried a DTD or entity declarations; it was not parsed."""


class ReplyTooLarge(ValueError):
    """The reply went over the byte cap (raised only where a cut reply is useless)."""


class Deadline:
    """A point in time that a whole exchange must finish by."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + max(0.0, seconds)

    def remaining(self) -> float:
        """Seconds left; at most 0 once passed."""
        return self.end - time.monotonic()

    def check(self) -> float:
        """Seconds left; raises :class:`DeadlineExceeded` once passed."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded("no reply within the time limit")
        return left


@dataclass(frozen=True)
class Reply:
    """A parsed HTTP or RTSP reply; header values are raw (latin-1), not yet sanitised."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    truncated: bool  # the byte cap was reached: the body is a prefix
    tls_subject: str | None = None
    tls_sha256: str | None = None  # SHA-256 of the leaf certificate's DER, lower-case hex

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def _tls_context() -> ssl.SSLContext:
    # Cameras ship self-signed certificates: the point is to read the device, not trust it.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1  # old firmware speaks TLS 1.0
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def certificate_subject(der: bytes | None) -> str | None:
    """The subject of a DER certificate as ``CN=...,O=...``; ``None`` if it cannot be read."""
    if not der:
        return None
    try:
        from cryptography import x509

        return clean_text(x509.load_der_x509_certificate(der).subject.rfc4514_string())
    except Exception:  # optional detail: an unreadable certificate is not an error
        return None


class _Connection:
    """A non-blocking socket (optionally TLS) whose every wait is bounded by the deadline."""

    def __init__(self, host: str, port: int, deadline: Deadline, tls: bool) -> None:
        address = ipaddress.ip_address(host)  # ValueError for a name: never resolve
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        self.deadline = deadline
        self.selector = selectors.DefaultSelector()
        self.sock: socket.socket = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.tls_subject: str | None = None
        self.tls_sha256: str | None = None
        try:
            self._connect(str(address), port)
            if tls:
                self._handshake()
        except BaseException:
            self.close()
            raise

    def _wait(self, events: int) -> None:
        left = self.deadline.check()
        self.selector.register(self.sock, events)
        try:
            ready = self.selector.select(left)
        finally:
            self.selector.unregister(self.sock)
        if not ready:
            raise DeadlineExceeded("no reply within the time limit")

    def _connect(self, host: str, port: int) -> None:
        code = self.sock.connect_ex((host, port))
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self._raise_connect_error(code)
        self._wait(selectors.EVENT_WRITE)
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._raise_connect_error(code)

    @staticmethod
    def _raise_connect_error(code: int) -> None:
        if code == errno.ECONNREFUSED:
            raise PortClosed("connection refused")
        raise OSError(code, errno.errorcode.get(code, "connect failed"))

    def _handshake(self) -> None:
        wrapped = _tls_context().wrap_socket(self.sock, do_handshake_on_connect=False)
        self.sock = wrapped
        while True:
            try:
                wrapped.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._wait(selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                self._wait(selectors.EVENT_WRITE)
        der = wrapped.getpeercert(binary_form=True)
        self.tls_subject = certificate_subject(der)
        self.tls_sha256 = hashlib.sha256(der).hexdigest() if der else None

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
                view = view[sent:]
            except (BlockingIOError, ssl.SSLWantWriteError):
                self._wait(selectors.EVENT_WRITE)
            except ssl.SSLWantReadError:
                self._wait(selectors.EVENT_READ)

    def recv(self, size: int = 65536) -> bytes:
        """Up to ``size`` bytes; ``b""`` when the peer closed."""
        while True:
            try:
                return self.sock.recv(size)
            except (BlockingIOError, ssl.SSLWantReadError):
                self._wait(selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                self._wait(selectors.EVENT_WRITE)
            except ssl.SSLZeroReturnError:
                return b""

    def close(self) -> None:
        self.selector.close()
        with contextlib.suppress(OSError):
            self.sock.close()


def certificate_sha256(host: str, port: int, deadline: Deadline) -> str | None:
    """The SHA-256 of the leaf certificate ``host:port`` presents (a TLS handshake, nothing sent).

    Raises like :func:`exchange` when nothing answers; used to check a pinned certificate
    before any credential goes to the device.
    """
    connection = _Connection(host, port, deadline, tls=True)
    try:
        return connection.tls_sha256
    finally:
        connection.close()


# invalid UTF-8 stays visible as \xNN text; clean_text later escapes the controls
_DECODE = ("utf-8", "backslashreplace")


def _status_line(line: bytes, protocol: bytes) -> tuple[int, bytes] | None:
    """``(status, reason)`` of ``PROTO/d[.d] NNN [reason]``; split, never a backtracking regex."""
    parts = line.split(None, 2)
    if len(parts) < 2:
        return None
    name, _, version = parts[0].partition(b"/")
    digits = version.split(b".")
    if (
        name != protocol
        or not 1 <= len(digits) <= 2
        or not all(len(d) == 1 and d.isdigit() for d in digits)
    ):
        return None
    if len(parts[1]) != 3 or not parts[1].isdigit():
        return None
    reason = parts[2] if len(parts) == 3 else b""
    if b"\r" in reason or b"\n" in reason:
        return None
    return int(parts[1]), reason


def _parse_head(head: bytes, protocol: bytes) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    lines = head.split(b"\r\n") if b"\r\n" in head else head.split(b"\n")
    parsed = _status_line(lines[0].strip(), protocol)
    if parsed is None:
        raise NotAReply(f"not a {protocol.decode()} reply: {clean_text(lines[0], 80)!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip():
            headers.append((name.strip().decode(*_DECODE), value.strip().decode(*_DECODE)))
    status, reason = parsed
    return status, reason.decode(*_DECODE), tuple(headers)


def _dechunk(data: bytes) -> bytes:
    """Best-effort chunked decoding of a (possibly cut) body."""
    out = bytearray()
    rest = data
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        try:
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
        except ValueError:
            return data  # not chunked after all: keep what came
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2 :]
    return bytes(out)


def _body_complete(body: bytes, length: int | None, chunked: bool) -> bool:
    if length is not None:
        return len(body) >= length
    if chunked:
        return body.endswith(b"0\r\n\r\n") or b"\r\n0\r\n\r\n" in body
    return False


def exchange(
    host: str,
    port: int,
    request: bytes,
    deadline: Deadline,
    *,
    protocol: bytes = b"HTTP",
    tls: bool = False,
    max_bytes: int = MAX_REPLY_BYTES,
    head_only: bool = False,
) -> Reply:
    """Send ``request`` and read one reply, all within ``deadline`` and ``max_bytes``.

    Raises :class:`PortClosed`, :class:`DeadlineExceeded`, :class:`NotAReply` or
    :class:`OSError` (reset ...); a reply over the cap is returned cut, ``truncated`` set.
    """
    connection = _Connection(host, port, deadline, tls)
    try:
        connection.send(request)
        buffer = b""
        while b"\r\n\r\n" not in buffer and b"\n\n" not in buffer:
            chunk = connection.recv()
            if not chunk:
                if not buffer:
                    raise ConnectionError("closed without a reply")
                break
            buffer += chunk
            complete = b"\r\n\r\n" in buffer or b"\n\n" in buffer
            if len(buffer) > MAX_HEADER_BYTES and not complete:
                if not buffer.startswith(protocol + b"/"):
                    raise NotAReply(f"not a {protocol.decode()} reply: {clean_text(buffer, 80)!r}")
                raise NotAReply(f"reply headers larger than {MAX_HEADER_BYTES} bytes")
        separator = b"\r\n\r\n" if b"\r\n\r\n" in buffer else b"\n\n"
        head, _, body = buffer.partition(separator)
        status, reason, headers = _parse_head(head, protocol)
        peer = connection.tls_subject, connection.tls_sha256
        reply = Reply(status, reason, headers, b"", False, *peer)
        length_text = reply.header("Content-Length")
        # ASCII digits only: str.isdigit() takes "²" and strip() takes "\x1d", int() neither
        digits = (length_text or "").strip(" \t")
        length = int(digits) if digits.isascii() and digits.isdigit() else None
        chunked = "chunked" in (reply.header("Transfer-Encoding") or "").lower()
        # RFC 2326 12.14: an RTSP message without Content-Length has no body (unlike HTTP,
        # where the body runs to the close); reading on would burn the whole deadline.
        no_body = protocol == b"RTSP" and length is None
        if head_only or no_body or status in (204, 304) or length == 0:
            return reply
        truncated = False
        while not _body_complete(body, length, chunked):
            if len(body) >= max_bytes:
                truncated = True
                break
            try:
                chunk = connection.recv()
            except (DeadlineExceeded, ConnectionError):
                # the head is already evidence: keep it and what came of the body
                truncated = True
                break
            if not chunk:
                break
            body += chunk
        body = body[:max_bytes] if length is None or length > max_bytes else body[:length]
        truncated = truncated or (length is not None and length > max_bytes)
        if chunked:
            body = _dechunk(body)
        return Reply(status, reason, headers, body, truncated, *peer)
    finally:
        connection.close()
