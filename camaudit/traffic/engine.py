"""The traffic stage: capture files in, a :class:`TrafficSummary` out."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from itertools import groupby
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from camaudit.errors import InputError
from camaudit.model import (
    CaptureInput,
    Flow,
    FlowCategory,
    FlowCore,
    FrameRef,
    HostInfo,
    Problem,
    TrafficSummary,
)
from camaudit.phrases import first_frames, phrase, problem
from camaudit.traffic import apps
from camaudit.traffic._fastpass import NETWORK, SPILL, Pass
from camaudit.traffic.capfile import SUPPORTED_LINKTYPES, CaptureFile, RawBatch, linktype_name
from camaudit.traffic.dnslog import DnsLog, held_limit
from camaudit.traffic.flows import (
    FLOW_LIMIT,
    FRAME_MASK,
    NETWORK_LIMIT,
    PAIR_LIMIT,
    SEG_SHIFT,
    FlowRecord,
    FlowTable,
    Segments,
    frame_ref,
)
from camaudit.traffic.passive import PassiveLog
from camaudit.traffic.slowpath import IcmpError, SlowPath, address

if TYPE_CHECKING:
    from camaudit.traffic import decode as d

Progress = Callable[[int, int], None]  # (bytes done, bytes total)
PARALLEL_FROM = 32 << 20  # below this in all, one process reads everything (--jobs)
# Source addresses whose MAC is kept (the compiled pass keeps as many); a flood of spoofed
# sources (or a scan answered from every address) past them is counted, not kept.
HOST_LIMIT = 100_000
# msg, frame, source, source port, destination, destination port, cut by the snaplen
DnsEvent = tuple[apps.DnsMessage, FrameRef, str, int, str, int, bool]

_CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
)


def expand_inputs(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Files named, and capture files found under directories named.

    Files in a directory that are not captures are skipped and said to be; a
    directory with no capture at all is an input error.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    for item in paths:
        path = Path(item)
        try:
            path.lstat()
        except FileNotFoundError:
            raise InputError(f"{path}: no such file or directory") from None
        except OSError as exc:  # a name too long, a loop: bad input, not a crash
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if path.is_dir():
            found, skipped = _scan_directory(path)
            if not found:
                raise InputError(f"{path}: directory holds no pcap or pcapng capture")
            files.extend(found)
            if skipped:
                shown = ", ".join(str(p) for p in skipped[:5])
                more = ", ..." if len(skipped) > 5 else ""  # the count says how many
                said = phrase(
                    "problem_skipped_captures",
                    count=len(skipped),
                    path=str(path),
                    files=shown,
                    more=more,
                )
                problems.append(problem("skipped_files", said, str(path), len(skipped)))
        elif path.exists() or path.is_symlink():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    if not files:
        raise InputError("no capture given")
    return files, problems


def _scan_directory(root: Path) -> tuple[list[Path], list[Path]]:
    found: list[Path] = []
    skipped: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                with path.open("rb") as handle:
                    head = handle.read(4)
            except OSError:
                head = b""
            if head in _CAPTURE_MAGICS or head[:2] == b"\x1f\x8b":
                found.append(path)
            else:
                skipped.append(path)
    return found, skipped


class _Run:
    """State of one analysis across all its files (or, under ``--jobs``, one part of it)."""

    def __init__(self, collect_dns: bool = False, dns_only: bool = False) -> None:
        self.fp: Pass | None = Pass(
            max_flows=FLOW_LIMIT,
            max_pairs=PAIR_LIMIT,
            max_hosts=HOST_LIMIT,
            max_networks=NETWORK_LIMIT,
        )
        self.flows = FlowTable()
        self.slow = SlowPath()
        self.dns = DnsLog()
        self.passive = PassiveLog()
        self.hosts = HostTable()
        self.status_counts: dict[int, int] = {}  # decode's status -> frames (0: OK)
        self.unread: dict[str, _Unread] = {}  # per capture: frames no statement covers
        self.dns_undecodable = 0
        self.dns_cut = 0  # DNS packets the snapshot length cut too short to decode
        self.ip_packets = 0
        self.other_packets = 0
        # Under --jobs a part keeps its DNS packets to be folded in file order at the end, up
        # to dnslog.held_limit(); past it none (``dns_deferred``, the rest not even parsed):
        # the merge reads the part's DNS again, straight into the merged log (parallel.py).
        self.dns_events: list[DnsEvent] | None = [] if collect_dns else None
        self.dns_held = held_limit()
        self.dns_deferred = False
        self.dns_sink: Callable[[DnsEvent], None] | None = None  # else add_dns
        self.dns_only = dns_only  # that second reading: it looks at nothing but DNS

    def feed(self, batch: RawBatch, depth: int = 0) -> None:
        """Decode and fold the frames the compiled pass handed over (and what they tunnel)."""
        from camaudit.traffic import decode as d

        cols, raw = d.decode(batch)
        self.slow.finish(batch, cols, raw)
        if depth >= _MAX_TUNNELS:  # a tunnel in a tunnel ... past any real network
            cols.status[cols.status == d.OK] = d.NOT_UNDERSTOOD
        self._dns(batch, cols)
        if not self.dns_only:
            self._frames(batch, cols, depth)
        inner = d.tunnel_payloads(batch, cols)
        if inner is not None:
            self.feed(inner, depth + 1)

    def _frames(self, batch: RawBatch, cols: d.Columns, depth: int) -> None:
        """Fold decoded frames into everything but the DNS log."""
        import numpy as np

        from camaudit.traffic import decode as d

        counts = np.bincount(cols.status, minlength=d.STATUSES).tolist()
        for status, count in enumerate(counts):
            if count:
                self.status_counts[status] = self.status_counts.get(status, 0) + count
        if depth == 0:  # a tunnelled packet is counted once, as its outer frame
            self.ip_packets += counts[d.OK]
            self.other_packets += counts[d.NOT_IP]
        self._unread(batch, cols)
        self._hosts(batch, cols)
        self._arp(batch, cols)
        self._passive(batch, cols)
        self.flows.add(batch, cols)

    def fast(self, count: int) -> None:
        """``count`` frames the compiled pass decoded and folded itself."""
        self.status_counts[0] = self.status_counts.get(0, 0) + count
        self.ip_packets += count

    def note_mac(self, addr: str, mac: str, order: int) -> None:
        """An address seen with a MAC: the earliest frame's MAC stands."""
        self.hosts.note(addr, mac, order)

    def _unread(self, batch: RawBatch, cols: d.Columns) -> None:
        import numpy as np

        from camaudit.traffic import decode as d

        rows = np.nonzero(d.among(cols.status, d.UNREAD))[0]
        if not len(rows):
            return
        unread = self.unread.setdefault(batch.capture, _Unread())
        for status in d.UNREAD:
            unread.counts[status] = unread.counts.get(status, 0) + int(
                np.count_nonzero(cols.status[rows] == status)
            )
        # Tunnelled packets come after their batch: keep the lowest numbers, whatever the order.
        first = unread.frames | set(batch.frame[rows[:_FIRST_FRAMES]].tolist())
        unread.frames = set(sorted(first)[:_FIRST_FRAMES])

    def _hosts(self, batch: RawBatch, cols: d.Columns) -> None:
        import numpy as np

        from camaudit.traffic import decode as d

        seg = batch.seg << SEG_SHIFT
        rows = np.nonzero((cols.status == d.OK) & (cols.smac >= 0))[0]
        # the columns as lists once a batch, not four numpy scalars a frame (as in _dns), and
        # a run of frames of one address and MAC noted at once (a flood is one long run)
        taken = (cols.src_hi, cols.src_lo, cols.smac, batch.frame)
        frames = zip(*(column[rows].tolist() for column in taken), strict=True)
        for (hi, lo, mac), run in groupby(frames, key=itemgetter(0, 1, 2)):
            orders = [seg | frame for _hi, _lo, _mac, frame in run]
            self.hosts.note_run(address(hi, lo), _mac_text(mac), orders)

    def _arp(self, batch: RawBatch, cols: d.Columns) -> None:
        import numpy as np

        from camaudit.traffic import decode as d

        seg = batch.seg << SEG_SHIFT
        for row in np.nonzero((cols.status == d.NOT_IP) & (cols.ethertype == d.ETH_ARP))[0]:
            l3 = int(cols.l3[row])
            if l3 + 28 > int(batch.off[row] + batch.caplen[row]):
                continue
            hw, proto, hlen, plen = struct.unpack_from("!HHBB", batch.data, l3)
            if hw == 1 and proto == 0x0800 and hlen == 6 and plen == 4:
                mac = int.from_bytes(batch.data[l3 + 8 : l3 + 14], "big")
                ip = batch.data[l3 + 14 : l3 + 18]
                if any(ip):
                    addr = ".".join(str(b) for b in ip)
                    self.note_mac(addr, _mac_text(mac), seg | int(batch.frame[row]))

    def _dns(self, batch: RawBatch, cols: d.Columns) -> None:
        import numpy as np

        from camaudit.traffic import decode as d

        if self.dns_deferred:
            return
        ok = cols.status == d.OK
        udp = ok & (cols.proto == d.UDP) & ((cols.sport == 53) | (cols.dport == 53))
        tcp = ok & (cols.proto == d.TCP) & ((cols.sport == 53) | (cols.dport == 53))
        rows = np.nonzero((udp | tcp) & (cols.pay_cap > 0))[0]
        # Each column is taken once a batch as a list: ten numpy scalars a packet cost more
        # than the packet's strict DNS reading (a DNS flood is nothing but such rows).
        taken = [
            *(cols.pay_off, cols.pay_cap, cols.proto, batch.frame, batch.ts),
            *(cols.src_hi, cols.src_lo, cols.sport, cols.dst_hi, cols.dst_lo, cols.dport),
        ]
        cut_short = (cols.pay_cap[rows] < cols.pay_len[rows]).tolist()
        packets = zip(*(column[rows].tolist() for column in taken), cut_short, strict=True)
        # one reading without a sink folds each packet straight in, without an event tuple
        direct = self.dns.add if self.dns_events is None and self.dns_sink is None else None
        fold = self.dns_sink or self.add_dns
        for start, cap, proto, frame, ts, shi, slo, sport, dhi, dlo, dport, cut in packets:
            payload = batch.data[start : start + cap]
            if proto == d.TCP:
                payload = payload[2:]  # one message per segment: the usual case
            msg = apps.parse_dns(payload)
            if msg is None:
                if cut:
                    self.dns_cut += 1
                else:
                    self.dns_undecodable += 1
                continue
            where = FrameRef(batch.capture, frame, ts)
            if direct is not None:
                direct(msg, where, address(shi, slo), sport, address(dhi, dlo), dport, cut)
                continue
            event: DnsEvent = (msg, where, address(shi, slo), sport, address(dhi, dlo), dport, cut)
            if self.dns_events is None:
                fold(event)
            elif len(self.dns_events) < self.dns_held:
                self.dns_events.append(event)
            else:
                self._defer_dns()
                return

    def _defer_dns(self) -> None:
        """Past the DNS packets a part holds: drop them all, and their counts, for the
        merge to read this part's DNS again (one reading's result, in bounded memory)."""
        assert self.dns_events is not None
        self.dns_events.clear()
        self.dns_deferred = True
        self.dns_undecodable = self.dns_cut = 0

    def _passive(self, batch: RawBatch, cols: d.Columns) -> None:
        import numpy as np

        from camaudit.traffic import decode as d
        from camaudit.traffic import passive

        ports = list(passive.PASSIVE_PORTS)
        udp = (cols.status == d.OK) & (cols.proto == d.UDP) & (cols.pay_cap > 0)
        wanted = udp & (d.among(cols.sport, ports) | d.among(cols.dport, ports))
        seg = batch.seg << SEG_SHIFT
        for row in np.nonzero(wanted)[0].tolist():
            start, cap = int(cols.pay_off[row]), int(cols.pay_cap[row])
            mac = _mac_text(int(cols.smac[row])) if cols.smac[row] >= 0 else None
            src = address(int(cols.src_hi[row]), int(cols.src_lo[row]))
            where = FrameRef(batch.capture, int(batch.frame[row]), float(batch.ts[row]))
            passive.read_packet(
                self.passive,
                batch.data[start : start + cap],
                (int(cols.sport[row]), int(cols.dport[row])),
                (mac, src),
                where,
                seg | int(batch.frame[row]),
            )

    def add_dns(self, event: DnsEvent) -> None:
        """Fold one decoded DNS packet into the look-up log."""
        msg, where, src, sport, dst, dport, truncated = event
        self.dns.add(msg, where, src, sport, dst, dport, truncated=truncated)

    def close(self) -> None:
        """Move the compiled pass's flows and addresses into the Python tables."""
        if self.fp is None or self.dns_only:
            self.fp = None
            return
        self.flows.add_compiled(self.fp.flows())
        self.flows.summarised += self.fp.summarised
        compiled = HostTable()
        for hi, lo, mac, order, frames in self.fp.hosts():
            compiled.macs[address(hi, lo)] = (order, _mac_text(mac), frames)
        compiled.drop(*self.fp.hosts_dropped())
        self.hosts.merge(compiled)
        self.fp = None  # a C object: not sent between processes

    def read(self, capture: CaptureFile, seg: int, tick: Callable[[], None] | None) -> CaptureInput:
        """Read one whole capture file as segment ``seg``."""
        assert self.fp is not None
        ip_before, other_before = self.ip_packets, self.other_packets
        folded = self.fp.folded
        capture.walk(self.fp, seg, self.feed, tick=tick)
        self.fast(self.fp.folded - folded)
        self.hosts.drop(*self.fp.hosts_dropped())
        info = capture.summary()
        return file_problems(
            capture.linktype_counts,
            info,
            self.ip_packets - ip_before,
            self.other_packets - other_before,
        )


