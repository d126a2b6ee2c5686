"""pcapng blocks (SHB, IDB, EPB, SPB, ISB, name resolution ...) read from a file.

The same reader as fuzz_pcap; its own corpus starts libFuzzer from pcapng seeds.
"""

from __future__ import annotations

from _harness import main
from fuzz_pcap import one

if __name__ == "__main__":
    main(one)
