"""The sockets of one fake device: HTTP, RTSP, SADP, DHIP, WS-Discovery, hostile ports.

Everything runs on one asyncio loop so a device can hold a trickling,
endless or silent connection open without starving its other ports, and so
a few dozen devices stay cheap.

Network rule: a device binds only to loopback or to the lab ranges
(10.66.0.0/24, fd66::/64) and joins multicast groups only when asked to *and*
bound to a lab address (inside a namespace the lab built).  On loopback the
discovery responders answer unicast probes sent to their port.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import hashlib
import ipaddress
import json
import secrets
import socket
import ssl
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from lab.devices import replies
from lab.devices.onvif import BuiltinOnvif, IpycamOnvif
from lab.devices.persona import Persona, Port, wire

LAB_NETS = (ipaddress.ip_network("10.66.0.0/24"), ipaddress.ip_network("fd66::/64"))
SADP_GROUP, WSD_GROUP, DHIP_GROUP = "239.255.255.250", "239.255.255.250", "239.255.255.251"
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
IDLE = 30.0  # seconds a well-behaved server waits for a request
HUGE_BYTES = 40 * 1024 * 1024
RTSP_PUBLIC = "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"


class Request(NamedTuple):
    """One HTTP/RTSP request as a device read it (tests check what a probe sent)."""

    protocol: str  # "http" (also behind TLS) or "rtsp"
    method: str
    target: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def path(self) -> str:
        """The target without an RTSP/HTTP scheme and host."""
        found = urlsplit(self.target)
        if not found.scheme:
            return self.target
        return (found.path or "/") + (f"?{found.query}" if found.query else "")


def check_bind(addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Refuse any address that is neither loopback nor in the lab ranges."""
    ip = ipaddress.ip_address(addr)
    if not (ip.is_loopback or any(ip in net for net in LAB_NETS)):
        raise ValueError(f"{addr} is neither loopback nor a lab address (10.66.0.0/24, fd66::/64)")
    return ip