_MAX_TUNNELS = 8
_FIRST_FRAMES = 10


class HostTable:
    """Each source address's MAC, as its earliest frame gives it, for the first
    :data:`HOST_LIMIT` addresses by first frame (and address, for one frame's two). A later
    address's MAC is not kept, never guessed: its flows show none, and its frames are
    counted per segment with the first few (``hosts_bounded``).

    Never a wrong MAC: an address whose earliest frame a table did not keep had the limit's
    worth of addresses before it there, so it is past the limit in any merge too. Frames
    arrive here nearly in order (a tunnel's after its batch): the table holds up to twice
    the limit and is cut back to the first ones (:meth:`settle`), so what it keeps does not
    depend on the order.
    """

    def __init__(self) -> None:
        self.macs: dict[str, tuple[int, str, int]] = {}  # address -> (earliest ord, MAC, frames)
        self.dropped: dict[int, list[int]] = {}  # segment -> [frames, first ords ...]
        self.cutoff: tuple[int, str] | None = None  # the last address kept when cut back

    def note(self, addr: str, mac: str, order: int) -> None:
        if self._fold(addr, order, mac, 1):
            return
        if self.cutoff is not None and (order, addr) > self.cutoff:
            self.drop(1, (order,))
        else:
            self.macs[addr] = (order, mac, 1)
            if HOST_LIMIT and len(self.macs) >= 2 * HOST_LIMIT:
                self.settle()

    def note_run(self, addr: str, mac: str, orders: list[int]) -> None:
        """:meth:`note` each of ``orders`` (frames of ``addr`` with ``mac``, nothing between
        them): once the first is noted, an address kept folds the rest at once, as one by
        one they would fold (the earliest frame's MAC, the same MAC)."""
        self.note(addr, mac, orders[0])
        if len(orders) > 1 and not self._fold(addr, min(orders[1:]), mac, len(orders) - 1):
            for order in orders[1:]:
                self.note(addr, mac, order)

    def _fold(self, addr: str, order: int, mac: str, frames: int) -> bool:
        """Add ``frames`` to a kept address (the earliest frame's MAC stands); False when the
        address is not kept here."""
        seen = self.macs.get(addr)
        if seen is None:
            return False
        earliest = (order, mac) if order < seen[0] else seen[:2]
        self.macs[addr] = (*earliest, seen[2] + frames)
        return True

    def mac(self, addr: str) -> str | None:
        seen = self.macs.get(addr)
        return seen[1] if seen else None

    def drop(self, frames: int, orders: Iterable[int]) -> None:
        """``frames`` not kept, the first of them at ``orders`` (all of one segment)."""
        orders = list(orders)
        if not frames:
            return
        entry = self.dropped.setdefault(orders[0] >> SEG_SHIFT, [0])
        entry[0] += frames
        if len(entry) <= _FIRST_FRAMES or min(orders) < entry[-1]:
            entry[1:] = sorted({*entry[1:], *orders})[:_FIRST_FRAMES]

    def merge(self, other: HostTable) -> None:
        """Fold in another table (the compiled pass's, or another range's under ``--jobs``)
        and hold the whole to the limit as one reading would (:meth:`settle`)."""
        for addr, (order, mac, frames) in other.macs.items():
            if not self._fold(addr, order, mac, frames):
                self.macs[addr] = (order, mac, frames)
        for entry in other.dropped.values():
            self.drop(entry[0], entry[1:])
        self.settle()

    def settle(self) -> None:
        """Keep the first :data:`HOST_LIMIT` addresses by first frame; the frames of the
        others are counted as not kept, each address's first frame among the first ones."""
        if not HOST_LIMIT or len(self.macs) <= HOST_LIMIT:
            return
        ranked = sorted(self.macs.items(), key=lambda item: (item[1][0], item[0]))
        for addr, (order, _mac, frames) in ranked[HOST_LIMIT:]:
            del self.macs[addr]
            self.drop(frames, (order,))
        last, (order, *_) = ranked[HOST_LIMIT - 1]
        self.cutoff = (order, last)  # later additions come before it: it never grows

    def problems(self, segments: Segments) -> list[Problem]:
        """Per capture, the frames whose source address was past the limit."""
        by_capture: dict[str, list[int]] = {}
        for seg, (count, *orders) in sorted(self.dropped.items()):
            capture, base = segments[seg]
            entry = by_capture.setdefault(capture, [0])
            entry[0] += count
            entry.extend(base + (order & FRAME_MASK) for order in orders)
        problems = []
        for capture, (count, *shown) in sorted(by_capture.items()):
            first = sorted(shown)[:_FIRST_FRAMES]
            said = first_frames(first, count > len(first))
            message = phrase("problem_hosts_bounded", count=count, limit=HOST_LIMIT, **said)
            problems.append(problem("hosts_bounded", message, capture, count))
        return problems


