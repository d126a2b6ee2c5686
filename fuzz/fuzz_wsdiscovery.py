"""A WS-Discovery ProbeMatches reply (XML through defusedxml)."""

from __future__ import annotations

from _harness import instrumented, main

with instrumented():
    from camaudit.discover.wsdiscovery import parse_probe_matches


def one(data: bytes) -> None:
    for facts in parse_probe_matches(data):
        facts.items()


if __name__ == "__main__":
    main(one)
