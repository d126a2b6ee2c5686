"""A strict reader for the common DNS message; anything else is left to dnspython.

dnspython decodes a DNS message in about 90 µs, most of a DNS flood's run (2 M questions:
208 s CPU). This reader takes the common case only: a standard query or response (opcode
QUERY), class IN, questions of any type, A, AAAA and CNAME answers, NS and SOA in the
authority section, A/AAAA glue and one empty OPT in the additional one, names of plain
characters (those dnspython prints unescaped), compressed only backwards as dnspython
allows. It gives exactly what ``apps.parse_dns`` extracts with dnspython, or ``None``
(declined) for anything else: other opcodes, classes, types, EDNS options, TSIG, escaped
or over-long names, pointers forward, cut records. A declined message goes to dnspython
as before, so an undecodable message stays undecodable (fail closed) and this reader
never has to decide that a message is broken. tests/traffic/test_dns_fast_path.py
compares the two on generated and mutated messages.
"""

from __future__ import annotations

import struct
from functools import lru_cache

# The fields apps.DnsMessage is made of: ident, is response, questions, rcode, answers.
Fields = tuple[int, bool, tuple[tuple[str, str], ...], str, tuple[tuple[str, str, str], ...]]

_HEADER = struct.Struct("!HHHHHH")
_QUESTION = struct.Struct("!HH")
_RECORD = struct.Struct("!HHIH")  # type, class, TTL, rdata length
_IN = 1
_A, _NS, _CNAME, _SOA, _AAAA = 1, 2, 5, 6, 28
_OPT_AT_ROOT = b"\0\0\x29"  # a record whose owner is the root and type OPT (41)
_MAX_HOPS = 16  # dnspython's MAX_COMPRESSION_POINTER_CHAIN
_MAX_NAME = 255  # octets of a name in wire form (RFC 1035 §3.1)
# Label octets dnspython prints as themselves (dns.name._escapify): printable ASCII but
# space and its escaped set; a dot inside a label is escaped too.
_PLAIN = bytes(c for c in range(0x21, 0x7F) if c not in b'"().;\\@$')
_PLAIN_OR_DOT = _PLAIN + b"."


class _Declined(Exception):
    """The message is not one this reader fully understands."""


def read_dns(payload: bytes) -> Fields | None:
    """The fields of a common DNS message, or ``None`` to leave it to dnspython."""
    try:
        return _read(payload)
    except (_Declined, IndexError, struct.error):
        return None


def _read(wire: bytes) -> Fields:
    ident, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire)
    if flags & 0x7800:  # opcode other than QUERY (UPDATE has other sections)
        raise _Declined
    if qdcount == 1 and not ancount | nscount | arcount:  # a bare question: most of a flood
        question = _question(wire, 12)[0]
        return ident, bool(flags & 0x8000), (question,), _rcode_text(flags & 0x000F), ()
    pos = 12
    questions = []
    for _ in range(qdcount):
        question, pos = _question(wire, pos)
        questions.append(question)
    answers = []
    for _ in range(ancount):
        owner, kind, value, pos = _record(wire, pos, (_A, _AAAA, _CNAME))
        answers.append((owner.lower(), _type_text(kind), value))
    for _ in range(nscount):
        pos = _record(wire, pos, (_NS, _SOA))[3]
    extended = 0
    opt = False
    for _ in range(arcount):
        if wire[pos : pos + 3] == _OPT_AT_ROOT:
            if opt:
                raise _Declined  # dnspython refuses a second OPT
            opt = True
            _kind, _size, ttl, rdlen = _RECORD.unpack_from(wire, pos + 1)
            if rdlen:  # EDNS options: dnspython decodes (and checks) each
                raise _Declined
            pos += 11
            extended = (ttl >> 20) & 0xFF0
        else:
            pos = _record(wire, pos, (_A, _AAAA))[3]
    rcode = _rcode_text((flags & 0x000F) | extended)
    return ident, bool(flags & 0x8000), tuple(questions), rcode, tuple(answers)


def _question(wire: bytes, pos: int) -> tuple[tuple[str, str], int]:
    """(name, type) of the question at ``pos``, and the position after it."""
    name, pos = _name(wire, pos, len(wire))
    qtype, qclass = _QUESTION.unpack_from(wire, pos)
    if qclass != _IN:
        raise _Declined
    return (name.lower(), _type_text(qtype)), pos + 4


def _record(wire: bytes, pos: int, kinds: tuple[int, ...]) -> tuple[str, int, str, int]:
    """(owner, type, value, position after) of a resource record of one of ``kinds``."""
    owner, pos = _name(wire, pos, len(wire))
    kind, rdclass, _ttl, rdlen = _RECORD.unpack_from(wire, pos)
    pos += 10
    end = pos + rdlen
    if rdclass != _IN or kind not in kinds or end > len(wire):
        raise _Declined
    if kind == _A and rdlen == 4:
        value = ".".join(map(str, wire[pos:end]))  # dns.ipv4.inet_ntoa's spelling
    elif kind == _AAAA and rdlen == 16:
        value = _ipv6_text(wire[pos:end])
    elif kind in (_CNAME, _NS):
        value, after = _name(wire, pos, end)
        if after != end:
            raise _Declined
    elif kind == _SOA:
        after = _name(wire, _name(wire, pos, end)[1], end)[1]
        if after + 20 != end:
            raise _Declined
        value = ""
    else:
        raise _Declined
    return owner, kind, value, end


def _name(wire: bytes, pos: int, end: int) -> tuple[str, int]:
    """A name as dnspython prints it less its final dot, and the position after it.

    Reads as dns.name.from_wire_parser does: a pointer must point before the part it
    was reached from (so at most a few hops and no loop), whose start also bounds the
    labels read there; declines what dnspython would escape or refuse.
    """
    labels = []
    after = -1
    hops = 0
    limit = end
    lowest = pos  # a pointer must point below this
    while True:
        if pos >= limit:
            raise _Declined
        length = wire[pos]
        if length == 0:
            break
        if length < 64:
            pos += 1 + length
            if pos > limit:
                raise _Declined
            labels.append(wire[pos - length : pos])
            continue
        if length < 192 or pos + 2 > limit:
            raise _Declined  # an extended label type (RFC 6891 §5), or a cut pointer
        target = (length & 0x3F) << 8 | wire[pos + 1]
        if after < 0:
            after = pos + 2
        hops += 1
        if target >= lowest or hops > _MAX_HOPS:
            raise _Declined
        limit = lowest
        lowest = pos = target
    text = b".".join(labels)
    if len(text) + 2 > _MAX_NAME:  # the wire form: a length octet a label, and the root's
        raise _Declined
    if text.translate(None, _PLAIN_OR_DOT) or text.count(b".") != len(labels) - 1:
        raise _Declined  # a character dnspython escapes, or a dot inside a label
    return text.decode("ascii"), (pos + 1 if after < 0 else after)


@lru_cache(maxsize=256)
def _type_text(value: int) -> str:
    import dns.rdatatype

    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(value))


@lru_cache(maxsize=64)
def _rcode_text(value: int) -> str:
    import dns.rcode

    return dns.rcode.to_text(dns.rcode.Rcode.make(value))


def _ipv6_text(address: bytes) -> str:
    import dns.ipv6

    return dns.ipv6.inet_ntoa(address)
