"""A Hikvision SADP ProbeMatch reply."""

from __future__ import annotations

from _harness import facts_of, instrumented, main

with instrumented():
    from camaudit.discover.sadp import parse_probe_match


one = facts_of(parse_probe_match)


if __name__ == "__main__":
    main(one)
