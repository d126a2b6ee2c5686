"""HTTP and HTTPS probe: banner, realm, title and the vendors' read-only endpoints.

Unauthenticated requests only, unless the user gave credentials; then the endpoints the
signatures mark ``auth = true`` are asked with HTTP digest; Basic (which hands the password
itself to whoever answers, TLS here verifying nothing) only when the user allowed it.
Which endpoints exist and what their fields mean is data
(:mod:`camaudit.knowledge.signatures`). XML is parsed only with defusedxml, with DTDs
refused. One deadline bounds the whole probe.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from camaudit.attempt import AttemptStatus, Facts
from camaudit.fingerprint._attempt import (
    completed_attempt,
    describe,
    facts_for,
    failed_attempt,
    scrub,
)
from camaudit.fingerprint._net import Deadline, DeadlineExceeded, Reply, exchange
from camaudit.fingerprint.interface import Credentials, Probe, ProbeAttempt, ProbeTarget
from camaudit.knowledge import given_or_default
from camaudit.knowledge.signatures import Endpoint, Signatures

__all__ = [
    "HttpProbe",
    "digest_authorization",
    "find_title",
    "has_controls",
    "parse_challenge",
    "preferred_challenge",
]

USER_AGENT = "camaudit-fingerprint"
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def find_title(body: bytes) -> bytes | None:
    """The text between the first ``<title ...>`` and the next ``</title``, if both exist.

    Three ``find`` calls, so linear in the body: a backtracking regex took minutes on a
    256 KiB body of repeated ``<title>``. Same result as the first match of
    ``<title[^>]*>(.*?)</title`` (case-insensitive): when the first opening tag has no
    closing tag after it, no later one has either.
    """
    low = body.lower()
    start = low.find(b"<title")
    if start < 0:
        return None
    opened = low.find(b">", start)
    if opened < 0:
        return None
    end = low.find(b"</title", opened + 1)
    return None if end < 0 else body[opened + 1 : end]


def _token_end(text: str, start: int, stop: frozenset[str] | None = None) -> int:
    """Index after the run from ``start`` of token characters (or of characters not in ``stop``)."""
    index = start
    while index < len(text) and (
        text[index] in _TOKEN_CHARS if stop is None else text[index] not in stop
    ):
        index += 1
    return index


_VALUE_STOP = frozenset(" \t\r\n\x0b\x0c,")


def _quoted_end(text: str, start: int) -> int:
    """Index of the closing quote of a quoted string opening at ``start``; -1 if none."""
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == '"':
            return index
        index += 2 if char == "\\" else 1
    return -1


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``(scheme, params)`` of a ``WWW-Authenticate`` value (scheme lower-cased).

    One left-to-right pass with no backtracking (a regex took 14 s on a 32 KiB hostile
    header). Once a quoted value runs to the end unclosed, later quotes are read
    as plain tokens, so the scan stays linear whatever the device sends.
    """
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    quotes_close = True
    index = 0
    while index < len(rest):
        if rest[index] not in _TOKEN_CHARS:
            index += 1
            continue
        name_end = _token_end(rest, index)
        name = rest[index:name_end]
        cursor = name_end
        while cursor < len(rest) and rest[cursor].isspace():
            cursor += 1
        if cursor >= len(rest) or rest[cursor] != "=":
            index = name_end
            continue
        cursor += 1
        while cursor < len(rest) and rest[cursor].isspace():
            cursor += 1
        closing = (
            _quoted_end(rest, cursor) if quotes_close and rest[cursor : cursor + 1] == '"' else -1
        )
        if rest[cursor : cursor + 1] == '"' and closing < 0:
            quotes_close = False
        if closing >= 0:
            params[name.lower()] = rest[cursor + 1 : closing]
            index = closing + 1
            continue
        value_end = _token_end(rest, cursor, _VALUE_STOP)
        if value_end > cursor:
            params[name.lower()] = rest[cursor:value_end]
        index = max(value_end, name_end)
    return scheme.lower(), params


def preferred_challenge(values: list[str]) -> tuple[str, dict[str, str]]:
    """The challenge to answer among a reply's ``WWW-Authenticate`` values: Digest first."""
    parsed = [parse_challenge(value) for value in values]
    digest = [challenge for challenge in parsed if challenge[0] == "digest"]
    return (digest or parsed or [("", {})])[0]


