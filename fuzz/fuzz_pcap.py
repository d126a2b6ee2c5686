"""A whole capture file (pcap; pcapng and gzip too) through the compiled pass and the decoder."""

from __future__ import annotations

from _harness import as_file, instrumented, main

with instrumented():
    from camaudit.traffic.engine import analyse


def one(data: bytes) -> None:
    with as_file(data, "capture.pcap") as path:
        analyse([path])


if __name__ == "__main__":
    main(one)
