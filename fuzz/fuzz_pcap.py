"""A whole capture file (pcap; pcapng and gzip too) through the compiled pass and the decoder.

The file is written to the per-process scratch directory (in /dev/shm: memory, no disk) because
:func:`camaudit.traffic.engine.analyse` takes paths, as the command line does.
"""

from __future__ import annotations

from _harness import as_file, hash_inline, instrumented, main

with instrumented():
    from camaudit.traffic.engine import analyse

hash_inline()


def one(data: bytes) -> None:
    with as_file(data, "capture.pcap") as path:
        analyse([path])


if __name__ == "__main__":
    main(one)