@dataclass
class _Unread:
    """Frames of one capture that the decoder could not read, by reason."""

    counts: dict[int, int] = field(default_factory=dict)
    frames: set[int] = field(default_factory=set)

    def problem(self, capture: str) -> Problem:
        from camaudit.traffic import decode as d

        reasons = {
            d.UNKNOWN_LINK: "undecoded_unknown_link",
            d.NOT_UNDERSTOOD: "undecoded_not_understood",
            d.MALFORMED: "undecoded_malformed",
        }
        total = sum(self.counts.values())
        why = tuple(phrase(reasons[s], count=n) for s, n in self.counts.items() if n)
        first = sorted(self.frames)[:_FIRST_FRAMES]
        said = first_frames(first, total > len(first))
        message = phrase("problem_undecoded", count=total, why=why, **said)
        return problem("undecoded", message, capture, total)

    def merge(self, other: _Unread) -> None:
        """Fold in the same capture's count from another part (``--jobs``)."""
        for status, count in other.counts.items():
            self.counts[status] = self.counts.get(status, 0) + count
        self.frames = set(sorted(self.frames | other.frames)[:_FIRST_FRAMES])


@lru_cache(maxsize=65536)
def _mac_text(mac: int) -> str:
    return ":".join(f"{(mac >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))


def file_problems(
    linktypes: dict[int, int], info: CaptureInput, ip_packets: int, other: int
) -> CaptureInput:
    """``info`` with its link-type problems and packet counts (or an error if none is usable)."""
    problems = list(info.problems)
    unknown = {k: n for k, n in linktypes.items() if k not in SUPPORTED_LINKTYPES}
    if unknown and sum(unknown.values()) == info.packets:
        names = ", ".join(linktype_name(k) for k in sorted(unknown))
        raise InputError(
            f"{info.path}: link type {names} is not supported "
            "(supported: Ethernet, Linux SLL/SLL2, PPP, Cisco HDLC, raw IP, BSD loopback)"
        )
    for kind, count in sorted(unknown.items()):
        problems.append(
            problem(
                "unknown_linktype",
                phrase("problem_unknown_linktype", count=count, linktype=linktype_name(kind)),
                info.path,
                count,
            )
        )
    return replace(info, problems=tuple(problems), ip_packets=ip_packets, other_packets=other)


def analyse(
    paths: Sequence[str | Path],
    progress: Progress | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> TrafficSummary:
    """Read every capture (files and directories), in time order, into one summary.

    With ``jobs`` above 1, files (and large pcap files cut into ranges) are read by
    that many processes and merged exactly (:mod:`camaudit.traffic.parallel`); with
    ``scheduler`` (``tcp://HOST:PORT``), by that Dask cluster's workers
    (:mod:`camaudit.traffic.cluster`).
    Raises :class:`InputError` when a capture cannot be read at all; damage that
    leaves part of a file readable becomes a :class:`Problem` instead.
    """
    files, problems = expand_inputs(paths)
    captures = [CaptureFile(path) for path in files]
    try:
        starts = {id(c): c.first_time() for c in captures}
        captures.sort(key=lambda c: (starts[id(c)] is None, starts[id(c)] or 0.0))
        if scheduler is not None:
            from camaudit.traffic import cluster

            for capture in captures:
                capture.close()
            return cluster.analyse(captures, problems, scheduler, progress)
        if jobs > 1 and sum(_size(c.path) for c in captures) >= PARALLEL_FROM:
            from camaudit.traffic import parallel  # processes: not worth starting below

            plan = parallel.plan(captures, jobs)
            if plan is not None:
                for capture in captures:
                    capture.close()
                return parallel.run(plan, problems, jobs, progress)
        total = sum(_size(c.path) for c in captures)
        done = 0
        run = _Run()
        inputs: list[CaptureInput] = []
        for seg, capture in enumerate(captures):

            def tick(capture: CaptureFile = capture, done: int = done) -> None:
                if progress is not None:
                    progress(done + capture._reader.consumed, total)

            inputs.append(run.read(capture, seg, tick))
            done += _size(capture.path)
        run.close()
        segments = [(c.display, 0) for c in captures]
    finally:
        for capture in captures:
            capture.close()
    return summarise(run, inputs, problems, segments)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _status_problems(counts: dict[int, int], short: int) -> list[Problem]:
    problems = []
    if counts.get(short):
        problems.append(
            problem("snaplen", phrase("problem_snaplen", count=counts[short]), None, counts[short])
        )
    return problems


def summarise(
    run: _Run, inputs: list[CaptureInput], problems: list[Problem], segments: Segments
) -> TrafficSummary:
    counts = run.status_counts
    if any(n for status, n in counts.items() if status):  # only Python decodes these
        from camaudit.traffic import decode as d

        problems.extend(_status_problems(counts, d.SHORT))
    problems.extend(run.unread[capture].problem(capture) for capture in sorted(run.unread))
    if run.slow.orphan_fragments:
        problems.append(
            problem(
                "fragments",
                phrase("problem_fragments", count=run.slow.orphan_fragments),
                None,
                run.slow.orphan_fragments,
            )
        )
    if run.dns_undecodable:
        problems.append(
            problem(
                "dns_undecodable",
                phrase("problem_dns_undecodable", count=run.dns_undecodable),
                None,
                run.dns_undecodable,
            )
        )
    run.flows.settle()
    if run.flows.summarised:
        problems.append(
            problem(
                "flows_summarised",
                phrase("problem_flows_summarised", count=run.flows.summarised, limit=FLOW_LIMIT),
                None,
                run.flows.summarised,
            )
        )
    problems.extend(network_problems(_pools(run.flows, NETWORK, segments)))
    problems.extend(spilled_problems(_pools(run.flows, SPILL, segments)))
    run.hosts.settle()  # before any flow takes a MAC from it
    problems.extend(run.hosts.problems(segments))
    cut = run.dns_cut + run.dns.truncated()
    problems.extend(run.dns.problems())
    if cut:
        problems.append(problem("snaplen", phrase("problem_snaplen_dns", count=cut), None, cut))
    flows = tuple(
        _flow(record, errors, run)
        for record, errors in run.flows.records(run.slow.icmp_errors, segments)
    )
    flows = tuple(sorted(flows, key=lambda f: (f.first.time, f.first.capture, f.first.frame)))
    problems.extend(_direction_problems(flows))
    problems.extend(run.passive.problems())
    hosts = tuple(HostInfo(ip=ip, mac=mac) for ip, (_, mac, _) in sorted(run.hosts.macs.items()))
    return TrafficSummary(
        inputs=tuple(inputs),
        flows=flows,
        dns=run.dns.ordered(),
        hosts=hosts,
        problems=tuple(problems),
        packets=sum(i.packets for i in inputs),
        passive=run.passive.summary(),
    )


def _pools(table: FlowTable, mark: int, segments: Segments) -> list[tuple[str, int, int]]:
    """The table's entries pooled as ``mark`` (per source and destination network past
    :data:`PAIR_LIMIT` address pairs, or spilled past :data:`NETWORK_LIMIT` of those) as
    (capture, first frame, packets), in the order of their first frames: each entry counted
    in the capture of its first frame."""
    pools = []
    for order, packets in sorted(table.pools(mark)):
        ref = frame_ref(segments, 0.0, order)
        pools.append((ref.capture, ref.frame, packets))
    return pools


def _by_capture(
    pools: Iterable[tuple[str, int, int]],
) -> Iterator[tuple[str, int, list[int], dict[str, str]]]:
    """Per capture (or Zeek log), from its pooled entries given as (capture, first frame or
    line, packets) in the order of their first frames: the capture, its packets in them,
    its entries' first frames (one per entry) and :func:`first_frames` of the first ones."""
    by_capture: dict[str, list[tuple[int, int]]] = {}
    for capture, frame, packets in pools:
        by_capture.setdefault(capture, []).append((frame, packets))
    for capture, pooled in sorted(by_capture.items()):
        frames = [frame for frame, _ in pooled]
        first = frames[:_FIRST_FRAMES]
        yield (
            capture,
            sum(n for _, n in pooled),
            frames,
            first_frames(first, len(frames) > len(first)),
        )


def network_problems(pools: Iterable[tuple[str, int, int]]) -> list[Problem]:
    """One ``flows_networks`` problem per capture (or Zeek log) from its pooled networks,
    given as (capture, first frame or line, packets) in the order of their first frames:
    packets, networks and the first networks' first frames."""
    problems = []
    for capture, count, frames, said in _by_capture(pools):
        message = phrase(
            "problem_flows_networks", count=count, networks=len(frames), pairs=PAIR_LIMIT, **said
        )
        problems.append(problem("flows_networks", message, capture, count))
    return problems


def spilled_problems(pools: Iterable[tuple[str, int, int]]) -> list[Problem]:
    """One ``flows_spilled`` problem per capture from its spilled entries (one per protocol
    and address family past :data:`NETWORK_LIMIT` network entries), given as
    :func:`network_problems` takes them: packets and each entry's first frame. Blocking
    (policy.evaluate): no address is left to tell which device sent or received them."""
    problems = []
    for capture, count, _frames, said in _by_capture(pools):
        message = phrase("problem_flows_spilled", count=count, limit=NETWORK_LIMIT, **said)
        problems.append(problem("flows_spilled", message, capture, count))
    return problems


# A flow takes the FlowCore fields of its record, but for the category (an ICMP error may
# make it rejected): those before and those after it, each read in one call.
_CORE = [f.name for f in fields(FlowCore)]
_BEFORE_CATEGORY = attrgetter(*_CORE[: _CORE.index("category")])
_AFTER_CATEGORY = attrgetter(*_CORE[_CORE.index("category") + 1 :])


def _flow(record: FlowRecord, errors: list[IcmpError], run: _Run) -> Flow:
    sni = host = app = None
    payload = record.payload_orig
    if record.proto == "tcp" and payload:
        sni = apps.parse_sni(payload)
        host = None if sni else apps.parse_http_host(payload)
        app = "tls" if apps.tls_record_length(payload) else "http" if host else None
    if 53 in (record.orig_port, record.resp_port) and record.proto in ("udp", "tcp"):
        app = "dns"
    elif record.proto == "udp" and record.resp_port == 123 and apps.parse_ntp_mode(payload):
        app = "ntp"
    category, rejected_by, rejected_from = record.category, None, None
    if errors:
        first = min(errors, key=lambda e: e.where.time)
        rejected_by, rejected_from = first.where, first.sender
        if not record.resp_packets:
            category = FlowCategory.REJECTED
    if record.is_icmp_error:
        app = "icmp-error"
    before: tuple[str, str, int, str, int, str] = _BEFORE_CATEGORY(record)
    after: tuple[FrameRef, FrameRef, int, int, int, int] = _AFTER_CATEGORY(record)
    return Flow(
        *before,
        category,
        *after,
        orig_mac=_mac_of(run, record.orig),
        resp_mac=_mac_of(run, record.resp),
        vlan=record.vlan,
        sni=sni,
        http_host=host,
        app=app,
        dns_names=run.dns.names_before(record.resp, record.first.time),
        rejected_by=rejected_by,
        rejected_from=rejected_from,
        payload_orig=record.payload_orig,
        payload_resp=record.payload_resp,
        reply_unseen=record.reply_unseen,
        mid_stream=record.mid_stream,
    )


def _mac_of(run: _Run, addr: str) -> str | None:
    return run.hosts.mac(addr)


def _direction_problems(flows: tuple[Flow, ...]) -> list[Problem]:
    """A capture that holds only one direction of traffic cannot show what came back."""
    one_sided = sum(1 for f in flows if f.proto == "tcp" and f.reply_unseen)
    if not one_sided:
        return []
    if any(f.orig_packets and f.resp_packets for f in flows):
        code, key = "asymmetric", "problem_asymmetric"
    else:
        code, key = "one_direction", "problem_one_direction"
    return [problem(code, phrase(key, count=one_sided), None, one_sided)]