def has_controls(params: dict[str, str]) -> bool:
    """True when a parameter holds a control character (CR/LF would forge header lines)."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for v in params.values() for c in v)


def digest_authorization(
    challenge: dict[str, str], credentials: Credentials, method: str, uri: str
) -> str:
    """An RFC 7616 ``Authorization: Digest`` value (MD5, MD5-sess or SHA-256; qop auth).

    Raises :class:`ValueError` for a challenge with control characters: a bare CR or LF
    copied into the header would let the device forge request lines.
    """
    if has_controls(challenge):
        raise ValueError("challenge with control characters")
    algorithm = challenge.get("algorithm", "MD5")
    hash_name = "sha256" if algorithm.upper().startswith("SHA-256") else "md5"

    def h(text: str) -> str:
        return hashlib.new(hash_name, text.encode("utf-8"), usedforsecurity=False).hexdigest()

    realm, nonce = challenge.get("realm", ""), challenge.get("nonce", "")
    cnonce = os.urandom(8).hex()
    ha1 = h(f"{credentials.username}:{realm}:{credentials.password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
    parts = [
        f'username="{credentials.username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f"algorithm={algorithm}",
    ]
    if "auth" in qops:
        response = h(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        parts += ["qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
    else:
        response = h(f"{ha1}:{nonce}:{ha2}")
    parts.append(f'response="{response}"')
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_facts(path: str, body: bytes, fields: dict[str, str], facts: Facts) -> None:
    try:
        root = safe_xml.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        facts.add(f"endpoint_error:{path}", f"XML refused: {type(exc).__name__}")
        return
    except Exception as exc:  # malformed XML from a device is a fact, not a crash
        facts.add(f"endpoint_error:{path}", f"XML unreadable: {type(exc).__name__}")
        return
    facts.add(f"xml_root:{path}", _local(root.tag))
    for element in root.iter():
        key = fields.get(_local(element.tag))
        if key and element.text and element.text.strip():
            facts.add(key, element.text.strip())


def _json_facts(path: str, body: bytes, fields: dict[str, str], facts: Facts) -> None:
    try:
        document: Any = json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError) as exc:
        facts.add(f"endpoint_error:{path}", f"JSON unreadable: {type(exc).__name__}")
        return
    for dotted, key in fields.items():
        node = document
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str | int | float | bool):
            facts.add(key, str(node))


def _keyvalue_facts(body: bytes, fields: dict[str, str], facts: Facts) -> None:
    for line in body.decode("utf-8", errors="backslashreplace").splitlines():
        name, sep, value = line.partition("=")
        key = fields.get(name.strip())
        if sep and key:
            facts.add(key, value.strip())


_PARSERS: dict[str, Callable[[str, bytes, dict[str, str], Facts], None]] = {
    "xml": _xml_facts,
    "json": _json_facts,
    "keyvalue": lambda _path, body, fields, facts: _keyvalue_facts(body, fields, facts),
}


class HttpProbe(Probe):
    """Reads what a web server says about itself; ``tls`` for HTTPS."""

    def __init__(self, tls: bool = False, signatures: Signatures | None = None) -> None:
        self.tls = tls
        self.name = "https" if tls else "http"
        self._signatures = signatures

    def _request(
        self,
        target: ProbeTarget,
        deadline: Deadline,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str = "",
        authorization: str | None = None,
    ) -> Reply:
        host = f"[{target.host}]" if ":" in target.host else target.host
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}:{target.port}",
            f"User-Agent: {USER_AGENT}",
            "Accept: */*",
            "Connection: close",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        if body or method == "POST":
            lines += [
                f"Content-Type: {content_type or 'application/octet-stream'}",
                f"Content-Length: {len(body)}",
            ]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        return exchange(target.host, target.port, request, deadline, tls=self.tls)

    def _authenticated(
        self, target: ProbeTarget, deadline: Deadline, endpoint: Endpoint, facts: Facts
    ) -> Reply | None:
        credentials = target.credentials
        assert credentials is not None
        first = self._request(target, deadline, endpoint.method, endpoint.path)
        if first.status != 401:
            return first
        challenges = [v for k, v in first.headers if k.lower() == "www-authenticate"]
        scheme, params = preferred_challenge(challenges)
        value: str | None = None
        if has_controls(params):
            refusal = "challenge refused: control characters in its parameters"
        elif scheme == "digest":
            value = digest_authorization(params, credentials, endpoint.method, endpoint.path)
            facts.hide(value.rsplit('response="', 1)[-1].split('"', 1)[0])
        elif scheme == "basic" and credentials.allow_basic:
            token = f"{credentials.username}:{credentials.password}".encode()
            value = "Basic " + base64.b64encode(token).decode("ascii")
        elif scheme == "basic":
            refusal = "basic authentication not allowed (it hands over the password; "
            refusal += "see --allow-basic-auth)"
        else:
            refusal = f"{scheme or 'no'} authentication is not supported"
        if value is None:
            facts.add(f"endpoint_error:{endpoint.path}", f"credentials not sent: {refusal}")
            return first
        return self._request(target, deadline, endpoint.method, endpoint.path, authorization=value)

    def _endpoint(
        self, target: ProbeTarget, deadline: Deadline, endpoint: Endpoint, facts: Facts
    ) -> None:
        try:
            if endpoint.auth:
                reply = self._authenticated(target, deadline, endpoint, facts)
            else:
                reply = self._request(
                    target,
                    deadline,
                    endpoint.method,
                    endpoint.path,
                    endpoint.body.encode("utf-8"),
                    endpoint.content_type,
                )
        except Exception as exc:  # one endpoint failing never ends the probe
            facts.add(
                f"endpoint:{endpoint.path}",
                "timed_out" if isinstance(exc, DeadlineExceeded) else "error",
            )
            facts.add(f"endpoint_error:{endpoint.path}", describe(exc, target.credentials))
            return
        if reply is None:
            return
        facts.add(f"endpoint:{endpoint.path}", reply.status)
        parser = _PARSERS.get(endpoint.parse)
        if parser is not None and reply.status == 200 and reply.body:
            if deadline.remaining() <= 0:  # the deadline bounds parsing too
                facts.add(f"endpoint_error:{endpoint.path}", "not parsed: time limit")
                return
            parser(endpoint.path, reply.body, dict(endpoint.fields), facts)

    def _root_facts(self, reply: Reply, facts: Facts) -> None:
        facts.add("endpoint:/", reply.status)
        facts.add("server", reply.header("Server"))
        challenge = reply.header("WWW-Authenticate")
        if challenge:
            scheme, params = parse_challenge(challenge)
            facts.add("auth_scheme", scheme)
            facts.add("realm", params.get("realm"))
        facts.add("location", reply.header("Location"))
        title = find_title(reply.body)
        if title is not None:
            facts.add("title", " ".join(title.decode("utf-8", "backslashreplace").split()))
        facts.add("tls_subject", reply.tls_subject)
        facts.add("tls_sha256", reply.tls_sha256)
        if reply.truncated:
            facts.add("reply_truncated:/", "yes")

    def run(self, target: ProbeTarget) -> ProbeAttempt:
        """GET /, then each endpoint of the signatures, all within ``target.timeout``."""
        started = time.monotonic()
        probe = f"{self.name}:{target.port}"
        deadline = Deadline(target.timeout)
        facts = facts_for(target.credentials)
        try:
            signatures = self._signatures or given_or_default(None).signatures
            root = self._request(target, deadline, "GET", "/")
        except Exception as exc:  # no conversation at all: the attempt says why
            return failed_attempt(probe, target.host, exc, started, target.credentials)
        try:
            self._root_facts(root, facts)
            for endpoint in signatures.endpoints:
                if endpoint.auth and target.credentials is None:
                    continue
                if deadline.remaining() <= 0:
                    facts.add(f"endpoint:{endpoint.path}", "skipped: time limit")
                    continue
                self._endpoint(target, deadline, endpoint, facts)
        except Exception as exc:  # a bug here must not end the scan either
            return ProbeAttempt(
                probe,
                target.host,
                AttemptStatus.ERROR,
                facts.items(),
                scrub(describe(exc), target.credentials),
                time.monotonic() - started,
            )
        return completed_attempt(probe, target.host, facts.items(), started)
