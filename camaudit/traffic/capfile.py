"""Streaming readers for pcap and pcapng files (optionally gzip'd).

The file is read a few MiB at a time and each chunk goes through the compiled pass
(:mod:`camaudit.traffic._fastpass`), which walks the records, decodes the common
headers and folds each packet into its flow in one loop. The frames it hands over
(see ``_fastpass.c``) come back here as a :class:`RawBatch` for the Python decoder.
pcapng blocks other than plain Enhanced Packet Blocks (section and interface
headers, statistics, simple and obsolete packet blocks, packets with options) are
read here and their packets fed to the pass one by one. Nothing is kept after a
chunk is consumed, so memory does not grow with file size.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from camaudit.errors import InputError
from camaudit.model import CaptureInput, Phrase, Problem
from camaudit.phrases import phrase, problem
from camaudit.traffic._fastpass import Pass

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    I64 = npt.NDArray[np.int64]
    F64 = npt.NDArray[np.float64]

Sink = Callable[["RawBatch"], None]  # takes the frames the compiled pass handed over

CHUNK = 4 << 20  # larger chunks were not faster and kept more memory (bench/)
MAX_RECORD = 1 << 20  # larger "packets" mean a corrupt file, not a jumbo frame
HAND_OVER_FRAMES = 8192
# Timestamps a calendar can show (years 1-9999, as Python's datetime); beyond them a
# clock or an if_tsresol/if_tsoffset is wrong, which the reader must be told. The
# compiled pass counts them (_fastpass.c holds the same two numbers).
TS_RANGE = (-62135596800.0, 253402300799.0)

LINKTYPE_NAMES = {
    0: "NULL",
    1: "ETHERNET",
    9: "PPP",
    12: "RAW",
    14: "RAW",
    50: "PPP_HDLC",
    101: "RAW",
    104: "C_HDLC",
    108: "LOOP",
    113: "LINUX_SLL",
    204: "PPP_WITH_DIR",
    228: "IPV4",
    229: "IPV6",
    276: "LINUX_SLL2",
}
SUPPORTED_LINKTYPES = frozenset(LINKTYPE_NAMES)

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_GZIP = b"\x1f\x8b"
# A compression bomb must not run for minutes: past this many bytes inflated, more than
# GZIP_MAX_RATIO times the compressed bytes read is refused. Real captures compress 2-20x;
# deflate itself cannot exceed about 1032x.
GZIP_FREE_BYTES = 256 << 20
GZIP_MAX_RATIO = 200


def linktype_name(linktype: int) -> str:
    """Name of a link type as libpcap spells it, or ``LINKTYPE_<n>``."""
    return LINKTYPE_NAMES.get(linktype, f"LINKTYPE_{linktype}")


@dataclass
class RawBatch:
    """A run of consecutive packets of one capture file.

    ``off`` indexes the first byte of each packet in ``data``; ``frame`` is the
    1-based frame number Wireshark shows for it.
    """

    capture: str
    data: bytes
    off: I64
    caplen: I64
    origlen: I64
    ts: F64
    frame: I64
    linktype: I64
    seg: int = 0  # the segment (file, or range of one) these frames belong to

    def __len__(self) -> int:
        return len(self.off)


class _HashingSource:
    """Reads the file on disk and hashes exactly those bytes.

    The hash runs in a worker thread (hashlib releases the GIL on large buffers),
    so on two cores it costs the parser nothing; at most one chunk waits for it.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._digest = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        self._pending: Future[None] | None = None
        self._pushback = b""
        self.consumed = 0

    def peek(self, n: int) -> bytes:
        if len(self._pushback) < n:
            self._pushback += self._take(n - len(self._pushback))
        return self._pushback[:n]

    def _take(self, n: int) -> bytes:
        data = self._raw.read(n)
        if data:
            if self._pending is not None:
                self._pending.result()
            self._pending = self._pool.submit(self._digest.update, data)
            self.consumed += len(data)
        return data

    def read(self, n: int = -1) -> bytes:
        if self._pushback:
            head, self._pushback = self._pushback[:n], self._pushback[n:]
            return head if len(head) == n else head + self._take(n - len(head))
        return self._take(n if n >= 0 else CHUNK)

    def hexdigest(self) -> str:
        while self._take(CHUNK):
            pass
        if self._pending is not None:
            self._pending.result()
        return self._digest.hexdigest()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._raw.close()


