"""A Dahua DHIP reply: the binary frame and the JSON inside it."""

from __future__ import annotations

from _harness import facts_of, instrumented, main

with instrumented():
    from camaudit.discover.dhip import parse_reply


one = facts_of(parse_reply)


if __name__ == "__main__":
    main(one)
