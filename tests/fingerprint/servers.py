"""Small servers on 127.0.0.1 that answer like the recorded devices, or misbehave on purpose.

A :class:`DeviceServer` reads one request per connection and hands it to a behaviour:
a routing table of canned replies (HTTP, RTSP or SOAP), or one of the hostile
behaviours (huge, endless, trickle, silent, reset). Everything stops on ``close()``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import re
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Request:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The path, without an RTSP/HTTP scheme and host."""
        found = re.match(r"^[a-z]+://[^/]+(/.*)?$", self.target)
        return (found.group(1) or "/") if found else self.target


Behaviour = Callable[[socket.socket, Request, threading.Event], None]


def reply(
    status: str, headers: dict[str, str] | None = None, body: bytes = b"", proto: str = "HTTP/1.1"
) -> bytes:
    """A complete reply with a Content-Length."""
    lines = [f"{proto} {status}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target = lines[0].split(" ")[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, target, headers, body)


@dataclass
class DeviceServer:
    """A threaded TCP server on 127.0.0.1; ``behaviour`` answers each connection."""

    behaviour: Behaviour
    read_request: bool = True
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    tls: ssl.SSLContext | None = None  # serve HTTPS with this (server-side) context

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((LOOPBACK, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            worker = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn.settimeout(5)
                conn = self.tls.wrap_socket(conn, server_side=True)
            request = _read_request(conn) if self.read_request else Request("", "", {}, b"")
            if request is not None:
                self.requests.append(request)
                self.behaviour(conn, request, self._stop)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        """Stop accepting and end every behaviour."""
        self._stop.set()
        self._sock.close()
        self._accept.join(2)
        for worker in self._threads:
            worker.join(2)

    def __enter__(self) -> DeviceServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- behaviours ------------------------------------------------------------------------------

Route = Callable[[Request], bytes]


def routes(table: dict[str, bytes | Route], default: bytes | None = None) -> Behaviour:
    """Answer by path (query included); unknown paths get ``default`` or a 404."""
    missing = default if default is not None else reply("404 Not Found", body=b"not found")

    def behave(conn: socket.socket, request: Request, stop: threading.Event) -> None:
        answer = table.get(request.path, missing)
        conn.sendall(answer(request) if callable(answer) else answer)

    return behave


def huge(size: int = 8 * 1024 * 1024) -> Behaviour:
    """A 200 reply announcing and sending ``size`` bytes."""

    def behave(conn: socket.socket, request: Request, stop: threading.Event) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        block = b"A" * 65536
        sent = 0
        while sent < size and not stop.is_set():
            conn.sendall(block)
            sent += len(block)

    return behave


def endless(prefix: bytes = b"HTTP/1.1 200 OK\r\nServer: endless\r\n\r\n") -> Behaviour:
    """A reply with no length that never ends (until the client goes away)."""

    def behave(conn: socket.socket, request: Request, stop: threading.Event) -> None:
        conn.sendall(prefix)
        while not stop.is_set():
            conn.sendall(b"<p>more</p>" * 1024)

    return behave


def trickle(
    data: bytes = b"HTTP/1.1 200 OK\r\nServer: slow\r\n\r\n", every: float = 1.0
) -> Behaviour:
    """One byte every ``every`` seconds, for ever (the reply head never completes in time)."""

    def behave(conn: socket.socket, request: Request, stop: threading.Event) -> None:
        index = 0
        while not stop.wait(every):
            conn.sendall(data[index % len(data) : index % len(data) + 1])
            index += 1

    return behave


def silent() -> Behaviour:
    """Accept, read, never answer."""

    def behave(conn: socket.socket, request: Request, stop: threading.Event) -> None:
        stop.wait(60)

    return behave


def reset() -> Behaviour:
    """Close every connection with a TCP reset."""

    def behave(conn: socket.socket, request: Request, stop: threading.Event) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    return behave


# -- digest authentication on the server side ------------------------------------------------


def digest_challenge(realm: str, nonce: str = "0a4f113b", proto: str = "HTTP/1.1") -> bytes:
    """A 401 asking for digest authentication."""
    header = f'Digest realm="{realm}", qop="auth", nonce="{nonce}", opaque="5ccc069c"'
    return reply("401 Unauthorized", {"WWW-Authenticate": header}, b"", proto)


def digest_ok(request: Request, username: str, password: str) -> bool:
    """Whether the request's digest response is right for ``username``/``password``."""
    header = request.headers.get("authorization", "")
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', header.partition(" ")[2]))
    if not header.startswith("Digest ") or params.get("username") != username:
        return False

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1 = md5(f"{username}:{params['realm']}:{password}")
    ha2 = md5(f"{request.method}:{params['uri']}")
    expected = md5(f"{ha1}:{params['nonce']}:{params['nc']}:{params['cnonce']}:auth:{ha2}")
    return params.get("response") == expected


def with_digest(realm: str, username: str, password: str, answer: bytes) -> Route:
    """A route that answers ``answer`` only to a correct digest response."""

    def route(request: Request) -> bytes:
        if digest_ok(request, username, password):
            return answer
        return digest_challenge(realm)

    return route


def self_signed_tls(directory: Path, name: str = "camera") -> tuple[ssl.SSLContext, str]:
    """A server context with a fresh self-signed certificate, and that certificate's SHA-256."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    der = cert.public_bytes(serialization.Encoding.DER)
    return context, hashlib.sha256(der).hexdigest()


def wait_until(predicate: Callable[[], bool], seconds: float = 2.0) -> bool:
    """Poll ``predicate`` until true or ``seconds`` pass."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