@dataclass
class _Counts:
    """The packets of a file (or a range of one) so far: how many, the first and last
    timestamps, and how many of each link type."""

    packets: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    linktypes: dict[int, int] = field(default_factory=dict)

    def _count(self, count: int, first: float, last: float, linktype: int) -> None:
        if count:
            if self.first_ts is None:
                self.first_ts = first
            self.last_ts = last
            self.packets += count
            self.linktypes[linktype] = self.linktypes.get(linktype, 0) + count


@dataclass
class _Stats(_Counts):
    snaplen: int | None = None
    drops: int = 0
    isb_drops: dict[int, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    bad_ts: int = 0
    first_bad_ts_frame: int = 0


class CaptureFile:
    """One capture file: open it, iterate :meth:`batches`, then read :meth:`summary`."""

    def __init__(self, path: Path, display: str | None = None) -> None:
        self.path = path
        self.display = display or str(path)
        self.format = ""
        self.compression: str | None = None
        self._stats = _Stats()
        self._tick: Callable[[], None] | None = None
        self._ready: list[RawBatch] | None = None  # set while batches() runs
        self._inflated = 0  # bytes inflated from gzip input so far
        self._raw: BinaryIO
        self._reader: _HashingSource
        self._stream: BinaryIO | _HashingSource | gzip.GzipFile
        self._open()

    # -- opening ---------------------------------------------------------------

    def _open(self) -> None:
        try:
            self._raw = self.path.open("rb")
        except IsADirectoryError:
            raise InputError(f"{self.display}: is a directory") from None
        except OSError as exc:
            raise InputError(f"{self.display}: cannot read: {exc.strerror}") from None
        self._reader = _HashingSource(self._raw)
        self._stream = self._reader
        try:
            if self._reader.peek(2) == _GZIP:
                self.compression = "gzip"
                self._stream = gzip.GzipFile(fileobj=self._reader, mode="rb")  # type: ignore[call-overload]
            head = self._read_exact(4)
        except InputError:  # damaged gzip data (_read_exact says so)
            self.close()
            raise
        except OSError as exc:
            self.close()
            raise InputError(f"{self.display}: cannot read: {exc.strerror or exc}") from None
        if not head:
            self.close()
            raise InputError(f"{self.display}: empty file")
        if head in _PCAP_MAGICS:
            self.format = "pcap"
        elif head == _PCAPNG_SHB:
            self.format = "pcapng"
        else:
            self.close()
            shown = " ".join(f"{b:02x}" for b in head)
            raise InputError(f"{self.display}: not a pcap or pcapng capture (first bytes {shown})")
        self._head = head

    def _read_exact(self, n: int) -> bytes:
        """Up to ``n`` bytes of a file header; damaged gzip data is bad input, not a crash
        (a gzip'd capture too short for its header checks its CRC on the header read)."""
        try:
            return self._stream.read(n)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise InputError(f"{self.display}: damaged gzip data: {exc}") from None

    def close(self) -> None:
        """Release the file."""
        try:
            self._stream.close()
        finally:
            self._reader.close()

    def first_time(self) -> float | None:
        """Timestamp of the first packet, read from a fresh handle (for ordering files)."""
        probe = CaptureFile(self.path, self.display)
        try:
            probe.walk(Pass(), 0, None, limit=1)
            return probe._stats.first_ts
        except InputError:
            return None
        finally:
            probe.close()

    # -- reading ---------------------------------------------------------------

    def _chunks(self) -> Iterator[bytes]:
        while True:
            try:
                data = self._stream.read(CHUNK)
            except (OSError, EOFError, zlib.error) as exc:
                self._problem("truncated", phrase("problem_compressed", error=str(exc)))
                return
            if not data:
                return
            yield data
            if self.compression and self._inflation_exceeded(len(data)):
                return

    def _inflation_exceeded(self, n: int) -> bool:
        """Count inflated bytes; past the bound, record a blocking problem and stop."""
        self._inflated += n
        if self._inflated <= max(GZIP_FREE_BYTES, GZIP_MAX_RATIO * self._reader.consumed):
            return False
        self._problem(
            "truncated",
            phrase(
                "problem_gzip_bomb",
                ratio=GZIP_MAX_RATIO,
                consumed=self._reader.consumed,
                inflated=self._inflated,
            ),
        )
        return True

    def walk(
        self,
        fp: Pass,
        seg: int,
        sink: Sink | None,
        limit: int | None = None,
        tick: Callable[[], None] | None = None,
    ) -> None:
        """Feed every packet, in file order, to the compiled pass ``fp``.

        The frames it hands over are passed to ``sink`` a chunk at a time, as a
        :class:`RawBatch` (or dropped, if None); ``seg`` is this file's segment number
        (see ``flows.py``).
        """
        self._tick = tick
        for _ in self._steps(fp, seg, sink, limit):
            pass

    def batches(self, limit: int | None = None) -> Iterator[RawBatch]:
        """Every frame in file order, a chunk at a time, undecoded: offsets into the bytes read.

        For readers that need the stored records themselves (the evidence pack); the
        record header of a frame sits right before it in ``data``.
        """
        fp = Pass(upto=-1)  # the pass only indexes the frames
        ready: list[RawBatch] = []
        self._ready = ready
        try:
            for _ in self._steps(fp, 0, None, limit):
                yield from ready
                ready.clear()
            yield from ready
        finally:
            self._ready = None

    def _steps(self, fp: Pass, seg: int, sink: Sink | None, limit: int | None) -> Iterator[None]:
        """The walk, pausing after each chunk."""
        fp.bad_timestamps()  # counts per file
        try:
            if self.format == "pcap":
                yield from self._pcap_walk(fp, seg, sink, limit)
            else:
                yield from self._pcapng_walk(fp, seg, sink, limit)
        finally:
            bad, first = fp.bad_timestamps()
            self._stats.bad_ts += bad
            if bad and not self._stats.first_bad_ts_frame:
                self._stats.first_bad_ts_frame = first

    def _indexed(self, fp: Pass, data: bytes) -> None:
        """In :meth:`batches`, the frames the pass indexed in ``data``."""
        if self._ready is not None:
            taken = fp.take()
            if taken is not None:
                self._ready.append(_raw_batch(self.display, 0, (data, *taken[1:])))

    def _problem(self, code: str, message: Phrase, count: int = 1) -> None:
        self._stats.problems.append(problem(code, message, self.display, count))

    def _count(self, count: int, first: float, last: float, linktype: int) -> None:
        self._stats._count(count, first, last, linktype)

    def _hand_over(self, fp: Pass, seg: int, sink: Sink | None, final: bool = False) -> None:
        # The Python decoder has a fixed cost per call: give it the handed-over frames
        # (copied out by the pass) in batches of thousands, not per chunk.
        frames, size = fp.pending
        if frames and (final or frames >= HAND_OVER_FRAMES or size >= CHUNK):
            taken = fp.take()
            if taken is not None and sink is not None:
                sink(_raw_batch(self.display, seg, taken))
        if self._tick is not None:
            self._tick()

    def _pcap_walk(
        self, fp: Pass, seg: int, sink: Sink | None, limit: int | None
    ) -> Iterator[None]:
        header = self._head + self._read_exact(20)
        if len(header) < 24:
            raise InputError(f"{self.display}: pcap file header is cut short")
        order, scale = _PCAP_MAGICS[self._head]
        _vmaj, _vmin, _zone, _sig, snaplen, network = struct.unpack(order + "HHiIII", header[4:])
        linktype = network & 0xFFFF
        self._stats.snaplen = snaplen
        walk = _PcapRun(self, fp, seg, order, scale, linktype, -1 if limit is None else limit)
        carry = yield from walk.chunks(self._chunks(), lambda: self._hand_over(fp, seg, sink))
        if carry and not walk.done:
            self._problem(
                "truncated",
                phrase("problem_last_record", frame=str(walk.frame), count=len(carry)),
            )
        self._hand_over(fp, seg, sink, final=True)

    # -- pcapng ----------------------------------------------------------------

    def _pcapng_walk(
        self, fp: Pass, seg: int, sink: Sink | None, limit: int | None
    ) -> Iterator[None]:
        reader = _PcapngWalker(self, fp, seg)
        carry = self._head
        for chunk in self._chunks():
            data = carry + chunk
            used = reader.walk(data, limit)
            carry = data[used:]
            self._indexed(fp, data)
            self._hand_over(fp, seg, sink)
            yield
            if reader.stopped or (limit is not None and reader.frame >= limit):
                break
        self._hand_over(fp, seg, sink, final=True)
        if reader.stopped or (limit is not None and reader.frame >= limit):
            return
        if not reader.sections:
            raise InputError(f"{self.display}: pcapng section header is cut short")
        if carry and not reader.stopped:
            self._problem(
                "truncated",
                phrase("problem_last_block", frame=str(reader.frame), count=len(carry)),
            )

    # -- summary ---------------------------------------------------------------

    def summary(self) -> CaptureInput:
        """What was read; call after :meth:`batches` is exhausted (hashes the whole file)."""
        stats = self._stats
        problems = list(stats.problems)
        drops = stats.drops + sum(stats.isb_drops.values())
        if drops:
            problems.append(
                problem("drops", phrase("problem_drops", count=drops), self.display, drops)
            )
        if stats.bad_ts:
            problems.append(
                problem(
                    "timestamp",
                    phrase(
                        "problem_timestamp", count=stats.bad_ts, frame=str(stats.first_bad_ts_frame)
                    ),
                    self.display,
                    stats.bad_ts,
                )
            )
        return CaptureInput(
            path=self.display,
            sha256=self._reader.hexdigest(),  # reads what the parser left
            format=self.format,
            compression=self.compression,
            packets=stats.packets,
            first_time=stats.first_ts,
            last_time=stats.last_ts,
            link_types=tuple(linktype_name(k) for k in sorted(stats.linktypes)),
            snaplen=stats.snaplen,
            problems=tuple(problems),
        )

    @property
    def linktype_counts(self) -> dict[int, int]:
        """Packets per link type so far."""
        return dict(self._stats.linktypes)


def _raw_batch(capture: str, seg: int, taken: tuple[bytes, ...]) -> RawBatch:
    """The frames the compiled pass handed over, as numpy columns (imported only now)."""
    import numpy as np

    data, off, cap, orig, ts, frame, linktype = taken
    i64 = np.int64
    return RawBatch(
        capture,
        data,
        off=np.frombuffer(off, dtype=i64),
        caplen=np.frombuffer(cap, dtype=i64),
        origlen=np.frombuffer(orig, dtype=i64),
        ts=np.frombuffer(ts, dtype=np.float64),
        frame=np.frombuffer(frame, dtype=i64),
        linktype=np.frombuffer(linktype, dtype=i64),
        seg=seg,
    )


@dataclass
class RangeStats(_Counts):
    """What one range of a pcap file held (see :func:`walk_pcap_range`)."""

    snaplen: int = 0
    problems: list[Problem] = field(default_factory=list)
    exact: bool = True  # ended exactly at the range's end, on a record boundary

    def _problem(self, code: str, message: Phrase, count: int = 1) -> None:
        self.problems.append(problem(code, message, None, count))

    def _indexed(self, fp: Pass, data: bytes) -> None:
        pass


def pcap_header(path: Path) -> tuple[str, float, int, int]:
    """(byte order, timestamp scale, snaplen, link type) of an uncompressed pcap file."""
    with path.open("rb") as handle:
        header = handle.read(24)
    order, scale = _PCAP_MAGICS[header[:4]]
    _vmaj, _vmin, _zone, _sig, snaplen, network = struct.unpack(order + "HHiIII", header[4:])
    return order, scale, snaplen, network & 0xFFFF


def walk_pcap_range(
    path: Path, start: int, end: int, fp: Pass, seg: int, sink: Callable[[], None]
) -> RangeStats:
    """Walk the records of ``path`` between byte offsets ``start`` and ``end``.

    Frame numbers count from the range's start. The range must start on a record
    boundary (:func:`pcap_boundaries`); it is ``exact`` only if its last record ends
    exactly at ``end`` and nothing in it was damaged, which also proves the next
    range's start right.
    """
    order, scale, snaplen, linktype = pcap_header(path)
    stats = RangeStats(snaplen=snaplen)
    walk = _PcapRun(stats, fp, seg, order, scale, linktype, -1)
    with path.open("rb") as handle:
        fp.bad_timestamps()
        carry = _drain(walk.chunks(range_chunks(handle, start, end), sink))
    bad, _first = fp.bad_timestamps()  # its message needs whole-file frame numbers
    stats.exact = not carry and not walk.done and not stats.problems and not bad
    return stats


def range_chunks(handle: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    """The bytes of ``handle`` from offset ``start`` up to ``end``, :data:`CHUNK` at a time
    (fewer where the file ends first)."""
    handle.seek(start)
    left = end - start
    while left > 0:
        data = handle.read(min(CHUNK, left))
        if not data:
            return
        left -= len(data)
        yield data


def _drain(steps: Generator[None, None, bytes]) -> bytes:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            carry: bytes = done.value
            return carry


def pcap_boundaries(path: Path, parts: int, size: int) -> list[int]:
    """Offsets that split a pcap file into about ``parts`` ranges, each on a record start.

    Found by a validated walk: a candidate must begin a chain of plausible record
    headers. A wrong guess cannot go unnoticed: the range before it must end on it
    exactly (:attr:`RangeStats.exact`), or the file is read again in one piece.
    """
    order, scale, snaplen, _linktype = pcap_header(path)
    frac_limit = 1_000_000_000 if scale < 1e-6 else 1_000_000
    incl_limit = min(MAX_RECORD, max(snaplen, 262_144))
    header = struct.Struct(order + "IIII")
    cuts = [24]
    with path.open("rb") as handle:
        for i in range(1, parts):
            at = size * i // parts
            handle.seek(at)
            window = handle.read(4 << 20)
            found = _record_chain(window, header, frac_limit, incl_limit, at + len(window) >= size)
            if found is not None and at + found > cuts[-1]:
                cuts.append(at + found)
    return [*cuts, size]


def _record_chain(
    window: bytes, header: struct.Struct, frac_limit: int, incl_limit: int, to_eof: bool
) -> int | None:
    n = len(window)
    for p in range(min(n, 1 << 20)):
        pos, links = p, 0
        while links < 32 and pos + 16 <= n:
            _sec, frac, incl, orig = header.unpack_from(window, pos)
            if frac >= frac_limit or incl > incl_limit or orig < incl:
                break
            pos += 16 + incl
            links += 1
        if links >= 32 or (to_eof and pos == n and links):
            return p
    return None


class _Owner(Protocol):
    def _count(self, count: int, first: float, last: float, linktype: int) -> None: ...
    def _indexed(self, fp: Pass, data: bytes) -> None: ...
    def _problem(self, code: str, message: Phrase, count: int = 1) -> None: ...


class _PcapRun:
    """The state of one pcap file's (or range's) walk through the compiled pass."""

    def __init__(
        self,
        owner: _Owner,
        fp: Pass,
        seg: int,
        order: str,
        scale: float,
        linktype: int,
        limit: int,
    ) -> None:
        self.owner, self.fp, self.seg = owner, fp, seg
        self.order, self.scale, self.linktype, self.limit = order, scale, linktype, limit
        self.frame = 0
        self.done = False

    def chunks(
        self, chunks: Iterable[bytes], after: Callable[[], None]
    ) -> Generator[None, None, bytes]:
        """Walk consecutive chunks of records, pausing after each; return the bytes of an
        incomplete last record."""
        order = self.order
        carry = b""
        for chunk in chunks:
            start = 0
            if carry:
                # Finish the record that straddles the chunks on its own, so that the
                # chunk itself is walked in place rather than copied behind the carry.
                head = carry if len(carry) >= 16 else carry + chunk[: 16 - len(carry)]
                incl = struct.unpack_from(order + "I", head, 8)[0] if len(head) >= 16 else 0
                if incl > MAX_RECORD:
                    self.run(head, 0)  # reports the damage and stops
                    return b""
                need = 16 + incl
                if len(head) < 16 or need - len(carry) > len(chunk):
                    carry += chunk
                    continue
                start = need - len(carry)
                if self.run(carry + chunk[:start], 0) is None:
                    return b""
            pos = self.run(chunk, start)
            if pos is None:
                return b""
            carry = chunk[pos:]
            after()
            yield
        return carry

    def run(self, data: bytes, start: int) -> int | None:
        """Walk ``data`` from ``start``; where its last complete record ends, or None to stop."""
        pos, count, _fast, corrupt, first, last = self.fp.pcap(
            data,
            start,
            self.order == ">",
            self.scale,
            self.linktype,
            self.frame,
            self.seg,
            self.limit,
        )
        self.owner._count(count, first, last, self.linktype)
        self.owner._indexed(self.fp, data)
        self.frame += count
        if corrupt:
            (incl,) = struct.unpack_from(self.order + "I", data, pos + 8)
            self.owner._problem(
                "corrupt", phrase("problem_record_claims", frame=str(self.frame), count=incl)
            )
            self.done = True
            return None
        if 0 <= self.limit <= self.frame:
            self.done = True
            return None
        return pos


@dataclass
class _Interface:
    linktype: int
    snaplen: int
    scale: float = 1e-6
    offset: int = 0


# The shortest block of each kind read here (pcapng spec §4.1-4.6, appendix A): header and
# trailer (12 bytes) plus the fixed fields: SHB 16, IDB 8, ISB 12, EPB 20, SPB 4, the
# obsolete Packet Block 20. A shorter one is an impossible length.
_BLOCK_MIN = {0x0A0D0D0A: 28, 1: 20, 5: 24, 6: 32, 3: 16, 2: 32}


class _PcapngWalker:
    """Walks pcapng blocks; keeps section and interface state between chunks.

    Runs of plain Enhanced Packet Blocks go through the compiled pass in one call;
    every other block is read here.
    """

    def __init__(self, owner: CaptureFile, fp: Pass, seg: int) -> None:
        self.owner = owner
        self.fp = fp
        self.seg = seg
        self.order = "<"
        self.interfaces: list[_Interface] = []
        self.frame = 0
        self.sections = 0
        self.stopped = False

    def walk(self, data: bytes, limit: int | None) -> int:
        """Read the complete blocks of ``data``; return where the first incomplete one starts."""
        n = len(data)
        pos = 0
        stop = -1 if limit is None else limit
        while pos + 12 <= n:
            if self.interfaces:
                pos = self._fast(data, pos, stop)
                if pos + 12 > n or (limit is not None and self.frame >= limit):
                    break
            if data[pos : pos + 4] == _PCAPNG_SHB:
                bom = data[pos + 8 : pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    self.order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    self.order = ">"
                else:
                    self._stop(phrase("problem_bad_magic", offset=str(pos)))
                    break
            btype, blen = struct.unpack_from(self.order + "II", data, pos)
            if blen < 12 or blen % 4 or blen > MAX_RECORD + 64:
                self._stop(phrase("problem_bad_length", frame=str(self.frame), length=str(blen)))
                break
            if pos + blen > n:
                break
            if blen < _BLOCK_MIN.get(btype, 12):
                # too short for its own fixed fields: Wireshark stops reading there too
                self._stop(phrase("problem_bad_length", frame=str(self.frame), length=str(blen)))
                break
            body = pos + 8
            if btype == 0x0A0D0D0A:
                self.interfaces = []
                self.sections += 1
            elif btype == 1:
                self._interface(data, body, pos + blen - 4)
            elif btype in (6, 3, 2):
                got = self._packet(btype, data, body, blen)
                if got is not None:
                    off, cap, orig, stamp, kind = got
                    self.frame += 1
                    self.owner._count(1, stamp, stamp, kind)
                    self.fp.one(data, off, cap, orig, stamp, kind, self.frame, self.seg)
            elif btype == 5:
                self._statistics(data, body, pos + blen - 4)
            pos += blen
            if self.stopped or (limit is not None and self.frame >= limit):
                break
        return pos

    def _fast(self, data: bytes, pos: int, stop: int) -> int:
        ifaces = [(i.linktype, i.scale, i.offset) for i in self.interfaces]
        pos, count, _fast, first, last, per_iface = self.fp.pcapng(
            data, pos, self.order == ">", ifaces, self.frame, self.seg, stop
        )
        if count:
            stats = self.owner._stats
            if stats.first_ts is None:
                stats.first_ts = first
            stats.last_ts = last
            stats.packets += count
            for iface, got in zip(self.interfaces, per_iface, strict=True):
                if got:
                    stats.linktypes[iface.linktype] = stats.linktypes.get(iface.linktype, 0) + got
            self.frame += count
        return pos

    def _stop(self, message: Phrase) -> None:
        self.owner._problem("corrupt", phrase("problem_stopped", detail=message))
        self.stopped = True

    def _options(self, data: bytes, pos: int, end: int) -> Iterator[tuple[int, bytes]]:
        while pos + 4 <= end:
            code, length = struct.unpack_from(self.order + "HH", data, pos)
            if code == 0:
                return
            yield code, data[pos + 4 : pos + 4 + length]
            pos += 4 + ((length + 3) & ~3)

    def _interface(self, data: bytes, body: int, end: int) -> None:
        linktype, _reserved, snaplen = struct.unpack_from(self.order + "HHI", data, body)
        iface = _Interface(linktype=linktype, snaplen=snaplen)
        for code, value in self._options(data, body + 8, end):
            if code == 9 and value:
                resol = value[0]
                iface.scale = 2.0 ** -(resol & 0x7F) if resol & 0x80 else 10.0**-resol
            elif code == 14 and len(value) >= 8:
                (iface.offset,) = struct.unpack_from(self.order + "q", value)
        self.interfaces.append(iface)
        stats = self.owner._stats
        stats.snaplen = max(stats.snaplen or 0, snaplen) if snaplen else stats.snaplen

    def _iface(self, index: int) -> _Interface:
        if index < len(self.interfaces):
            return self.interfaces[index]
        # A packet for an interface that was never described: keep it, as Wireshark does
        # not, so that frame numbers stay aligned, but it cannot be decoded.
        return _Interface(linktype=-1, snaplen=0)

    def _packet(
        self, btype: int, data: bytes, body: int, blen: int
    ) -> tuple[int, int, int, float, int] | None:
        order = self.order
        if btype == 6:
            iface_id, tsh, tsl, cap, orig = struct.unpack_from(order + "IIIII", data, body)
            off = body + 20
            opts = off + ((cap + 3) & ~3)
            for code, value in self._options(data, opts, body + blen - 12):
                if code == 4 and len(value) >= 8:
                    self.owner._stats.drops += struct.unpack_from(order + "Q", value)[0]
        elif btype == 3:
            iface_id, tsh, tsl = 0, 0, 0
            (orig,) = struct.unpack_from(order + "I", data, body)
            off = body + 4
            iface = self._iface(0)
            cap = min(orig, blen - 16, iface.snaplen or orig)
        else:
            iface_id, drops, tsh, tsl, cap, orig = struct.unpack_from(order + "HHIIII", data, body)
            off = body + 20
            self.owner._stats.drops += drops if drops != 0xFFFF else 0
        if off + cap > body + blen - 8:
            self.owner._problem(
                "corrupt", phrase("problem_block_overrun", frame=str(self.frame + 1))
            )
            cap = max(0, body + blen - 8 - off)
        iface = self._iface(iface_id)
        stamp = ((tsh << 32) | tsl) * iface.scale + iface.offset if btype != 3 else 0.0
        return off, cap, orig, stamp, iface.linktype

    def _statistics(self, data: bytes, body: int, end: int) -> None:
        # isb_ifdrop is a running total per interface: keep the largest, never add them up.
        (iface_id,) = struct.unpack_from(self.order + "I", data, body)
        drops = self.owner._stats.isb_drops
        for code, value in self._options(data, body + 12, end):
            if code == 5 and len(value) >= 8:
                (count,) = struct.unpack_from(self.order + "Q", value)
                drops[iface_id] = max(drops.get(iface_id, 0), count)
