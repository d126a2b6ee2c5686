"""A Hikvision SADP ProbeMatch reply."""

from __future__ import annotations

from _harness import instrumented, main

with instrumented():
    from camaudit.discover.sadp import parse_probe_match


def one(data: bytes) -> None:
    parsed = parse_probe_match(data)
    if parsed is not None:
        parsed[0].items()


if __name__ == "__main__":
    main(one)
