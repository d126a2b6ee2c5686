"""Record a segment for ``audit``: dumpcap into rotated files kept as evidence.

The files are the evidence every frame number in the report points into, so they
are written to the output directory and never deleted. While recording, a progress
callback gets the packets counted so far in the growing files and the time elapsed,
and, when a ``judge`` is given, the flows and findings so far: each ring file is
handed to the judge once, as soon as dumpcap has begun the next one (the rest when
recording ends). The judge is ``watch``'s running state (one fold per file, the
``--jobs`` merge, the verify policy); it is only a view: the report is still made by
verifying every file after recording. Recording sends no packet.
"""

from __future__ import annotations

import shutil
import signal
import struct
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from camaudit.audit.durations import MAX_SECONDS
from camaudit.errors import CamauditError, InputError, UsageError
from camaudit.report.model import RecordingEntry
from camaudit.sanitize import clean_text

PREFIX = "audit"
_EPB, _SPB, _SHB = 6, 3, 0x0A0D0D0A


@dataclass(frozen=True)
class RecordStatus:
    """What the progress line shows: packets in the files so far (the growing one too),
    seconds elapsed, and -- once a file has closed and been judged -- flows and findings
    in the closed files (None: none judged yet, or the judge failed: see ``unjudged``)."""

    packets: int
    elapsed: float
    files: int = 0  # closed files judged so far
    flows: int | None = None
    findings: int | None = None
    closed: Path | None = None  # set when this status follows the judging of that file
    unjudged: str | None = None  # why flows and findings are not shown


RecordProgress = Callable[[RecordStatus], None]


class Judge(Protocol):
    """Folds the next closed file into a running state; returns (flows, findings) so far."""

    def tally(self, path: Path) -> tuple[int, int]: ...


@dataclass(frozen=True)
class RecordPlan:
    """What to record, for how long, into which directory, rotated every ``rotate`` s."""

    interface: str
    duration: float
    directory: Path
    rotate: float = 300.0


