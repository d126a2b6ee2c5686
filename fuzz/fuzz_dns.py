"""A DNS message (compression loops, pointers past the end) and the look-up log it feeds."""

from __future__ import annotations

from _harness import instrumented, main

with instrumented():
    from camaudit.model import FrameRef
    from camaudit.traffic import apps
    from camaudit.traffic.dnslog import DnsLog


def one(data: bytes) -> None:
    apps._parse_dns_body.cache_clear()  # the cache would hide repeated bodies from coverage
    msg = apps.parse_dns(data)
    if msg is not None:
        where = FrameRef("fuzz", 1, 0.0)
        DnsLog().add(msg, where, "192.0.2.1", 53, "192.0.2.2", 5353, truncated=False)


if __name__ == "__main__":
    main(one)
