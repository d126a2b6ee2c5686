"""Zeek logs as input: conn, dns, ssl, http and ntp logs into a :class:`TrafficSummary`.

Reads Zeek's TSV (with its ``#fields`` header, by name, never by position) and
JSON (``LogAscii::use_json`` with epoch ``ts``, or json-streaming-logs with an
ISO-8601 ``ts`` and ``_path``), plain or gzip'd, under any file name Zeek or
zeekctl gives (``conn.log``, ``conn.log.gz``, ``conn.16:00:00-17:00:00.log.gz``,
``dns.json.gz``). One row is held at a time.

Flow states and categories come from the same function the pcap path uses
(:func:`camaudit.traffic.flows._tcp_state`): Zeek's ``history`` letters are turned
into the flag bits each side sent, so a log and the capture it came from are judged
alike. Evidence names the log file and line (``FrameRef(capture=<log path>,
frame=<line number>)``) and the Zeek ``uid`` (``Flow.zeek_uid``), shown as the
locator ``uid == "C..."``.

A redacted or missing ``ts`` (btest baselines write ``XXXXXXXXXX.XXXXXX``) is unknown:
the row's time is 0.0 in its :class:`FrameRef` (which has no "unknown"), the file's
first and last time are ``None``, and a ``timestamps_unknown`` problem says so.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import ipaddress
import json
import multiprocessing
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import IO

from camaudit.addresses import whole_family
from camaudit.errors import InputError
from camaudit.model import (
    CaptureInput,
    Flow,
    FlowCategory,
    FrameRef,
    HostInfo,
    Phrase,
    Problem,
    TrafficSummary,
)
from camaudit.phrases import phrase, problem
from camaudit.traffic import decode as d
from camaudit.traffic.apps import DnsMessage
from camaudit.traffic.dnslog import DnsLog
from camaudit.traffic.engine import _direction_problems, network_problems, spilled_problems
from camaudit.traffic.flows import (
    ACK,
    DATA,
    FIN,
    FLOW_LIMIT,
    NETWORK_LIMIT,
    PAIR_LIMIT,
    RST,
    SYN,
    SYNACK,
    _tcp_state,
    icmp_category,
    network_of,
)

#: The logs camaudit reads; every other Zeek log (weird, x509, files ...) is skipped.
WANTED = ("conn", "dns", "ssl", "http", "ntp")

Value = str | tuple[str, ...] | None

# Zeek history letters -> camaudit's per-direction flag bits (upper case: originator).
_HISTORY_BITS = {"s": SYN, "h": SYNACK, "a": ACK, "d": DATA, "f": FIN, "r": RST}
_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_REDACTED = re.compile(r"^X+(\.X+)?$")
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


@dataclass(frozen=True)
class ZeekRow:
    """One log line: its 1-based line number in the file and its fields by name."""

    line: int
    values: dict[str, Value]

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if isinstance(value, tuple):
            return ",".join(value) if value else None
        return value

    def items(self, name: str) -> tuple[str, ...]:
        value = self.values.get(name)
        if value is None:
            return ()
        return value if isinstance(value, tuple) else tuple(value.split(","))

    def integer(self, name: str) -> int:
        value = self.text(name)
        try:
            return int(float(value)) if value is not None else 0
        except (ValueError, OverflowError):  # "x", "inf"
            return 0

    def number(self, name: str) -> float:
        """A number field; 0.0 when unset or not a number (a damaged or hostile log)."""
        try:
            return float(self.text(name) or 0.0)
        except ValueError:
            return 0.0

    def time(self, name: str = "ts") -> float | None:
        """A Zeek time (epoch seconds or ISO-8601); ``None`` when unset or redacted."""
        value = self.text(name)
        if value is None or _REDACTED.match(value):
            return None
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None


@dataclass
class ZeekLog:
    """A streaming reader of one Zeek log file (TSV or JSON, gzip'd or not).

    Iterate it for :class:`ZeekRow`; afterwards ``format``, ``compression``,
    ``rows``, ``bad_rows`` and ``damage`` (why reading stopped early, if it did)
    describe what was read.
    """

    path: Path
    format: str = "zeek-tsv"
    compression: str | None = None
    rows: int = 0
    bad_rows: int = 0
    first_bad: int | None = None
    damage: Phrase | None = None
    fields: tuple[str, ...] = ()
    #: the name evidence gives the file (a Dask worker reads it by an absolute path)
    display: str | None = None
    _sep: str = field(default="\t", repr=False)
    _set_sep: str = field(default=",", repr=False)
    _empty: str = field(default="(empty)", repr=False)
    _unset: str = field(default="-", repr=False)
    _containers: frozenset[str] = field(default=frozenset(), repr=False)  # set/vector fields

    @property
    def name(self) -> str:
        """The file as evidence names it."""
        return self.display if self.display is not None else str(self.path)

    @property
    def kind(self) -> str:
        """The log's type from its name: ``conn``, ``dns`` ... (``conn.16:00:00-17:00:00``)."""
        return log_kind(self.path.name) or ""

    def _open(self) -> IO[str]:
        with self.path.open("rb") as raw:
            head = raw.read(2)
        if head == b"\x1f\x8b":
            self.compression = "gzip"
            return gzip.open(self.path, "rt", encoding="utf-8", errors="replace", newline="\n")
        return self.path.open("r", encoding="utf-8", errors="replace", newline="\n")

    def __iter__(self) -> Iterator[ZeekRow]:
        for number, line in self.lines():
            row = self._row(line, number)
            if row is not None:
                self.rows += 1
                yield row

    def lines(self) -> Iterator[tuple[int, str]]:
        """(1-based line number, text) of every line; a damaged gzip ends them early."""
        try:
            handle = self._open()
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        with handle:
            number = 0
            try:
                for line in handle:
                    number += 1
                    yield number, line.rstrip("\r\n")
            except _GZIP_ERRORS as exc:
                self.damage = phrase("problem_zeek_damaged", line=str(number), error=str(exc))

    def _row(self, line: str, number: int) -> ZeekRow | None:
        if not line:
            return None
        if line.startswith("{"):
            self.format = "zeek-json"
            return self._json(line, number)
        if line.startswith("#"):
            self._header(line, number)
            return None
        parts = line.split(self._sep)
        if not self.fields or len(parts) != len(self.fields):
            self._bad(number)
            return None
        values: dict[str, Value] = {}
        for name, raw in zip(self.fields, parts, strict=True):
            if raw == self._unset:
                continue  # unset: the same as JSON's omitted field
            if raw == self._empty:
                values[name] = ()
                continue
            text = _unescape(raw)
            values[name] = (
                tuple(_unescape(p) for p in raw.split(self._set_sep))
                if self._set_sep in raw and name in self._containers
                else text
            )
        return ZeekRow(number, values)

    def _header(self, line: str, number: int) -> None:
        tag, _, rest = line.partition(self._sep)  # Zeek separates header fields like rows
        if tag == "#separator" or tag.startswith("#separator "):  # "#separator \x09"
            tag, rest = "#separator", line[len("#separator") :].strip()
        if tag in ("#separator", "#set_separator"):
            separator = _unescape(rest)
            if not separator:  # Zeek never writes one; rows cannot be split by nothing
                self._bad(number)
            elif tag == "#separator":
                self._sep = separator
            else:
                self._set_sep = separator
        elif tag == "#empty_field":
            self._empty = rest
        elif tag == "#unset_field":
            self._unset = rest
        elif tag == "#fields":
            self.fields = tuple(rest.split(self._sep))
        elif tag == "#types":
            types = rest.split(self._sep)
            self._containers = frozenset(
                n
                for n, t in zip(self.fields, types, strict=False)
                if t.startswith(("set[", "vector[", "table["))
            )
        # Other lines (#path, #open, #close, btest's "### BTest baseline ...") say nothing
        # about the rows.

    def _json(self, line: str, number: int) -> ZeekRow | None:
        try:
            obj = json.loads(line)
        except ValueError:
            self._bad(number)
            return None
        if not isinstance(obj, dict):
            self._bad(number)
            return None
        values: dict[str, Value] = {}
        _json_values(obj, "", values)
        return ZeekRow(number, values)

    def _bad(self, number: int) -> None:
        self.bad_rows += 1
        if self.first_bad is None:
            self.first_bad = number


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "\\x" in text else text


def _json_values(obj: dict[str, object], prefix: str, values: dict[str, Value]) -> None:
    """Flatten one JSON row; ``{"id": {"orig_h": ...}}`` (nested records) becomes ``id.orig_h``."""
    for name, raw in obj.items():
        if raw is None:
            continue  # null: unset, the same as an omitted field
        if isinstance(raw, dict):
            _json_values(raw, f"{prefix}{name}.", values)
        elif isinstance(raw, list):
            values[prefix + name] = tuple(_json_text(v) for v in raw)
        else:
            values[prefix + name] = _json_text(raw)


def _json_text(value: object) -> str:
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


def log_kind(name: str) -> str | None:
    """``conn`` for ``conn.log``, ``conn.log.gz``, ``conn.16:00:00-17:00:00.log.gz``,
    ``conn.json.gz`` ...; ``None`` for a file that is not one of :data:`WANTED`."""
    stem, dot, rest = name.partition(".")
    if not dot or stem not in WANTED:
        return None
    if not re.search(r"(^|\.)(log|json)(\.|$)", rest):
        return None
    return stem


def find_logs(directories: Sequence[str | Path]) -> tuple[list[Path], list[Problem]]:
    """The Zeek logs camaudit reads under each directory (recursively, sorted).

    A directory with no conn log is an input error: without it there are no flows,
    so nothing could be said about isolation.
    """
    found: list[Path] = []
    problems: list[Problem] = []
    for item in directories:
        root = Path(item)
        if not root.is_dir():
            raise InputError(f"{root}: not a directory of Zeek logs")
        logs: list[Path] = []
        skipped = 0
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if log_kind(name):
                    logs.append(Path(dirpath) / name)
                elif re.search(r"\.(log|json)(\.gz)?$", name):
                    skipped += 1
        if not any(log_kind(p.name) == "conn" for p in logs):
            raise InputError(f"{root}: no Zeek conn log (conn.log, conn.*.log.gz, conn.json ...)")
        if skipped:
            problems.append(
                problem(
                    "skipped_files",
                    phrase(
                        "problem_skipped_zeek",
                        count=skipped,
                        path=str(root),
                        wanted=", ".join(WANTED),
                    ),
                    str(root),
                    skipped,
                )
            )
        found.extend(logs)
    return found, problems


@dataclass
class _Join:
    """What the other logs say about a connection, by uid: only about the conn rows that
    become flows of their own (``wanted``; the rows past the flow limit carry no names),
    so that a week (or a flood) of ssl, http and ntp rows is not held."""

    wanted: frozenset[str] | None = None  # None: every uid
    sni: dict[str, str] = field(default_factory=dict)
    host: dict[str, str] = field(default_factory=dict)
    ntp: set[str] = field(default_factory=set)


def analyse_zeek(
    directories: Sequence[str | Path], jobs: int = 1, scheduler: str | None = None
) -> TrafficSummary:
    """Read the Zeek logs under ``directories`` into the summary the pcap path makes.

    Conn logs whose rows all lie past the flow limit are read by ``jobs`` processes, or
    by the workers of the Dask ``scheduler`` (``tcp://HOST:PORT``); the result is the
    same. Raises :class:`InputError` when a directory has no conn log or a log cannot be
    opened; a log damaged part-way keeps the rows read and becomes a ``truncated``
    problem (which, like a truncated capture, stops a verdict of isolated).
    """
    if scheduler is not None:
        from camaudit.traffic import cluster

        return cluster.analyse_zeek(directories, scheduler)
    return read_zeek(directories, jobs)


def read_zeek(
    directories: Sequence[str | Path],
    jobs: int = 1,
    pool: Executor | None = None,
) -> TrafficSummary:
    """:func:`analyse_zeek` here, or with ``pool`` (a Dask cluster's executor) reading
    the conn logs past the flow limit."""
    with _no_gc():
        return _read_zeek(directories, jobs, pool)


@contextmanager
def _no_gc() -> Iterator[None]:
    """No cycle collection while reading: the reader makes no cycles, and a collection
    walks every tuple and flow held so far (before: most of the time of a long log)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_zeek(
    directories: Sequence[str | Path], jobs: int, pool: Executor | None
) -> TrafficSummary:
    paths, problems = find_logs(directories)
    by_kind: dict[str, list[Path]] = {}
    for path in paths:
        by_kind.setdefault(log_kind(path.name) or "", []).append(path)
    inputs: list[CaptureInput] = []
    dns = DnsLog()
    join = _Join(wanted=_exact_uids(by_kind.get("conn", [])))
    unknown_time = 0
    # The other logs first: their names and answers are attached to the conn rows.
    for kind in ("dns", "ssl", "http", "ntp"):
        for path in by_kind.get(kind, []):
            log = ZeekLog(path)
            times: list[float] = []
            for row in log:
                ts = row.time()
                if ts is None:
                    unknown_time += 1
                else:
                    times.append(ts)
                _fold(kind, row, str(path), ts, dns, join)
            inputs.append(_input(log, times, 0))
    flows: list[Flow] = []
    macs: dict[str, str] = {}
    pairs = _Pairs()
    conn = by_kind.get("conn", [])
    exact_files = 0
    for path in conn:
        if len(flows) >= FLOW_LIMIT:
            break  # this file and the later ones are added up per pair only: in parallel
        exact_files += 1
        log = ZeekLog(path)
        times = []
        packets = 0
        for row in _conn_rows(log, pairs, len(flows)):
            flow = _flow(row, str(path), dns, join)
            if flow is None:
                log.bad_rows += 1
                log.first_bad = log.first_bad or row.line
                continue
            ts = row.time()
            if ts is None:
                unknown_time += 1
            else:
                times.extend((ts, flow.last.time))
            packets += flow.orig_packets + flow.resp_packets
            flows.append(flow)
            for who, mac in ((flow.orig, flow.orig_mac), (flow.resp, flow.resp_mac)):
                if mac:
                    macs.setdefault(who, mac)
        if pairs.file_rows:
            times.extend(t for t in pairs.file_span if abs(t) != _INF)
            packets += pairs.file_packets
            log.rows += pairs.file_rows
            pairs.next_file()
        inputs.append(_input(log, times, packets))
    later = conn[exact_files:]
    for part in _conn_parts(later, jobs, pool):
        pairs.merge(part)
        inputs.append(part.info)
    flows.extend(pairs.flows(dns))
    unknown_time += pairs.unknown_time
    if pairs.rows:
        problems.append(
            problem(
                "flows_summarised",
                phrase(
                    "problem_zeek_summarised",
                    count=pairs.rows,
                    packets=pairs.packets,
                    limit=FLOW_LIMIT,
                ),
                None,
                pairs.packets,
            )
        )
    problems.extend(_network_problems(pairs))
    problems.extend(dns.problems())
    if unknown_time:
        problems.append(
            problem(
                "timestamps_unknown",
                phrase("problem_zeek_no_ts", count=unknown_time),
                None,
                unknown_time,
            )
        )
    ordered = tuple(sorted(flows, key=lambda f: (f.first.time, f.first.capture, f.first.frame)))
    problems.extend(_direction_problems(ordered))
    return TrafficSummary(
        inputs=tuple(inputs),
        flows=ordered,
        dns=dns.ordered(),
        hosts=tuple(HostInfo(ip=ip, mac=mac) for ip, mac in sorted(macs.items())),
        problems=tuple(problems),
        packets=sum(i.packets for i in inputs),
    )


def _network_problems(pairs: _Pairs) -> list[Problem]:
    """The rows pooled per originator and responder network past :data:`PAIR_LIMIT`, and
    spilled past :data:`NETWORK_LIMIT` of those, said as the pcap path says them (a frame is
    a log line here)."""
    pooled = sorted(
        (pair.first, *pair.first_at, pair.o_pk + pair.r_pk, "/" in key[1])
        for key, pair in pairs.pairs.items()
        if "/" in key[2]
    )
    networks = network_problems(entry[1:4] for entry in pooled if not entry[4])
    return networks + spilled_problems(entry[1:4] for entry in pooled if entry[4])


def _input(log: ZeekLog, times: list[float], packets: int) -> CaptureInput:
    problems: list[Problem] = []
    where = log.name
    if log.damage:
        problems.append(
            problem(
                "truncated", phrase("problem_rows_read", detail=log.damage, count=log.rows), where
            )
        )
    if log.bad_rows:
        problems.append(
            problem(
                "undecoded",
                phrase(
                    "problem_bad_rows",
                    count=log.bad_rows,
                    kind=log.kind,
                    line=str(log.first_bad),
                ),
                where,
                log.bad_rows,
            )
        )
    return CaptureInput(
        path=where,
        sha256=_sha256(log.path),
        format=log.format,
        compression=log.compression,
        packets=packets,
        first_time=min(times) if times else None,
        last_time=max(times) if times else None,
        link_types=(),
        snaplen=None,
        problems=tuple(problems),
        ip_packets=packets,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fold(
    kind: str, row: ZeekRow, capture: str, ts: float | None, dns: DnsLog, join: _Join
) -> None:
    uid = row.text("uid") or ""
    if kind != "dns" and join.wanted is not None and uid not in join.wanted:
        return  # a connection past the flow limit (or none): nothing would read it
    if kind == "ssl" and (name := row.text("server_name")):
        join.sni.setdefault(uid, name)
    elif kind == "http" and (host := row.text("host")):
        join.host.setdefault(uid, host.split(":")[0] if host.count(":") == 1 else host)
    elif kind == "ntp":
        join.ntp.add(uid)
    elif kind == "dns":
        _dns(row, capture, ts, dns)


def _dns(row: ZeekRow, capture: str, ts: float | None, dns: DnsLog) -> None:
    """One dns.log row as the question and (when it has one) the answer DnsLog expects."""
    name = row.text("query") or ""
    qtype = row.text("qtype_name") or "?"
    client, server = row.text("id.orig_h") or "", row.text("id.resp_h") or ""
    cport, sport = row.integer("id.orig_p"), row.integer("id.resp_p")
    ident = row.integer("trans_id")
    when = ts if ts is not None else 0.0
    where = FrameRef(capture, row.line, when)
    question = DnsMessage(ident, False, ((name, qtype),), "", ())
    uid = row.text("uid") or None
    dns.add(question, where, client, cport, server, sport, truncated=False, uid=uid)
    rcode = row.text("rcode_name")
    if rcode is None:
        return  # no reply seen
    answers = tuple((name, _answer_type(a), a) for a in row.items("answers"))
    reply = DnsMessage(ident, True, ((name, qtype),), rcode, answers)
    # An unknown ts stays 0.0 (not 0 + rtt), so the answer is never "after" a flow.
    rtt = row.number("rtt") if ts is not None else 0.0
    at = FrameRef(capture, row.line, when + rtt)
    dns.add(reply, at, server, sport, client, cport, truncated=row.text("TC") == "T", uid=uid)


def _answer_type(value: str) -> str:
    try:
        return "AAAA" if ipaddress.ip_address(value).version == 6 else "A"
    except ValueError:
        return "NAME"  # Zeek does not log answer types; a name is a CNAME/PTR/... target


def history_bits(history: str) -> tuple[int, int]:
    """Zeek's ``history`` as the flag bits (originator, responder) the pcap path keeps."""
    orig = resp = 0
    for letter in history:
        bit = _HISTORY_BITS.get(letter.lower(), 0)
        if letter.isupper():
            orig |= bit
        else:
            resp |= bit
    return orig, resp


def _state(
    proto: str, o_bits: int, r_bits: int, o_pk: int, r_pk: int, itype: int
) -> tuple[str, FlowCategory, bool, bool]:
    """(conn_state, category, reply_unseen, mid_stream) as the pcap path judges a flow."""
    if proto == "tcp":
        state, category, unseen = _tcp_state(o_bits, r_bits, o_pk, r_pk)
        return state, category, unseen, not (o_bits | r_bits) & (SYN | SYNACK)
    if proto == "icmp":
        paired = 0 <= itype < len(d.ICMP4_COUNTERPART) and int(d.ICMP4_COUNTERPART[itype]) >= 0
        return "OTH", icmp_category(bool(r_pk), paired), False, False
    state = "SF" if o_pk and r_pk else "S0"
    return state, FlowCategory.TWO_WAY if r_pk else FlowCategory.ONE_WAY, False, False


def _ends(row: ZeekRow) -> tuple[str, str, str] | None:
    """A conn row's protocol, originator and responder; None when it is no connection."""
    proto = (row.text("proto") or "").lower()
    orig, resp = row.text("id.orig_h"), row.text("id.resp_h")
    if not proto or not orig or not resp:
        return None
    return proto, orig, resp


def _exact_uids(conn: Sequence[Path]) -> frozenset[str]:
    """The uids of the conn rows that become flows of their own: the rows
    :func:`_conn_rows` gives (up to :data:`FLOW_LIMIT` in all, counted per file from the
    flows so far) that :func:`_flow` reads as connections."""
    uids: set[str] = set()
    flows = 0
    for path in conn:
        if flows >= FLOW_LIMIT:
            break
        exact = flows
        for row in ZeekLog(path):
            exact += 1
            if _ends(row) is not None:
                flows += 1
                uids.add(row.text("uid") or "")
            if exact >= FLOW_LIMIT:
                break
    return frozenset(uids)


def _flow(row: ZeekRow, capture: str, dns: DnsLog, join: _Join) -> Flow | None:
    ends = _ends(row)
    if ends is None:
        return None
    proto, orig, resp = ends
    o_bits, r_bits = history_bits(row.text("history") or "")
    ts = row.time()
    start = ts if ts is not None else 0.0
    at = (capture, row.line)
    uid = row.text("uid")
    o_port, r_port = row.integer("id.orig_p"), row.integer("id.resp_p")
    sums = _Pair(
        o_bits,
        r_bits,
        row.integer("orig_pkts"),
        row.integer("resp_pkts"),
        row.integer("orig_ip_bytes"),
        row.integer("resp_ip_bytes"),
        start,
        at,
        start + row.number("duration"),
        at,
        uid,
        o_port,
    )
    service = set(row.items("service"))
    sni = join.sni.get(uid or "")
    host = None if sni else join.host.get(uid or "")
    app: str | None = "tls" if "ssl" in service else "http" if host or "http" in service else None
    if 53 in (o_port, r_port) and proto in ("udp", "tcp"):
        app = "dns"
    elif proto == "udp" and r_port == 123 and ("ntp" in service or (uid or "") in join.ntp):
        app = "ntp"
    vlan = row.integer("vlan") if row.text("vlan") else None
    macs = (row.text("orig_l2_addr"), row.text("resp_l2_addr"))
    return _conn_flow(proto, orig, resp, sums, dns, (o_port, r_port), macs, vlan, sni, host, app)


# The conn columns a row past the flow limit is summarised from, in this order.
_PAIR_FIELDS = (
    "proto",
    "id.orig_h",
    "id.resp_h",
    "history",
    "orig_pkts",
    "resp_pkts",
    "orig_ip_bytes",
    "resp_ip_bytes",
    "ts",
    "duration",
    "uid",
    "id.orig_p",
)
PairRow = tuple[str | None, ...]
_INF = float("inf")


@dataclass(slots=True)
class _Pair:
    """Conn rows added up: those of one (proto, orig, resp) past the flow limit, or one
    row of its own."""

    o_bits: int
    r_bits: int
    o_pk: int
    r_pk: int
    o_bytes: int
    r_bytes: int
    first: float  # earliest start, and where that row is
    first_at: tuple[str, int]
    last: float  # latest end, and where that row is
    last_at: tuple[str, int]
    uid: str | None
    itype: int

    def fold(
        self,
        first: float,
        first_at: tuple[str, int],
        last: float,
        last_at: tuple[str, int],
        bits: tuple[int, int],
        o_pk: int,
        r_pk: int,
        o_bytes: int,
        r_bytes: int,
    ) -> None:
        """Add a row of this pair (or a later file's sums of it): the earliest start and
        the latest end keep the first row that had them."""
        if first < self.first:
            self.first, self.first_at = first, first_at
        if last > self.last:
            self.last, self.last_at = last, last_at
        self.o_bits |= bits[0]
        self.r_bits |= bits[1]
        self.o_pk += o_pk
        self.r_pk += r_pk
        self.o_bytes += o_bytes
        self.r_bytes += r_bytes


class _Pairs:
    """Conn rows past :data:`FLOW_LIMIT`, counted per address pair without ports, and past
    :data:`PAIR_LIMIT` pairs per originator and responder network (a CIDR in place of the
    responder, :func:`flows.network_of`), and past :data:`NETWORK_LIMIT` of those in one
    entry per protocol and address family (``0.0.0.0/0`` or ``::/0`` at both ends), as the
    pcap path pools flows past its limits: memory stays bounded for a week of logs, a log of
    a scan of millions of addresses, or of a flood from millions of spoofed ones."""

    def __init__(self) -> None:
        self.pairs: dict[tuple[str, str, str], _Pair] = {}
        self.kept = 0  # address pairs (the other entries are networks)
        self.nets = 0  # originator and responder network entries
        self.rows = self.packets = self.unknown_time = 0
        self.file_rows = self.file_packets = 0
        self.file_span = [_INF, -_INF]  # earliest start, latest end of this file's rows
        self._bits: dict[str, tuple[int, int]] = {}

    def next_file(self) -> None:
        self.rows += self.file_rows
        self.packets += self.file_packets
        self.file_rows = self.file_packets = 0
        self.file_span = [_INF, -_INF]

    def add(self, values: PairRow, capture: str, line: int) -> bool:
        """Fold one row (the :data:`_PAIR_FIELDS` values); False when it is no conn row.

        The hot loop of a week of logs: plain numbers are converted at once, anything
        else (unset ``-``, a redacted or ISO-8601 time) by the careful helpers."""
        proto, orig, resp, history, o_pk, r_pk, o_b, r_b, ts, duration, uid, itype = values
        if not proto or not orig or not resp or "-" in (proto, orig, resp):
            return False
        bits = self._bits.get(history)  # type: ignore[arg-type]
        if bits is None:
            bits = self._bits[history or ""] = history_bits(history or "")
        try:
            o_packets, r_packets = int(o_pk), int(r_pk)  # type: ignore[arg-type]
            o_bytes, r_bytes = int(o_b), int(r_b)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            o_packets, r_packets, o_bytes, r_bytes = (_count(v) for v in (o_pk, r_pk, o_b, r_b))
        try:
            when = float(ts)  # type: ignore[arg-type]
            end = when + float(duration)  # type: ignore[arg-type]
            span = self.file_span
            if when < span[0]:
                span[0] = when
            if end > span[1]:
                span[1] = end
        except (TypeError, ValueError):
            start = _seconds(ts)
            if start is None:
                self.unknown_time += 1
            when = start or 0.0
            end = when + (_seconds(duration) or 0.0)
            if start is not None:
                span = self.file_span
                span[0], span[1] = min(span[0], when), max(span[1], end)
        key = (proto.lower(), orig, resp)
        at = (capture, line)
        pair = self.pairs.get(key)
        if pair is None:
            pooled = self._pooled(key)
            if pooled is None:
                return False  # past the pair limit, a responder that is no address: unread
            key, pair = pooled, self.pairs.get(pooled)
        if pair is None:
            known = uid if uid and uid != "-" else None
            pair = self.pairs[key] = _Pair(
                0, 0, 0, 0, 0, 0, when, at, end, at, known, _count(itype)
            )
        pair.fold(when, at, end, at, bits, o_packets, r_packets, o_bytes, r_bytes)
        self.file_rows += 1
        self.file_packets += o_packets + r_packets
        return True

    def _pooled(self, key: tuple[str, str, str]) -> tuple[str, str, str] | None:
        """The entry a new address pair (or a later file's network entry) is counted in:
        its own while fewer than :data:`PAIR_LIMIT` pairs are kept, else its originator's
        for the responder's network (None when the responder is no address)."""
        if "/" in key[2]:
            return self._network(key)
        if PAIR_LIMIT and self.kept >= PAIR_LIMIT:
            cidr = network_of(key[2])
            return None if cidr is None else self._network((key[0], key[1], cidr))
        self.kept += 1
        return key

    def _network(self, key: tuple[str, str, str]) -> tuple[str, str, str]:
        """The entry for an originator and responder network: its own while fewer than
        :data:`NETWORK_LIMIT` are kept (or it is a spilled entry already), else its
        protocol and address family's spilled entry."""
        if key in self.pairs or "/" in key[1]:
            return key
        if NETWORK_LIMIT and self.nets >= NETWORK_LIMIT:
            whole = whole_family(key[2])
            return (key[0], whole, whole)
        self.nets += 1
        return key

    def merge(self, part: ConnPart) -> None:
        """Add a later file's pairs, as if its rows had been added here one by one: the
        earliest start and the latest end keep the first row that had them; a pair new
        here once :data:`PAIR_LIMIT` pairs are kept is pooled in its network's entry, and
        a network entry new here past :data:`NETWORK_LIMIT` of them spills."""
        for key, theirs in part.pairs.items():
            pair = self.pairs.get(key)
            if pair is None:
                key = self._pooled(key) or key  # no address: only a part's own pairs hold one
                pair = self.pairs.get(key)
            if pair is None:
                self.pairs[key] = theirs
                continue
            pair.fold(
                theirs.first,
                theirs.first_at,
                theirs.last,
                theirs.last_at,
                (theirs.o_bits, theirs.r_bits),
                theirs.o_pk,
                theirs.r_pk,
                theirs.o_bytes,
                theirs.r_bytes,
            )
        self.rows += part.rows
        self.packets += part.packets
        self.unknown_time += part.unknown_time

    def flows(self, dns: DnsLog) -> list[Flow]:
        # no ports, MACs, VLAN, names from ssl/http or app: as the pcap path's summaries
        return [_conn_flow(*key, pair, dns) for key, pair in self.pairs.items()]


def _conn_flow(
    proto: str,
    orig: str,
    resp: str,
    sums: _Pair,
    dns: DnsLog,
    ports: tuple[int, int] = (0, 0),
    macs: tuple[str | None, str | None] = (None, None),
    vlan: int | None = None,
    sni: str | None = None,
    host: str | None = None,
    app: str | None = None,
) -> Flow:
    """The flow of one conn row, or of the rows of an address pair added up, judged as
    the pcap path judges one."""
    state, category, unseen, mid = _state(
        proto, sums.o_bits, sums.r_bits, sums.o_pk, sums.r_pk, sums.itype
    )
    return Flow(
        proto,
        orig,
        ports[0],
        resp,
        ports[1],
        state,
        category,
        FrameRef(*sums.first_at, sums.first),
        FrameRef(*sums.last_at, sums.last),
        sums.o_pk,
        sums.o_bytes,
        sums.r_pk,
        sums.r_bytes,
        orig_mac=macs[0],
        resp_mac=macs[1],
        vlan=vlan,
        sni=sni,
        http_host=host,
        app=app,
        dns_names=dns.names_before(resp, sums.first),
        reply_unseen=unseen,
        mid_stream=mid,
        zeek_uid=sums.uid,
    )


def _count(text: str | None) -> int:
    return int(text) if text and text.isdigit() else 0


def _seconds(text: str | None) -> float | None:
    if not text or text == "-":
        return None
    try:
        return float(text)
    except ValueError:
        return ZeekRow(0, {"ts": text}).time()  # ISO-8601 (JSON streaming logs), redacted


def _conn_rows(log: ZeekLog, pairs: _Pairs, exact: int) -> Iterator[ZeekRow]:
    """The rows of one conn log that become flows of their own (while fewer than
    :data:`FLOW_LIMIT` flows are kept); later rows go into ``pairs`` instead."""
    past = _PastLimit(log, pairs)
    lines = log.lines()
    if exact < FLOW_LIMIT:
        for number, line in lines:
            row = past.row(line, number)
            if row is not None:
                exact += 1
                log.rows += 1
                yield row
                if exact >= FLOW_LIMIT:
                    break
    past.fold(lines)


class _PastLimit:
    """Folds the lines of one conn log past :data:`FLOW_LIMIT` into ``pairs``: a plain TSV
    line straight from its fields, without ever becoming a :class:`ZeekRow`; anything
    else (headers, JSON, escapes) as a row."""

    def __init__(self, log: ZeekLog, pairs: _Pairs) -> None:
        self.log = log
        self.capture = log.name
        self.add = pairs.add
        self.fields: tuple[str, ...] = ()
        self.pick: Callable[[list[str]], PairRow] | None = None

    def row(self, line: str, number: int) -> ZeekRow | None:
        """The line as a row (None for a header, blank or bad line), the header followed."""
        log = self.log
        row = log._row(line, number)
        if log.fields is not self.fields:
            self.fields = log.fields
            self.pick = _picker(self.fields)
        return row

    def fold(self, lines: Iterable[tuple[int, str]]) -> None:
        """Add up (line number, text) lines."""
        log, add, capture = self.log, self.add, self.capture
        fields, pick = self.fields, self.pick
        for number, line in lines:
            if pick is not None and line and line[0] not in "#{":
                # plain_tsv_fields, inlined: this loop runs for every row of a week
                parts = line.split(log._sep)
                if len(parts) == len(fields) and "\\x" not in line:
                    if not add(pick(parts), capture, number):
                        log._bad(number)
                    continue
            row = self.row(line, number)
            fields, pick = self.fields, self.pick
            if row is not None and not add(
                tuple(row.text(name) for name in _PAIR_FIELDS), capture, number
            ):
                log._bad(number)


def _picker(fields: tuple[str, ...]) -> Callable[[list[str]], PairRow] | None:
    """The :data:`_PAIR_FIELDS` of a split TSV row (unset ``-`` stays ``-``), or None
    when the header lacks one of them (then rows take the general path)."""
    if not all(name in fields for name in _PAIR_FIELDS):
        return None
    return itemgetter(*(fields.index(name) for name in _PAIR_FIELDS))


# --- conn files read wholly past the flow limit: fast, and in several processes ---------

_BLOCK = 1 << 18  # bytes read (and at most 8x this inflated) at a time
_HOT_FIELDS = _PAIR_FIELDS[:10]  # what a row of a pair seen before adds (not uid, type)


@dataclass
class ConnPart:
    """One conn log read wholly past the flow limit (in a worker process, or a Dask
    worker): its rows added up per address pair, and the file as an input."""

    pairs: dict[tuple[str, str, str], _Pair]
    rows: int
    packets: int
    unknown_time: int
    info: CaptureInput


class _Careful(Exception):
    """Something the fast reader leaves to the careful one (damage, another gzip member):
    the file is read again, the careful way, so the result never depends on the reader."""


def conn_part(path: Path, display: str | None = None) -> ConnPart:
    """Read one conn log every row of which is past the flow limit (the task ``--jobs``
    and ``--scheduler`` send out). ``display`` names the file in evidence when the
    worker reads it by another path."""
    with _no_gc():
        return _conn_part(path, display)


def _conn_part(path: Path, display: str | None) -> ConnPart:
    log = ZeekLog(path, display=display)
    pairs = _Pairs()
    try:
        _fast_conn(log, pairs)
    except _Careful:
        log = ZeekLog(path, display=display)
        pairs = _Pairs()
        rows = _conn_rows(log, pairs, exact=sys.maxsize)
        assert next(rows, None) is None  # past the limit no row becomes a flow
    log.rows += pairs.file_rows
    times = [t for t in pairs.file_span if abs(t) != _INF]
    info = _input(log, times, pairs.file_packets)
    return ConnPart(pairs.pairs, pairs.file_rows, pairs.file_packets, pairs.unknown_time, info)


def _blocks(log: ZeekLog) -> Iterator[bytes]:
    """The file's bytes (inflated when gzip'd) in large blocks; :class:`_Careful` for
    anything but one whole gzip member."""
    try:
        handle = log.path.open("rb")
    except OSError:
        raise _Careful from None  # the careful reader says why, in one line
    with handle:
        head = handle.read(2)
        handle.seek(0)
        if head != b"\x1f\x8b":
            while block := handle.read(_BLOCK):
                yield block
            return
        log.compression = "gzip"
        inflate = zlib.decompressobj(wbits=31)
        try:
            while chunk := handle.read(_BLOCK):
                while chunk:
                    yield inflate.decompress(chunk, 8 * _BLOCK)
                    chunk = inflate.unconsumed_tail
                if inflate.eof:
                    if inflate.unused_data or handle.read(1):
                        raise _Careful  # another member or trailing bytes
                    return
        except zlib.error:
            raise _Careful from None
        raise _Careful  # cut short: the careful reader reports the damage


def _fast_conn(log: ZeekLog, pairs: _Pairs) -> None:
    """Every row of one conn log into ``pairs``, as :func:`_conn_rows` past the limit adds
    them, but from bytes: a row of a pair seen before is split here and added up by
    :meth:`_Pair.fold` alone; anything else (headers, JSON, escapes, non-ASCII text, a
    pair's first row, a number that is not plain) goes line by line through the careful
    code."""
    capture = log.name
    past = _PastLimit(log, pairs)
    hot: Callable[[list[bytes]], tuple[bytes, ...]] | None = None
    width = 0
    sep = b"\t"
    known: dict[tuple[bytes, bytes, bytes], _Pair] = {}
    bits_of: dict[bytes, tuple[int, int]] = {}
    rows = packets = 0
    low, high = _INF, -_INF

    def careful(text: str, number: int) -> None:
        """One line as :func:`_conn_rows` reads it past the limit."""
        nonlocal hot, width, sep
        fields = past.fields
        past.fold(((number, text),))
        if past.fields is not fields:
            hot = _hot_picker(past.fields) if past.pick is not None else None
            width = len(past.fields)
        sep = log._sep.encode()

    number = 0
    rest = b""
    blocks = _blocks(log)
    ended = False
    while not ended:
        block = next(blocks, None)
        if block is None:
            ended = True
            data = rest
            lines = [rest] if rest else []
        else:
            data = rest + block
            lines = data.split(b"\n")
            rest = lines.pop()
        if b"\r" in data:
            lines = [line.rstrip(b"\r") for line in lines]
        if not data.isascii():
            for line in lines:
                number += 1
                careful(line.decode("utf-8", "replace"), number)
            continue
        for line in lines:
            number += 1
            if not line:
                continue
            if hot is None or line[0] in b"#{":
                careful(line.decode(), number)
                continue
            parts = line.split(sep)
            if len(parts) != width or b"\\x" in line:
                careful(line.decode(), number)
                continue
            proto, orig, resp, history, o_pk, r_pk, o_b, r_b, ts, duration = hot(parts)
            pair = known.get((proto, orig, resp))
            if pair is None:
                careful(line.decode(), number)  # the first row: the pair is made there
                if proto and orig and resp and b"-" not in (proto, orig, resp):
                    key = (proto.decode().lower(), orig.decode(), resp.decode())
                    pair = pairs.pairs.get(key)
                    if pair is not None:  # else pooled in its network: careful every time
                        known[(proto, orig, resp)] = pair
                continue
            try:
                o_packets, r_packets = int(o_pk), int(r_pk)
                o_bytes, r_bytes = int(o_b), int(r_b)
                when = float(ts)
                # an unset duration (no reply) adds 0.0, as the careful add() does
                end = when + (float(duration) if duration != b"-" else 0.0)
            except ValueError:
                careful(line.decode(), number)  # "-", a redacted or ISO time: the slow way
                continue
            bits = bits_of.get(history)
            if bits is None:
                bits = bits_of[history] = history_bits(history.decode())
            if when < low:
                low = when
            if end > high:
                high = end
            at = (capture, number)
            pair.fold(when, at, end, at, bits, o_packets, r_packets, o_bytes, r_bytes)
            rows += 1
            packets += o_packets + r_packets
    pairs.file_rows += rows
    pairs.file_packets += packets
    span = pairs.file_span
    if low < span[0]:
        span[0] = low
    if high > span[1]:
        span[1] = high


def _hot_picker(fields: tuple[str, ...]) -> Callable[[list[bytes]], tuple[bytes, ...]]:
    return itemgetter(*(fields.index(name) for name in _HOT_FIELDS))


def _conn_parts(paths: Sequence[Path], jobs: int, pool: Executor | None) -> Iterator[ConnPart]:
    """:func:`conn_part` of each file, in file order: here, on ``jobs`` processes (forked,
    as ``--jobs`` reads captures), or on ``pool`` (a Dask cluster's executor: its workers
    get absolute paths, and the evidence names each file as a local run does)."""
    if pool is None and (jobs < 2 or len(paths) < 2):
        yield from map(conn_part, paths)
        return
    if pool is None:
        context = multiprocessing.get_context("fork")
        pool = ProcessPoolExecutor(max_workers=min(jobs, len(paths)), mp_context=context)
        futures = [pool.submit(conn_part, path) for path in paths]
    else:
        futures = [pool.submit(conn_part, path.absolute(), str(path)) for path in paths]
    try:
        while futures:
            yield futures.pop(0).result()  # a part merged is a part let go
    finally:
        # after an error the files not yet started are not read for nothing
        pool.shutdown(wait=True, cancel_futures=True)
