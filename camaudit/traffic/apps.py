"""The few payloads whose content matters, and what they say.

DNS goes through dnspython (the common message through the strict reader in
traffic/dnswire.py, which hands everything else to dnspython); the TLS ClientHello's
server name, an HTTP request's Host header and NTP's mode are read by the few
bounds-checked lines each needs (scapy's layers cost about a second to import, most of
a small capture's run).
A malformed or hostile payload yields ``None``, never an exception, and every
string that leaves here is sanitised. These readers need no optional package, so a
broken installation cannot make them read as "no server name" (dnspython errors other
than parse errors are not caught either).
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from camaudit.sanitize import clean_name, clean_text
from camaudit.traffic.dnswire import read_dns

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


class DnsMessage(NamedTuple):
    """What one DNS packet says. A named tuple, not a frozen dataclass: one is made per DNS
    packet, and a frozen dataclass's ``__init__`` costs 0.6 µs more (1.2 s of a 2 M-packet
    DNS flood)."""

    ident: int
    is_response: bool
    questions: tuple[tuple[str, str], ...]  # (name, qtype)
    rcode: str
    answers: tuple[tuple[str, str, str], ...]  # (owner name, type, value)


def parse_dns(payload: bytes) -> DnsMessage | None:
    """Decode a DNS message, or ``None`` if it is not one (or is cut short)."""
    if len(payload) < 12:
        return None
    # The common message is read by a strict reader (a DNS flood is millions of them);
    # what it declines is dnspython's, as every message was before.
    fields = read_dns(payload)
    if fields is not None:
        return DnsMessage(*fields)
    # Devices repeat the same questions with new IDs: decode each distinct body once.
    body = _parse_dns_body(payload[2:])
    if body is None:
        return None
    return body._replace(ident=int.from_bytes(payload[:2], "big"))


@lru_cache(maxsize=4096)
def _parse_dns_body(body: bytes) -> DnsMessage | None:
    # dnspython is imported on the first DNS packet: a capture without DNS does not pay.
    import dns.exception
    import dns.message
    import dns.rcode
    import dns.rdatatype

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


# Devices send the same ClientHello and request again and again: each distinct payload
# is read once.
@lru_cache(maxsize=4096)
def parse_sni(payload: bytes) -> str | None:
    """Server name from a TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3), or ``None``.

    Read within the first record only; a message cut short before its server name
    gives ``None``.
    """
    if tls_record_length(payload) is None or len(payload) < 6 or payload[5] != 0x01:
        return None
    end = min(len(payload), 5 + int.from_bytes(payload[3:5], "big"))
    pos = 9 + 2 + 32  # record and handshake headers, client version, random
    pos = _skip(payload, pos, 1, end)  # session id
    pos = _skip(payload, pos, 2, end)  # cipher suites
    pos = _skip(payload, pos, 1, end)  # compression methods
    if pos < 0 or pos + 2 > end:
        return None
    ext_end = min(end, pos + 2 + int.from_bytes(payload[pos : pos + 2], "big"))
    pos += 2
    while pos + 4 <= ext_end:
        kind = int.from_bytes(payload[pos : pos + 2], "big")
        size = int.from_bytes(payload[pos + 2 : pos + 4], "big")
        pos += 4
        if kind == 0:  # server_name: a list of (type, name); type 0 is a host name
            return _host_name(payload, pos, min(ext_end, pos + size))
        pos += size
    return None


def _skip(payload: bytes, pos: int, width: int, end: int) -> int:
    """Position after a length-prefixed vector, or -1 if it runs past ``end``."""
    if pos < 0 or pos + width > end:
        return -1
    pos += width + int.from_bytes(payload[pos : pos + width], "big")
    return pos if pos <= end else -1


def _host_name(payload: bytes, pos: int, end: int) -> str | None:
    if pos + 2 > end:
        return None
    pos += 2  # the list's length
    while pos + 3 <= end:
        kind = payload[pos]
        size = int.from_bytes(payload[pos + 1 : pos + 3], "big")
        name = payload[pos + 3 : pos + 3 + size]
        if kind == 0:
            return clean_name(name) if name and len(name) == size else None
        pos += 3 + size
    return None


@lru_cache(maxsize=4096)
def parse_http_host(payload: bytes) -> str | None:
    """Host header of an HTTP/1.x request (RFC 9112 §3.2), or ``None``."""
    head, _sep, _body = payload.partition(b"\r\n\r\n")
    first_line, *fields = head.split(b"\r\n")
    # RTSP shares HTTP's methods (OPTIONS ...): only an HTTP/1.x request line counts.
    if not payload.startswith(_HTTP_METHODS) or b" HTTP/1." not in first_line:
        return None
    for line in fields:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"host":
            host = value.strip()
            return clean_name(host) if host else None
    return None


def parse_ntp_mode(payload: bytes) -> int | None:
    """NTP mode (3 client, 4 server ...) of an NTP packet, or ``None``.

    The mode is the low three bits of the first byte in every NTP version (RFC 5905
    §7.3, RFC 1305); no dissector is needed for it.
    """
    if len(payload) < 48:
        return None
    return payload[0] & 0x07
