"""``--jobs``: read captures in several processes and merge their state exactly.

Each file is a *segment*; an uncompressed pcap file of at least :data:`SPLIT_FROM`
bytes is cut, with three or more jobs, into ``jobs - 1`` ranges at record boundaries,
each range a segment of its own, and hashed as a whole by a task of its own (the hash
is one sequential pass: with two jobs, the thread that hashes a file read whole already
has the second core). Segments are numbered in reading order, and
every frame is ordered by ``segment << 40 | frame`` (``flows.py``), so the merged
flows, names and addresses are those one process reading the files in order finds:

- flow totals are order-free (counts, byte sums, flag unions, earliest and latest
  frame), payload chunks are appended in segment order;
- DNS packets are kept per segment and folded into the look-up log in order; a segment
  with more of them than one reading holds (``dnslog.held_limit``: a DNS flood) keeps
  none, and the merge reads that segment's DNS packets again, in order, straight into
  the look-up log (one process reading the files in order, in as little memory). The
  first segment, folded into an empty log, hands over its own log instead;
- frame numbers of a range count from its start and are shifted by the frames of the
  ranges before it once those are known.

A range whose walk does not end exactly on the next range's first record, or that
holds damage, a fragment whose first fragment is elsewhere, or any other problem,
makes its whole file be read again in one piece: the result never depends on where
the cuts fell.
"""

from __future__ import annotations

import copy
import hashlib
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import ParamSpec, TypeVar

from camaudit.model import CaptureInput, FrameRef, Problem, TrafficSummary
from camaudit.traffic import engine
from camaudit.traffic.capfile import (
    CHUNK,
    CaptureFile,
    RangeStats,
    linktype_name,
    pcap_boundaries,
    walk_pcap_range,
)
from camaudit.traffic.dnslog import DnsLog
from camaudit.traffic.slowpath import IcmpError

SPLIT_FROM = 64 << 20  # smaller files are read whole: a range costs a process start
_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Part:
    """One task: a whole file (``end`` is None) or a range of one."""

    seg: int
    path: Path
    display: str
    start: int = 0
    end: int | None = None


@dataclass
class FilePlan:
    """How one file is read: whole, or as ranges plus a hash of the whole."""

    path: Path
    display: str
    parts: list[Part]
    split: bool


@dataclass
class Plan:
    files: list[FilePlan] = field(default_factory=list)


@dataclass
class PartResult:
    part: Part
    run: engine._Run
    info: CaptureInput | None = None  # whole files
    stats: RangeStats | None = None  # ranges


def plan(
    captures: Sequence[CaptureFile],
    jobs: int,
    cuts: dict[Path, list[int]] | None = None,
    always: bool = False,
) -> Plan | None:
    """The tasks for ``captures`` (already in reading order), or None to read in one process.

    ``cuts`` forces range boundaries for a file (tests split at every record); ``always``
    makes a plan however small the input (``--scheduler``: the user asked for the cluster).
    """
    sizes = [engine._size(c.path) for c in captures]
    if (
        not cuts
        and not always
        and (sum(sizes) < engine.PARALLEL_FROM or (len(captures) == 1 and jobs < 2))
    ):
        return None
    result = Plan()
    seg = 0
    for capture, size in zip(captures, sizes, strict=True):
        bounds: list[int] | None = None
        if capture.format == "pcap" and capture.compression is None:
            if cuts and capture.path in cuts:
                bounds = [24, *cuts[capture.path], size]
            elif size >= SPLIT_FROM and jobs > 2:
                # The file's SHA-256 is one sequential pass that takes a core of its own
                # (a thread next to the walk when read whole): cut into jobs - 1 ranges.
                bounds = pcap_boundaries(capture.path, jobs - 1, size)
        if bounds is not None and len(bounds) > 2:
            parts = []
            for start, end in pairwise(bounds):
                parts.append(Part(seg, capture.path, capture.display, start, end))
                seg += 1
            result.files.append(FilePlan(capture.path, capture.display, parts, True))
        else:
            result.files.append(
                FilePlan(
                    capture.path, capture.display, [Part(seg, capture.path, capture.display)], False
                )
            )
            seg += 1
    if not cuts and not always and len(result.files) == 1 and not result.files[0].split:
        return None
    return result


