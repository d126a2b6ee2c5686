"""A DNS message (compression loops, pointers past the end) and the look-up log it feeds.

The strict reader (traffic/dnswire.py) is checked against dnspython on every input: what it
reads must be, to the letter, what dnspython's path gives; a difference is a crash.
"""

from __future__ import annotations

from _harness import instrumented, main

with instrumented():
    from camaudit.model import FrameRef
    from camaudit.traffic import apps, dnswire
    from camaudit.traffic.dnslog import DnsLog


class FastPathDiffers(AssertionError):
    """The strict reader read a message otherwise than dnspython."""


def one(data: bytes) -> None:
    apps._parse_dns_body.cache_clear()  # the cache would hide repeated bodies from coverage
    msg = apps.parse_dns(data)
    fields = dnswire.read_dns(data)
    if fields is not None:
        slow = apps._parse_dns_body(data[2:])
        slow = None if slow is None else slow._replace(ident=int.from_bytes(data[:2], "big"))
        if apps.DnsMessage(*fields) != slow:
            raise FastPathDiffers(f"{data!r}: strict {fields!r}, dnspython {slow!r}")
    if msg is not None:
        where = FrameRef("fuzz", 1, 0.0)
        DnsLog().add(msg, where, "192.0.2.1", 53, "192.0.2.2", 5353, truncated=False)


if __name__ == "__main__":
    main(one)
