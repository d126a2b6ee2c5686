"""An RTSP reply (OPTIONS/DESCRIBE) through the reader and the probe's fact extraction."""

from __future__ import annotations

from _harness import instrumented, main
from fuzz_http import reply

with instrumented():
    from camaudit.attempt import Facts
    from camaudit.fingerprint.rtsp import RtspProbe


def one(data: bytes) -> None:
    facts = Facts()
    RtspProbe._facts("DESCRIBE", reply(data, b"RTSP"), facts)
    facts.items()


if __name__ == "__main__":
    main(one)