def work(part: Part) -> PartResult:
    """Read one part (in a worker process)."""
    # The first part is folded into an empty look-up log: its own log, as one reading
    # makes it (bounded), is the merged one; later parts hand their DNS packets over.
    return _read(part, engine._Run(collect_dns=part.seg > 0))


def _read(part: Part, run: engine._Run) -> PartResult:
    assert run.fp is not None
    if part.end is None:
        capture = CaptureFile(part.path, part.display)
        try:
            info = run.read(capture, part.seg, None)
        finally:
            capture.close()
        run.close()
        return PartResult(part, run, info=info)
    folded = run.fp.folded
    fp = run.fp

    def hand_over() -> None:
        taken = fp.take()
        if taken is not None:
            from camaudit.traffic.capfile import _raw_batch

            run.feed(_raw_batch(part.display, part.seg, taken))

    def maybe_hand_over() -> None:
        frames, size = fp.pending
        if frames >= 8192 or size >= CHUNK:
            hand_over()

    stats = walk_pcap_range(part.path, part.start, part.end, fp, part.seg, maybe_hand_over)
    hand_over()
    run.fast(fp.folded - folded)
    run.close()
    if run.slow.orphan_fragments or run.unread:
        # The first fragment may be in the range before; undecoded frames are reported by
        # their numbers in the whole file: read the file whole instead.
        stats.exact = False
    return PartResult(part, run, stats=stats)


def sha256(path: Path) -> str:
    """Hash of a whole file (in a worker process, next to its ranges)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(CHUNK):
            digest.update(data)
    return digest.hexdigest()


class _Inline(Executor):
    """Runs each task at once in this process (tests; and re-reading one file)."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


def run(
    todo: Plan,
    problems: list[Problem],
    jobs: int,
    progress: engine.Progress | None = None,
    inline: bool = False,
    pool: Executor | None = None,
) -> TrafficSummary:
    """Run the plan's tasks on ``jobs`` processes (or on ``pool``: a Dask cluster) and merge
    them into one summary."""
    if pool is None and inline:
        pool = _Inline()
    elif pool is None:
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))
    with pool:
        hashes = {f.path: pool.submit(sha256, f.path) for f in todo.files if f.split}
        tasks = {
            part: pool.submit(work, part)
            for file in sorted(todo.files, key=lambda f: -engine._size(f.path))
            for part in file.parts
        }
        total = sum(engine._size(f.path) for f in todo.files)
        done = 0
        results: list[PartResult] = []
        for file in todo.files:
            got = [tasks[part].result() for part in file.parts]
            if file.split and not all(r.stats is not None and r.stats.exact for r in got):
                # A cut fell wrong or the file holds something a range cannot judge alone.
                whole = Part(file.parts[0].seg, file.path, file.display)
                got = [pool.submit(work, whole).result()]
            results.extend(got)
            done += engine._size(file.path)
            if progress is not None:
                progress(done, total)
        return _merge(todo, results, {p: f.result() for p, f in hashes.items()}, problems)


def _merge(
    todo: Plan, results: list[PartResult], hashes: dict[Path, str], problems: list[Problem]
) -> TrafficSummary:
    merged = engine._Run()
    merged.fp = None
    segments: list[tuple[str, int]] = []
    inputs: list[CaptureInput] = []
    by_seg = {r.part.seg: r for r in results}
    for file in todo.files:
        base = 0
        file_results = [by_seg[p.seg] for p in file.parts if p.seg in by_seg]
        ip_packets = other = 0
        for result in file_results:
            while len(segments) <= result.part.seg:
                segments.append((file.display, 0))
            segments[result.part.seg] = (file.display, base)
            ip_before, other_before = merged.ip_packets, merged.other_packets
            _fold(merged, result, base)
            ip_packets += merged.ip_packets - ip_before
            other += merged.other_packets - other_before
            if result.stats is not None:
                base += result.stats.packets
        if len(file_results) == 1 and file_results[0].info is not None:
            inputs.append(file_results[0].info)
        else:
            inputs.append(_range_input(file, file_results, hashes[file.path], ip_packets, other))
    return engine.summarise(merged, inputs, problems, segments)


