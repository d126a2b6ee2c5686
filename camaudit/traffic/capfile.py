"""Streaming readers for pcap and pcapng files (optionally gzip'd).

The bulk read walks record headers with :mod:`struct` and hands out batches of a
few MiB whose per-packet fields are numpy arrays; nothing is kept after a batch
is consumed, so memory does not grow with file size. scapy's per-packet
dissection is ~100x slower on this path (see ``bench/``), so it is used only for
the few packets whose content matters.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from camaudit.errors import InputError
from camaudit.model import CaptureInput, Problem

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

CHUNK = 4 << 20  # larger chunks were not faster and kept more memory (bench/)
MAX_RECORD = 1 << 20  # larger "packets" mean a corrupt file, not a jumbo frame
# Timestamps a calendar can show (years 1-9999, as Python's datetime); beyond them a
# clock or an if_tsresol/if_tsoffset is wrong, which the reader must be told.
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
    linktype: npt.NDArray[np.int32]

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
class _Stats:
    packets: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    linktypes: dict[int, int] = field(default_factory=dict)
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
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            self.close()
            raise InputError(f"{self.display}: damaged gzip data: {exc}") from None
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
        return self._stream.read(n)

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
            for batch in probe.batches(limit=1):
                if len(batch):
                    return float(batch.ts[0])
            return None
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
                self._problem("truncated", f"compressed data ends early or is damaged: {exc}")
                return
            if not data:
                return
            yield data

    def batches(self, limit: int | None = None) -> Iterator[RawBatch]:
        """Yield the packets in file order, a few MiB at a time."""
        if self.format == "pcap":
            yield from self._pcap_batches(limit)
        else:
            yield from self._pcapng_batches(limit)

    def _problem(self, code: str, message: str, count: int = 1) -> None:
        self._stats.problems.append(Problem(code, message, self.display, count))

    def _note(self, batch: RawBatch) -> RawBatch:
        stats = self._stats
        if len(batch):
            if stats.first_ts is None:
                stats.first_ts = float(batch.ts[0])
            stats.last_ts = float(batch.ts[-1])
            stats.packets = int(batch.frame[-1])
            bad = ~((batch.ts >= TS_RANGE[0]) & (batch.ts <= TS_RANGE[1]))
            if bad.any():
                stats.first_bad_ts_frame = stats.first_bad_ts_frame or int(batch.frame[bad][0])
                stats.bad_ts += int(bad.sum())
            kinds, counts = np.unique(batch.linktype, return_counts=True)
            for kind, count in zip(kinds.tolist(), counts.tolist(), strict=True):
                stats.linktypes[kind] = stats.linktypes.get(kind, 0) + count
        return batch

    def _pcap_batches(self, limit: int | None) -> Iterator[RawBatch]:
        header = self._head + self._read_exact(20)
        if len(header) < 24:
            raise InputError(f"{self.display}: pcap file header is cut short")
        order, scale = _PCAP_MAGICS[self._head]
        _vmaj, _vmin, _zone, _sig, snaplen, network = struct.unpack(order + "HHiIII", header[4:])
        linktype = network & 0xFFFF
        self._stats.snaplen = snaplen
        incl_at = struct.Struct(order + "8xI").unpack_from
        dt = np.dtype(np.uint32).newbyteorder("<" if order == "<" else ">")
        frame = 0
        carry = b""
        for chunk in self._chunks():
            data = carry + chunk if carry else chunk
            # Memory-bound: a C loop measured only ~0.1 s faster per GB (bench/README.md).
            starts, pos, corrupt = _walk_records(data, incl_at, limit)
            if corrupt:
                self._problem(
                    "corrupt",
                    f"record after frame {frame + len(starts)} claims "
                    f"{incl_at(data, pos)[0]} bytes; the rest of the file was not read",
                )
                if len(starts):
                    yield self._note(self._pcap_batch(data, starts, dt, scale, frame, linktype))
                return
            carry = data[pos:]
            if len(starts):
                batch = self._pcap_batch(data, starts, dt, scale, frame, linktype)
                frame += len(starts)
                yield self._note(batch)
            if limit is not None and frame >= limit:
                return
        if carry:
            self._problem(
                "truncated",
                f"the last record (after frame {frame}) is cut short: "
                f"{len(carry)} byte(s) of it are in the file",
            )

    def _pcap_batch(
        self,
        data: bytes,
        starts: list[int],
        dt: np.dtype[np.uint32],
        scale: float,
        frame: int,
        linktype: int,
    ) -> RawBatch:
        pos = np.asarray(starts, dtype=np.int64)
        raw = np.frombuffer(data, dtype=np.uint8)
        idx = pos[:, None] + np.arange(16, dtype=np.int64)[None, :]
        fields = np.ascontiguousarray(raw[idx]).view(dt).reshape(-1, 4).astype(np.int64)
        ts = fields[:, 0].astype(np.float64) + fields[:, 1].astype(np.float64) * scale
        count = len(starts)
        return RawBatch(
            capture=self.display,
            data=data,
            off=pos + 16,
            caplen=fields[:, 2],
            origlen=fields[:, 3],
            ts=ts,
            frame=np.arange(frame + 1, frame + count + 1, dtype=np.int64),
            linktype=np.full(count, linktype, dtype=np.int32),
        )

    # -- pcapng ----------------------------------------------------------------

    def _pcapng_batches(self, limit: int | None) -> Iterator[RawBatch]:
        reader = _PcapngWalker(self)
        carry = self._head
        for chunk in self._chunks():
            data = carry + chunk
            batch, used = reader.walk(data, limit)
            carry = data[used:]
            if batch is not None:
                yield self._note(batch)
            if reader.stopped or (limit is not None and reader.frame >= limit):
                return
        if not reader.sections:
            raise InputError(f"{self.display}: pcapng section header is cut short")
        if carry and not reader.stopped:
            self._problem(
                "truncated",
                f"the last block (after frame {reader.frame}) is cut short: "
                f"{len(carry)} byte(s) of it are in the file",
            )

    # -- summary ---------------------------------------------------------------

    def summary(self) -> CaptureInput:
        """What was read; call after :meth:`batches` is exhausted (hashes the whole file)."""
        stats = self._stats
        problems = list(stats.problems)
        drops = stats.drops + sum(stats.isb_drops.values())
        if drops:
            problems.append(
                Problem(
                    "drops", f"the capture reports {drops} dropped packet(s)", self.display, drops
                )
            )
        if stats.bad_ts:
            problems.append(
                Problem(
                    "timestamp",
                    f"{stats.bad_ts} packet(s) carry a timestamp outside the years 1-9999 "
                    f"(first: frame {stats.first_bad_ts_frame}); the capture's clock or "
                    "timestamp resolution is wrong",
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


def _walk_records(
    data: bytes, incl_at: Callable[[bytes, int], tuple[int, ...]], limit: int | None
) -> tuple[list[int], int, bool]:
    """Where each complete record starts: (record starts, stop position, corrupt)."""
    n = len(data)
    pos = 0
    starts: list[int] = []
    append = starts.append
    while pos + 16 <= n:  # the hot loop: keep it minimal
        (incl,) = incl_at(data, pos)
        if incl > MAX_RECORD:
            return starts, pos, True
        end = pos + 16 + incl
        if end > n:
            break
        append(pos)
        pos = end
        if limit is not None and len(starts) >= limit:
            break
    return starts, pos, False


@dataclass
class _Interface:
    linktype: int
    snaplen: int
    scale: float = 1e-6
    offset: int = 0


class _PcapngWalker:
    """Walks pcapng blocks; keeps section and interface state between chunks."""

    def __init__(self, owner: CaptureFile) -> None:
        self.owner = owner
        self.order = "<"
        self.interfaces: list[_Interface] = []
        self.frame = 0
        self.sections = 0
        self.stopped = False

    def walk(self, data: bytes, limit: int | None) -> tuple[RawBatch | None, int]:
        n = len(data)
        pos = 0
        offs: list[int] = []
        caps: list[int] = []
        origs: list[int] = []
        stamps: list[float] = []
        kinds: list[int] = []
        while pos + 12 <= n:
            if data[pos : pos + 4] == _PCAPNG_SHB:
                if pos + 12 > n:
                    break
                bom = data[pos + 8 : pos + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    self.order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    self.order = ">"
                else:
                    self._stop(f"section header at byte offset {pos} has a bad byte-order magic")
                    break
            btype, blen = struct.unpack_from(self.order + "II", data, pos)
            if blen < 12 or blen % 4 or blen > MAX_RECORD + 64:
                self._stop(
                    f"block at frame {self.frame + len(offs)} has an impossible length {blen}"
                )
                break
            if pos + blen > n:
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
                    offs.append(off)
                    caps.append(cap)
                    origs.append(orig)
                    stamps.append(stamp)
                    kinds.append(kind)
            elif btype == 5:
                self._statistics(data, body, pos + blen - 4)
            pos += blen
            if self.stopped or (limit is not None and self.frame + len(offs) >= limit):
                break
        if not offs:
            return None, pos
        count = len(offs)
        batch = RawBatch(
            capture=self.owner.display,
            data=data,
            off=np.asarray(offs, dtype=np.int64),
            caplen=np.asarray(caps, dtype=np.int64),
            origlen=np.asarray(origs, dtype=np.int64),
            ts=np.asarray(stamps, dtype=np.float64),
            frame=np.arange(self.frame + 1, self.frame + count + 1, dtype=np.int64),
            linktype=np.asarray(kinds, dtype=np.int32),
        )
        self.frame += count
        return batch, pos

    def _stop(self, message: str) -> None:
        self.owner._problem("corrupt", message + "; the rest of the file was not read")
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
                "corrupt", f"frame {self.frame + 1}: captured length exceeds its block"
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
