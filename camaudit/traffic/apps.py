"""The few payloads whose content matters, decoded with well-kept parsers.

DNS goes through dnspython; TLS ClientHello, HTTP requests and NTP through
scapy's layers (imported on first use: importing scapy costs about a second).
Every parser is wrapped: a malformed or hostile payload yields ``None``, never
an exception, and every string that leaves here is sanitised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import Any

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from camaudit.sanitize import clean_name, clean_text

_HTTP_METHODS = (
    b"GET ",
    b"POST ",
    b"PUT ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
)


@dataclass(frozen=True)
class DnsMessage:
    """What one DNS packet says."""

    ident: int
    is_response: bool
    questions: tuple[tuple[str, str], ...]  # (name, qtype)
    rcode: str
    answers: tuple[tuple[str, str, str], ...]  # (owner name, type, value)


def parse_dns(payload: bytes) -> DnsMessage | None:
    """Decode a DNS message, or ``None`` if it is not one (or is cut short)."""
    if len(payload) < 12:
        return None
    # Devices repeat the same questions with new IDs: decode each distinct body once.
    body = _parse_dns_body(payload[2:])
    if body is None:
        return None
    return replace(body, ident=int.from_bytes(payload[:2], "big"))


@lru_cache(maxsize=4096)
def _parse_dns_body(body: bytes) -> DnsMessage | None:
    try:
        msg = dns.message.from_wire(b"\0\0" + body, ignore_trailing=True, one_rr_per_rrset=True)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError):
        return None
    questions = tuple(
        (clean_name(q.name.to_text()), dns.rdatatype.to_text(q.rdtype)) for q in msg.question
    )
    answers: list[tuple[str, str, str]] = []
    for rrset in msg.answer:
        kind = dns.rdatatype.to_text(rrset.rdtype)
        for rdata in rrset:
            value = clean_text(rdata.to_text()).rstrip(".")
            answers.append((clean_name(rrset.name.to_text()), kind, value))
    return DnsMessage(
        ident=msg.id,
        is_response=bool(msg.flags & 0x8000),
        questions=questions,
        rcode=dns.rcode.to_text(msg.rcode()),
        answers=tuple(answers),
    )


def tls_record_length(payload: bytes) -> int | None:
    """Total length of the TLS handshake record ``payload`` starts, if it starts one."""
    if len(payload) >= 5 and payload[0] == 0x16 and payload[1] == 0x03:
        return 5 + int.from_bytes(payload[3:5], "big")
    return None


@cache
def _scapy() -> dict[str, Any]:
    # scapy logs warnings about optional crypto backends on import; they are noise here.
    logging.getLogger("scapy").setLevel(logging.ERROR)
    from scapy.layers.http import HTTPRequest
    from scapy.layers.tls.extensions import TLS_Ext_ServerName
    from scapy.layers.tls.record import TLS

    return {"TLS": TLS, "SNI": TLS_Ext_ServerName, "HTTP": HTTPRequest}


# Devices send the same ClientHello, request and NTP packet again and again: each distinct
# payload is dissected once (scapy takes milliseconds per packet).
@lru_cache(maxsize=4096)
def parse_sni(payload: bytes) -> str | None:
    """Server name from a TLS ClientHello, or ``None``."""
    if tls_record_length(payload) is None or len(payload) < 6 or payload[5] != 0x01:
        return None
    layers = _scapy()
    try:
        record = layers["TLS"](payload)
        ext = record.getlayer(layers["SNI"])
        if ext is None or not ext.servernames:
            return None
        name = ext.servernames[0].servername
    except Exception:
        return None
    return clean_name(name) if name else None


@lru_cache(maxsize=4096)
def parse_http_host(payload: bytes) -> str | None:
    """Host header of an HTTP request, or ``None``."""
    first_line = payload.split(b"\r\n", 1)[0]
    # RTSP shares HTTP's methods (OPTIONS ...): only an HTTP/1.x request line counts.
    if not payload.startswith(_HTTP_METHODS) or b" HTTP/1." not in first_line:
        return None
    try:
        request = _scapy()["HTTP"](payload)
        host = request.Host
    except Exception:
        return None
    return clean_name(host) if host else None


def parse_ntp_mode(payload: bytes) -> int | None:
    """NTP mode (3 client, 4 server ...) of an NTP packet, or ``None``.

    The mode is the low three bits of the first byte in every NTP version (RFC 5905
    §7.3, RFC 1305); no dissector is needed for it.
    """
    if len(payload) < 48:
        return None
    return payload[0] & 0x07
