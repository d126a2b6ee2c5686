"""IP address text, made and read in the spelling :mod:`ipaddress` prints, quickly.

A scan of a few hundred thousand addresses has each of them printed by the traffic stage
and read back by the policy stage; :mod:`ipaddress` spends tens of microseconds on each
print or parse of an IPv6 address, the C library's ``inet_ntop``/``inet_pton`` well under
one. Both functions here give exactly what :mod:`ipaddress` gives (``ipaddress`` itself
does the rare cases), so nothing downstream can tell them apart.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

__all__ = ["address_text", "ipv4_text", "ipv6_text", "parse_address"]

_TOP_HALF = 64


def _ntop_agrees() -> bool:
    """Does this C library write IPv6 text as :mod:`ipaddress` does (RFC 5952: lower-case
    hex, no leading zeros, the first longest run of two or more zero groups as ``::``)?
    Checked once, on the cases where implementations differ; if not, ipaddress prints."""
    probes = (
        "2001:db8::1",
        "2001:db8:0:1:1:1:1:1",  # a lone zero group is not compressed
        "2001:0:0:1::1",  # the longer run wins
        "2001:db8::1:0:0:1",  # of two equal runs, the first
        "fd66:0:0:ff::ab",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "1::",
    )
    try:
        return all(
            socket.inet_ntop(socket.AF_INET6, ipaddress.IPv6Address(p).packed) == p for p in probes
        )
    except (OSError, ValueError, AttributeError):
        return False


_NTOP = _ntop_agrees()


def ipv4_text(value: int) -> str:
    """``str(ipaddress.IPv4Address(value))``."""
    return socket.inet_ntoa(value.to_bytes(4, "big"))


def ipv6_text(value: int) -> str:
    """``str(ipaddress.IPv6Address(value))``."""
    # inet_ntop writes a dotted quad in ::/96 and ::ffff:0:0/96 (::ffff:1.2.3.4), where
    # ipaddress writes hex (::ffff:102:304): both have the top half zero.
    if _NTOP and value >> _TOP_HALF:
        return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))
    return str(ipaddress.IPv6Address(value))


def address_text(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """``str(address)``."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is None:
        return ipv6_text(int(address))
    return str(address)


def whole_family(text: str) -> str:
    """The whole address family (``0.0.0.0/0`` or ``::/0``) of an address or network
    written as text: what a pooled entry is widened to past its last limit."""
    return "::/0" if ":" in text else "0.0.0.0/0"


# INET6_ADDRSTRLEN less its NUL: no longer text is an address to the C library.
_LONGEST = 45


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ipaddress.ip_address(text)`` (raising :class:`ValueError` alike).

    Text in the spelling this module prints is read by the C library: it is that spelling
    only if reading and printing it again gives it back, and then both readers agree.
    Anything else (a zone id, upper case, leading zeros, not an address) goes to
    :mod:`ipaddress`.
    """
    if len(text) <= _LONGEST:  # longer text (a zone id, junk) is never cached
        return _parse_short(text)
    return ipaddress.ip_address(text)


@lru_cache(maxsize=1024)  # the policy stage reads a flow's remote address twice in a row
def _parse_short(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        if ":" in text:
            value = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
            if ipv6_text(value) == text:
                return ipaddress.IPv6Address(value)
        else:
            packed = socket.inet_pton(socket.AF_INET, text)
            if socket.inet_ntoa(packed) == text:
                return ipaddress.IPv4Address(packed)
    except (OSError, ValueError):  # not an address to the C library: ipaddress decides
        pass
    return ipaddress.ip_address(text)