def record(
    plan: RecordPlan, progress: RecordProgress | None = None, judge: Judge | None = None
) -> RecordingEntry:
    """Record ``plan.interface`` for ``plan.duration`` seconds with dumpcap's ring buffer.

    ``progress`` is called about twice a second and once after each file ``judge`` has
    read (with ``closed`` set); every file is judged once, the last when recording ends.

    Raises :class:`UsageError` for a bad duration or a non-empty directory, and
    :class:`InputError` when dumpcap is missing or cannot open the interface.
    """
    if not 0 < plan.duration <= MAX_SECONDS:
        raise UsageError("--duration must be more than 0 and at most 24h")
    dumpcap = dumpcap_path()
    prepare(plan.directory)
    seconds = max(1, round(plan.duration))
    argv = dumpcap_argv(dumpcap, plan.interface, min(plan.rotate, seconds), plan.directory)
    argv[2:2] = ["-a", f"duration:{seconds}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    view = _View(plan.directory, progress, judge, time.monotonic())
    try:
        while proc.poll() is None:
            view.closed(ring_files(plan.directory)[:-1])  # the newest file is still growing
            view.show()
            if view.elapsed() > seconds + 30:
                proc.send_signal(signal.SIGINT)  # dumpcap flushes its last packets on SIGINT
                proc.wait(timeout=15)
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
        raise
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    files = ring_files(plan.directory)
    if proc.returncode not in (0, -signal.SIGINT) or not files:
        lines = err.strip().splitlines()
        text = clean_text(lines[-1] if lines else "failed")
        raise InputError(f"recording on {clean_text(plan.interface)} failed: {text}")
    view.closed(files)
    view.show()
    return RecordingEntry(
        interface=plan.interface,
        duration=plan.duration,
        tool="dumpcap",
        directory=str(plan.directory),
        files=tuple(str(f) for f in files),
    )


class _View:
    """The progress the recording loop hands out: packets, time, and the judge's tally."""

    def __init__(
        self,
        directory: Path,
        progress: RecordProgress | None,
        judge: Judge | None,
        start: float,
    ) -> None:
        self.directory, self.progress, self.judge, self.start = directory, progress, judge, start
        self.done = 0
        self.packets = PacketCounter()
        self.tally: tuple[int, int] | None = None
        self.unjudged: str | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def closed(self, files: list[Path]) -> None:
        """Judge the closed ``files`` not judged yet, each once, in time order."""
        for path in files[self.done :]:
            self.done += 1
            if self.progress is None:
                continue
            if self.judge is not None:
                try:
                    self.tally = self.judge.tally(path)
                except (CamauditError, OSError, ValueError) as exc:
                    # Only the view is lost: the report verifies every file after
                    # recording and says there what could not be read.
                    self.judge, self.tally = None, None
                    self.unjudged = clean_text(str(exc)) or type(exc).__name__
            self.show(path)

    def show(self, closed: Path | None = None) -> None:
        if self.progress is None:
            return
        flows, findings = self.tally if self.tally is not None else (None, None)
        packets = self.packets.count(ring_files(self.directory))
        judged = self.done if self.tally is not None else 0
        self.progress(
            RecordStatus(packets, self.elapsed(), judged, flows, findings, closed, self.unjudged)
        )


def dumpcap_path() -> str:
    """Where dumpcap is; an input error when it is not installed."""
    dumpcap = shutil.which("dumpcap")
    if dumpcap is None:
        raise InputError("recording needs dumpcap (apt-get install tshark)")
    return dumpcap


def dumpcap_argv(
    dumpcap: str, interface: str, rotate: float, directory: Path, prefix: str = PREFIX
) -> list[str]:
    """dumpcap writing a ring of pcapng files ``prefix_NNNNN_TIME.pcapng``, one per
    ``rotate`` seconds, into ``directory``."""
    return [
        dumpcap,
        "-q",
        "-i",
        interface,
        "-b",
        f"duration:{max(1, round(rotate))}",
        "-w",
        str(directory / f"{prefix}.pcapng"),
    ]


def prepare(directory: Path) -> None:
    """A new or empty directory for recorded files; a usage or input error otherwise."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(
            f"--record-dir {clean_text(str(directory))}: must be a new or empty directory "
            "(recordings are evidence and are never overwritten)"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {clean_text(str(directory))}: {exc.strerror}") from None


def ring_files(directory: Path, prefix: str = PREFIX) -> list[Path]:
    """dumpcap's ring files in ``directory``, oldest first."""
    # dumpcap names ring files PREFIX_NNNNN_TIME.pcapng: sorted by name is in time order.
    return sorted(directory.glob(f"{prefix}_*.pcapng"))


def count_packets(files: list[Path]) -> int:
    """Packets in (possibly still growing) pcapng files: complete packet blocks only."""
    return PacketCounter().count(files)


class PacketCounter:
    """Counts packets in growing pcapng files, reading only what was added since the
    last count (a recording polls twice a second; its files only grow)."""

    def __init__(self) -> None:
        # per file: the byte offset of the next block, packets before it, byte order
        self.seen: dict[Path, tuple[int, int, str]] = {}

    def count(self, files: list[Path]) -> int:
        return sum(self._one(f) for f in files)

    def _one(self, path: Path) -> int:
        offset, count, endian = self.seen.get(path, (0, 0, ""))
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except OSError:
            return count
        at = 0
        if not endian:  # the section header block: its byte-order magic
            if len(data) < 12 or struct.unpack_from("<I", data)[0] != _SHB:
                return 0
            endian = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        while at + 12 <= len(data):
            kind, length = struct.unpack_from(f"{endian}II", data, at)
            if length < 12 or at + length > len(data):
                break  # the block dumpcap is still writing
            count += kind in (_EPB, _SPB)
            at += length
        self.seen[path] = (offset + at, count, endian)
        return count
