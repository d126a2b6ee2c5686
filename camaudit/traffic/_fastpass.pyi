"""Types of the compiled pass (``_fastpass.c``)."""

from typing import Any

TLS_KEEP: int
KEEP_CHUNKS: int
PAIR: int
NETWORK: int
SPILL: int

class Pass:
    """Flow aggregate of the frames the compiled pass understood."""

    nflows: int
    folded: int
    pending: tuple[int, int]
    summarised: int
    def __init__(
        self,
        max_flows: int = 0,
        upto: int = 2,
        max_pairs: int = 0,
        max_hosts: int = 0,
        max_networks: int = 0,
    ) -> None: ...
    def pcap(
        self,
        data: bytes,
        pos: int,
        big: bool,
        scale: float,
        linktype: int,
        frame: int,
        seg: int,
        limit: int,
        /,
    ) -> tuple[int, int, int, bool, float, float]: ...
    def pcapng(
        self,
        data: bytes,
        pos: int,
        big: bool,
        ifaces: list[tuple[int, float, int]],
        frame: int,
        seg: int,
        limit: int,
        /,
    ) -> tuple[int, int, int, float, float, list[int]]: ...
    def one(
        self,
        data: bytes,
        off: int,
        caplen: int,
        origlen: int,
        ts: float,
        linktype: int,
        frame: int,
        seg: int,
        /,
    ) -> int: ...
    def take(self) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes] | None: ...
    def flows(self) -> list[tuple[Any, ...]]: ...
    def hosts(self) -> list[tuple[int, int, int, int, int]]: ...
    def hosts_dropped(self) -> tuple[int, list[int]]: ...
    def bad_timestamps(self) -> tuple[int, int]: ...