class Device:
    """All servers of one persona on one address; ``start()`` returns the bound ports."""

    def __init__(
        self,
        persona: Persona,
        bind: str,
        ports: dict[str, int] | None = None,
        *,
        multicast: bool = False,
        gateway: str = "0.0.0.0",
    ) -> None:
        self.p = persona
        self.ip = check_bind(bind)
        self.bind = bind
        self.overrides = ports or {}
        if multicast and self.ip.is_loopback:
            raise ValueError("multicast is only for lab addresses inside a namespace, not loopback")
        self.multicast = multicast
        self.gateway = gateway
        self.bound: dict[str, int] = {}
        self._servers: list[asyncio.AbstractServer] = []
        self._transports: list[asyncio.BaseTransport] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.onvif: BuiltinOnvif | IpycamOnvif | None = None
        self.nonces: set[str] = set()
        self.requests: list[Request] = []  # every HTTP/RTSP request, in order
        self.certificates: dict[str, str] = {}  # https port name -> SHA-256 of its certificate

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> dict[str, int]:
        """Bind every port of the persona (port 0 = any free port)."""
        for port in self.p.ports:
            number = self.overrides.get(port.name, port.port)
            if port.proto == "tcp":
                await self._start_tcp(port, number)
            else:
                await self._start_udp(port, number)
        self._make_onvif()
        return dict(self.bound)

    async def stop(self) -> None:
        """Close listeners, datagram sockets and open connections."""
        for server in self._servers:
            server.close()
        for transport in self._transports:
            transport.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    def _make_onvif(self) -> None:
        engine = self.p.onvif.get("engine")
        http = self.bound.get("http")
        if not engine or http is None:
            return
        cls = IpycamOnvif if engine == "ipycam" else BuiltinOnvif
        self.onvif = cls(self.p, self.bind, http)

    async def _start_tcp(self, port: Port, number: int) -> None:
        family = socket.AF_INET6 if self.ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.bind, number))
        handler = self._tcp_handler(port)
        tls = self._tls(port.name) if port.serve == "https" else None

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            self._tasks.add(task)
            try:
                await handler(reader, writer)
            except (
                ConnectionError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
                asyncio.CancelledError,
            ):
                pass  # the peer left, or stop() cancelled the connection: both are normal ends
            finally:
                self._tasks.discard(task)
                if not writer.is_closing():
                    writer.close()

        server = await asyncio.start_server(on_connect, sock=sock, limit=MAX_HEAD, ssl=tls)
        self._servers.append(server)
        self.bound[port.name] = sock.getsockname()[1]

    def _tls(self, name: str) -> ssl.SSLContext:
        """A server context with a fresh self-signed certificate (its SHA-256 recorded)."""
        context, self.certificates[name] = self_signed(self.p.device_name or self.p.name)
        return context

    async def _start_udp(self, port: Port, number: int) -> None:
        family = socket.AF_INET6 if self.ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.multicast and self.ip.version == 4:
            # multicast datagrams only reach a socket bound to the wildcard (or
            # the group); the namespace holds this device alone, so that is fine
            sock.bind(("", number))
            group = {"sadp": SADP_GROUP, "wsd": WSD_GROUP, "dhip": DHIP_GROUP}[port.serve]
            mreq = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(self.bind))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        else:
            sock.bind((self.bind, number))
        answer = {"sadp": self._sadp, "dhip": self._dhip, "wsd": self._wsd}[port.serve]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(answer), sock=sock)
        self._transports.append(transport)
        self.bound[port.name] = sock.getsockname()[1]

    # ---------------------------------------------------------------- UDP answers

    def _sadp(self, data: bytes) -> bytes | None:
        probe = replies.sadp_parse_probe(data)
        if probe is None:
            return None
        reply = replies.sadp_probe_match(
            self.p,
            *probe,
            ip=self.bind,
            mask="255.255.255.0",
            gateway=self.gateway,
            http_port=self._advertised("http", 80),
            sdk_port=self._advertised("sdk", 8000),
        )
        if attack := self.p.hostile.get("xml"):
            reply = replies.xml_attack(reply, "ProbeMatch", attack, b"DeviceDescription")
        return reply

    def _dhip(self, data: bytes) -> bytes | None:
        request = replies.dhip_unframe(data)
        if request is None or request.get("method") != "DHDiscover.search":
            return None
        return replies.dhip_reply(
            self.p,
            ip=self.bind,
            mask="255.255.255.0",
            gateway=self.gateway,
            http_port=self._advertised("http", 80),
        )

    def _wsd(self, data: bytes) -> bytes | None:
        if not replies.wsd_is_probe(data):
            return None
        relates = replies.wsd_relates_to(data)
        if isinstance(self.onvif, IpycamOnvif):
            return self.onvif.probe_match(relates)
        host = f"[{self.bind}]" if self.ip.version == 6 else self.bind
        reply = replies.wsd_probe_match(
            self.p.onvif.get("wsd_style", "strict"),
            relates_to=relates,
            endpoint=self.p.onvif.get("endpoint", f"urn:uuid:{_uuid_for(self.p)}"),
            scopes=replies.wsd_scopes(self.p),
            xaddrs=f"http://{host}:{self._advertised('http', 80)}/onvif/device_service",
        )
        if attack := self.p.hostile.get("xml"):
            reply = replies.xml_attack(reply, "s:Envelope", attack, b"d:Scopes")
        return reply

    def _advertised(self, name: str, default: int) -> int:
        return self.bound.get(name, default)

    # ---------------------------------------------------------------- TCP

    def _tcp_handler(
        self, port: Port
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]:
        return {
            "http": self._http,
            "https": self._http,
            "rtsp": self._rtsp,
            "hold": _hold,
            "silent": _silent,
            "huge": self._huge,
            "endless": self._endless,
            "trickle": self._trickle,
            "reset": _reset,
            "flood_http": self._flood_http,
            "flood_rtsp": self._flood_rtsp,
        }[port.serve]

    def _headers(self, table: dict[str, Any] | Any) -> list[tuple[str, bytes]]:
        server = table.get("server", "")
        return [("Server", wire(server))] if server else []

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await self._read(reader, "http")
        if request is None:
            return
        method, target, headers, body = request
        if (raw := self._raw_route(target)) is not None:
            writer.write(raw)
            await writer.drain()
            return
        status, reason, extra, payload = self._route(method, target, headers, body)
        head = [*self._headers(self.p.http), ("Connection", b"close"), *extra]
        writer.write(replies.http_response(status, reason, head, payload))
        await writer.drain()

    async def _read(
        self, reader: asyncio.StreamReader, port: str
    ) -> tuple[str, str, dict[str, str], bytes] | None:
        """The next request on a connection, recorded in ``requests``."""
        request = await _read_request(reader)
        if request is not None:
            self.requests.append(Request(port, *request))
        return request

    def _raw_route(self, target: str) -> bytes | None:
        """A whole reply the persona gives verbatim for this path (crafted or hostile bytes)."""
        raw = self.p.http.get("routes", {}).get(Request("", "", target, {}, b"").path)
        return raw if isinstance(raw, bytes | None) else wire(raw)

    def _route(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, list[tuple[str, bytes]], bytes]:
        h = self.p.http
        url = urlsplit(target)
        path, query = url.path, parse_qs(url.query)
        endpoints = set(h.get("endpoints", []))
        html = [("Content-Type", b"text/html; charset=utf-8")]
        xml = [("Content-Type", b'application/xml; charset="UTF-8"')]
        if path.startswith("/onvif/") and method == "POST" and self.onvif is not None:
            status, reply = self.onvif.handle(body)
            return (
                status,
                "OK" if status == 200 else "Bad Request",
                [("Content-Type", b"application/soap+xml; charset=utf-8")],
                reply,
            )
        if path == "/":
            if redirect := h.get("root_redirect"):
                return 302, "Found", [("Location", redirect.encode())], b""
            return 200, "OK", html, replies.html_page(wire(h.get("title", "")))
        if path not in endpoints:
            if path.startswith(tuple(h.get("protected_prefixes", []))):
                return self._unauthorized()
            return 404, "Not Found", html, b"<html><body>404 Not Found</body></html>\n"
        if path in ("/doc/page/login.asp", "/login.htm"):
            return 200, "OK", html, replies.html_page(wire(h.get("title", "")))
        if path == "/ISAPI/Security/sessionLogin/capabilities":
            return (
                200,
                "OK",
                xml,
                replies.hik_session_capabilities(
                    self.p, secrets.token_hex(32), secrets.token_hex(16), secrets.token_hex(32)
                ),
            )
        if path == "/web_caps/webCapsConfig":
            caps = h.get("web_caps", {"SupportH5": True})
            return 200, "OK", [("Content-Type", b"application/json")], json.dumps(caps).encode()
        if path == "/RPC2_Login" and method == "POST":
            return 200, "OK", [("Content-Type", b"application/json")], self._rpc2_login(body)
        if not self._authorized(method, headers):
            return self._unauthorized()
        if path == "/ISAPI/System/deviceInfo":
            return 200, "OK", xml, replies.hik_device_info(self.p)
        if path == "/cgi-bin/magicBox.cgi":
            answer = replies.dahua_magicbox(self.p, query.get("action", [""])[0])
            if answer is None:
                return (
                    400,
                    "Bad Request",
                    [("Content-Type", b"text/plain")],
                    b"Error\r\nBad Request!\r\n",
                )
            return 200, "OK", [("Content-Type", b"text/plain;charset=utf-8")], answer
        if path == "/cgi-bin/configManager.cgi":  # Dahua settings: table.<name>.Enable=<value>
            name = query.get("name", [""])[0]
            if (value := h.get("config", {}).get(name)) is not None:
                body = f"table.{name}.Enable={value}\r\n".encode()
                return 200, "OK", [("Content-Type", b"text/plain")], body
        return 404, "Not Found", html, b"<html><body>404 Not Found</body></html>\n"

    def _realm(self) -> bytes:
        return wire(self.p.http.get("realm", ""))

    def _authorized(self, method: str, headers: dict[str, str]) -> bool:
        if not self.p.password:
            return True
        auth = replies.parse_digest(headers.get("authorization", ""))
        return bool(auth) and replies.digest_ok(
            auth, method, self.p.username, self._realm(), self.p.password
        )

    def _unauthorized(self) -> tuple[int, str, list[tuple[str, bytes]], bytes]:
        if self.p.http.get("auth") == "basic":
            challenge = replies.basic_challenge(self._realm())
        else:
            challenge = replies.digest_challenge(self._realm(), secrets.token_hex(16))
        return (
            401,
            "Unauthorized",
            [("WWW-Authenticate", challenge), ("Content-Type", b"text/html")],
            (b"<html><body>401 Unauthorized</body></html>\n"),
        )

    def _rpc2_login(self, body: bytes) -> bytes:
        try:
            request = json.loads(body)
            params = request.get("params") or {}
        except (ValueError, AttributeError):
            return b'{"error":{"code":287637505,"message":"Invalid request"},"result":false}'
        realm = replies.dahua_realm(self.p).decode("utf-8", "replace")
        if params.get("password") and params.get("random") in self.nonces:
            want = replies.dahua_rpc2_password_hash(
                self.p.username, self.p.password, realm, params["random"]
            )
            ok = params.get("userName") == self.p.username and params["password"] == want
            answer = {
                "id": request.get("id"),
                "params": None,
                "result": ok,
                "session": request.get("session"),
            }
            if not ok:
                answer["error"] = {"code": 268632085, "message": "Login failed"}
            return json.dumps(answer, separators=(",", ":")).encode()
        random = str(secrets.randbelow(10**9))
        self.nonces.add(random)
        return replies.dahua_rpc2_challenge(
            self.p, request_id=request.get("id"), session=secrets.token_hex(16), random=random
        )

    async def _rtsp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        r = self.p.rtsp
        while (request := await self._read(reader, "rtsp")) is not None:
            method, target, headers, _ = request
            head = [("CSeq", headers.get("cseq", "0").encode()), *self._headers(r)]
            realm = wire(r.get("realm", ""))
            if method == "OPTIONS":
                head.append(("Public", wire(r.get("public", RTSP_PUBLIC))))
                reply = replies.http_response(200, "OK", head, version=b"RTSP/1.0", length=-1)
            elif (
                method == "DESCRIBE"
                and self.p.password
                and not _rtsp_authorized(headers, self.p, realm)
            ):
                head.append(
                    ("WWW-Authenticate", replies.digest_challenge(realm, secrets.token_hex(16)))
                )
                reply = replies.http_response(
                    401, "Unauthorized", head, version=b"RTSP/1.0", length=-1
                )
            elif method == "DESCRIBE":
                sdp = (
                    f"v=0\r\no=- 1 1 IN IP4 {self.bind}\r\ns=Media Presentation\r\n"
                    "t=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                    "a=control:trackID=1\r\n"
                ).encode()
                head += [
                    ("Content-Type", b"application/sdp"),
                    ("Content-Base", f"{target.rstrip('/')}/".encode()),
                ]
                reply = replies.http_response(200, "OK", head, sdp, version=b"RTSP/1.0")
            else:
                reply = replies.http_response(
                    405, "Method Not Allowed", head, version=b"RTSP/1.0", length=-1
                )
            writer.write(reply)
            await writer.drain()

    async def _huge(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        head = [*self._headers(self.p.http), ("Content-Type", b"text/html")]
        writer.write(replies.http_response(200, "OK", head, length=HUGE_BYTES))
        chunk = b"A" * 65536
        for _ in range(HUGE_BYTES // len(chunk)):
            writer.write(chunk)
            await writer.drain()

    async def _endless(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        head = [
            *self._headers(self.p.http),
            ("Content-Type", b"text/html"),
            ("Connection", b"close"),
        ]
        writer.write(replies.http_response(200, "OK", head, length=-1) + b"<html><body>")
        chunk = b"<p>" + b"B" * 65536 + b"</p>\n"
        while True:
            writer.write(chunk)
            await writer.drain()

    def _flood_challenge(self) -> bytes:
        """``Digest`` and one unquoted token without ``=``: worst case for ``(\\w+)\\s*=``."""
        size = int(self.p.hostile.get("challenge_bytes", 32000))
        return b"Digest " + b"a" * max(0, size - len(b"Digest "))

    async def _flood_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """401 whose challenge and body are the backtracking worst cases, within the caps."""
        while await _read_request(reader) is not None:
            size = int(self.p.hostile.get("body_bytes", 262144))
            body = (b"<title>" * (size // 7 + 1))[:size]
            head = [("WWW-Authenticate", self._flood_challenge()), ("Content-Type", b"text/html")]
            writer.write(replies.http_response(401, "Unauthorized", head, body))
            await writer.drain()

    async def _flood_rtsp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """RTSP 401 to every request, with the worst-case challenge."""
        while (request := await _read_request(reader)) is not None:
            _, _, headers, _ = request
            head = [
                ("CSeq", headers.get("cseq", "0").encode()),
                ("WWW-Authenticate", self._flood_challenge()),
            ]
            reply = replies.http_response(401, "Unauthorized", head, version=b"RTSP/1.0", length=-1)
            writer.write(reply)
            await writer.drain()

    async def _trickle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One byte a second, forever: a status line, then header lines that never end."""
        del reader  # sends without waiting: nmap's NULL probe and HTTP clients both hang on it
        server = self._headers(self.p.http)
        text = b"HTTP/1.1 200 OK\r\n" + (b"Server: " + server[0][1] + b"\r\n" if server else b"")
        index = 0
        while True:
            byte = (
                text[index : index + 1]
                if index < len(text)
                else b"X-Pad: slow\r\n"[(index - len(text)) % 13 : (index - len(text)) % 13 + 1]
            )
            writer.write(byte)
            await writer.drain()
            index += 1
            await asyncio.sleep(float(self.p.hostile.get("trickle_interval", 1.0)))


class _Udp(asyncio.DatagramProtocol):
    """Answers each datagram with ``answer(data)`` (nothing when it returns None)."""

    def __init__(self, answer: Callable[[bytes], bytes | None]) -> None:
        self.answer = answer
        self.transport: Any = None  # the selector datagram transport (no public class)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        reply = self.answer(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)  # unicast back to the asker


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[str, str], bytes] | None:
    """One HTTP/RTSP request (head + Content-Length body), or None at EOF/idle."""
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE)
    except (asyncio.IncompleteReadError, TimeoutError, asyncio.LimitOverrunError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 3:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    length = min(int(headers.get("content-length", "0") or 0), MAX_BODY)
    body = await asyncio.wait_for(reader.readexactly(length), IDLE) if length else b""
    return parts[0], parts[1], headers, body


def _rtsp_authorized(headers: dict[str, str], p: Persona, realm: bytes) -> bool:
    auth = replies.parse_digest(headers.get("authorization", ""))
    return bool(auth) and replies.digest_ok(auth, "DESCRIBE", p.username, realm, p.password)


async def _hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An open port speaking a binary protocol we do not emulate (SDK 8000, DVRIP 37777)."""
    del writer
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(reader.read(4096), 5)


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never answer; read (and drop) whatever comes until the peer leaves."""
    del writer
    while await reader.read(65536):
        pass


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """RST on accept: SO_LINGER 0 then close."""
    del reader
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _uuid_for(p: Persona) -> str:
    h = hashlib.md5(p.serial.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def self_signed(name: str) -> tuple[ssl.SSLContext, str]:
    """A TLS server context with a fresh self-signed EC certificate, and its SHA-256 (hex)."""
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
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:  # load_cert_chain reads files only
        cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context.load_cert_chain(cert_file, key_file)
    der = cert.public_bytes(serialization.Encoding.DER)
    return context, hashlib.sha256(der).hexdigest()