def _shift(ref: FrameRef, base: int) -> FrameRef:
    return replace(ref, frame=ref.frame + base) if base else ref


def _shift_dns(event: engine.DnsEvent, base: int) -> engine.DnsEvent:
    msg, where, src, sport, dst, dport, truncated = event
    return msg, _shift(where, base), src, sport, dst, dport, truncated


def _read_dns(part: Part, merged: engine._Run, base: int) -> None:
    """Read the DNS packets of ``part`` again (it held too many to hand over), in the
    order its reading found them, into the merged log: the state of every earlier part
    is there, as in one reading."""
    again = engine._Run(dns_only=True)
    again.dns_sink = lambda event: merged.add_dns(_shift_dns(event, base))
    _read(part, again)
    merged.dns_undecodable += again.dns_undecodable
    merged.dns_cut += again.dns_cut


def _fold(merged: engine._Run, result: PartResult, base: int) -> None:
    part = result.run
    merged.flows.merge(part.flows)
    merged.hosts.merge(part.hosts)
    if part.dns_deferred:
        _read_dns(result.part, merged, base)
    else:
        if part.dns_events is None:  # the first part's own log
            assert merged.dns == DnsLog() and base == 0
            merged.dns = part.dns
        for event in part.dns_events or ():
            merged.add_dns(_shift_dns(event, base))
        merged.dns_undecodable += part.dns_undecodable
        merged.dns_cut += part.dns_cut
    merged.slow.icmp_errors.extend(
        IcmpError(_shift(e.where, base), e.sender, e.kind, e.inner_key)
        for e in part.slow.icmp_errors
    )
    merged.slow.orphan_fragments += part.slow.orphan_fragments
    merged.passive.merge(part.passive, base)
    for status, count in part.status_counts.items():
        merged.status_counts[status] = merged.status_counts.get(status, 0) + count
    for capture, unread in part.unread.items():
        merged.unread.setdefault(capture, type(unread)()).merge(unread)
    merged.ip_packets += part.ip_packets
    merged.other_packets += part.other_packets


def _range_input(
    file: FilePlan, results: list[PartResult], digest: str, ip_packets: int, other: int
) -> CaptureInput:
    linktypes: dict[int, int] = {}
    first = last = None
    packets = 0
    snaplen = None
    for result in results:
        stats = result.stats
        assert stats is not None
        packets += stats.packets
        snaplen = stats.snaplen
        for kind, count in stats.linktypes.items():
            linktypes[kind] = linktypes.get(kind, 0) + count
        if stats.first_ts is not None:
            first = stats.first_ts if first is None else first
            last = stats.last_ts
    info = CaptureInput(
        path=file.display,
        sha256=digest,
        format="pcap",
        compression=None,
        packets=packets,
        first_time=first,
        last_time=last,
        link_types=tuple(linktype_name(k) for k in sorted(linktypes)),
        snaplen=snaplen,
        problems=(),
    )
    return engine.file_problems(linktypes, info, ip_packets, other)


class Folder:
    """Whole files folded in one at a time into one state (``watch``), by the merge
    ``--jobs`` uses: a flow that spans two files is one flow."""

    def __init__(self) -> None:
        self.run = engine._Run()
        self.run.fp = None
        self.segments: list[tuple[str, int]] = []
        self.inputs: list[CaptureInput] = []

    def add(self, path: Path, display: str) -> None:
        """Read ``path`` whole (the next file in time) and fold it in."""
        result = work(Part(len(self.segments), path, display))
        self.segments.append((display, 0))
        _fold(self.run, result, 0)
        assert result.info is not None
        self.inputs.append(result.info)

    def summary(self) -> TrafficSummary:
        """Everything folded so far; the state stays foldable.

        Summarising only reads the state, but for the flow table, which it empties as it
        goes: it gets a copy of that table alone. (A deep copy of the whole state, ICMP
        errors and payload chunks included, cost more than the summary after each file.)
        """
        view = copy.copy(self.run)
        view.flows = copy.copy(self.run.flows)
        view.flows.flows = dict(self.run.flows.flows)
        return engine.summarise(view, list(self.inputs), [], self.segments)
