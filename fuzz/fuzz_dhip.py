"""A Dahua DHIP reply: the binary frame and the JSON inside it."""

from __future__ import annotations

from _harness import instrumented, main

with instrumented():
    from camaudit.discover.dhip import parse_reply


def one(data: bytes) -> None:
    parsed = parse_reply(data)
    if parsed is not None:
        parsed[0].items()


if __name__ == "__main__":
    main(one)
