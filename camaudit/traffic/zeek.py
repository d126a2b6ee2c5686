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

import gzip
import hashlib
import ipaddress
import json
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO

from camaudit.errors import InputError
from camaudit.model import (
    CaptureInput,
    DnsLookup,
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
from camaudit.traffic.engine import _direction_problems
from camaudit.traffic.flows import ACK, DATA, FIN, RST, SYN, SYNACK, _tcp_state, icmp_category

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
    _sep: str = field(default="\t", repr=False)
    _set_sep: str = field(default=",", repr=False)
    _empty: str = field(default="(empty)", repr=False)
    _unset: str = field(default="-", repr=False)
    _containers: frozenset[str] = field(default=frozenset(), repr=False)  # set/vector fields

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
        try:
            handle = self._open()
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        with handle:
            number = 0
            try:
                for line in handle:
                    number += 1
                    row = self._row(line.rstrip("\r\n"), number)
                    if row is not None:
                        self.rows += 1
                        yield row
            except _GZIP_ERRORS as exc:
                self.damage = phrase("problem_zeek_damaged", line=str(number), error=str(exc))

    def _row(self, line: str, number: int) -> ZeekRow | None:
        if not line:
            return None
        if line.startswith("{"):
            self.format = "zeek-json"
            return self._json(line, number)
        if line.startswith("#"):
            self._header(line)
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

    def _header(self, line: str) -> None:
        tag, _, rest = line.partition("\t")
        if tag == "#separator":
            tag, _, rest = line.partition(" ")
            self._sep = _unescape(rest.strip())
        elif tag == "#set_separator":
            self._set_sep = _unescape(rest)
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
                Problem(
                    "skipped_files",
                    f"{root}: {skipped} other Zeek log(s) not used (only {', '.join(WANTED)})",
                    str(root),
                    skipped,
                )
            )
        found.extend(logs)
    return found, problems


@dataclass
class _Join:
    """What the other logs say about a connection, by uid."""

    sni: dict[str, str] = field(default_factory=dict)
    host: dict[str, str] = field(default_factory=dict)
    ntp: set[str] = field(default_factory=set)


def analyse_zeek(directories: Sequence[str | Path]) -> TrafficSummary:
    """Read the Zeek logs under ``directories`` into the summary the pcap path makes.

    Raises :class:`InputError` when a directory has no conn log or a log cannot be
    opened; a log damaged part-way keeps the rows read and becomes a ``truncated``
    problem (which, like a truncated capture, stops a verdict of isolated).
    """
    paths, problems = find_logs(directories)
    by_kind: dict[str, list[Path]] = {}
    for path in paths:
        by_kind.setdefault(log_kind(path.name) or "", []).append(path)
    inputs: list[CaptureInput] = []
    dns = DnsLog()
    dns_uids: dict[tuple[str, int], str] = {}  # (dns log, line) -> uid
    join = _Join()
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
                if kind == "dns" and (uid := row.text("uid")):
                    dns_uids[(str(path), row.line)] = uid
            inputs.append(_input(log, times, 0))
    flows: list[Flow] = []
    macs: dict[str, str] = {}
    for path in by_kind.get("conn", []):
        log = ZeekLog(path)
        times = []
        packets = 0
        for row in log:
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
        inputs.append(_input(log, times, packets))
    if unknown_time:
        problems.append(
            Problem(
                "timestamps_unknown",
                f"{unknown_time} log row(s) have no usable ts (redacted or unset); "
                "their times are shown as 0 and DNS answers are matched to flows regardless "
                "of order",
                None,
                unknown_time,
            )
        )
    ordered = tuple(sorted(flows, key=lambda f: (f.first.time, f.first.capture, f.first.frame)))
    problems.extend(_direction_problems(ordered))
    return TrafficSummary(
        inputs=tuple(inputs),
        flows=ordered,
        dns=tuple(_with_uid(lookup, dns_uids) for lookup in dns.ordered()),
        hosts=tuple(HostInfo(ip=ip, mac=mac) for ip, mac in sorted(macs.items())),
        problems=tuple(problems),
        packets=sum(i.packets for i in inputs),
    )


def _with_uid(lookup: DnsLookup, uids: dict[tuple[str, int], str]) -> DnsLookup:
    ref = lookup.query or lookup.response
    uid = uids.get((ref.capture, ref.frame)) if ref is not None else None
    return replace(lookup, zeek_uid=uid) if uid else lookup


def _input(log: ZeekLog, times: list[float], packets: int) -> CaptureInput:
    problems: list[Problem] = []
    where = str(log.path)
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
    dns.add(question, where, client, cport, server, sport, truncated=False)
    rcode = row.text("rcode_name")
    if rcode is None:
        return  # no reply seen
    answers = tuple((name, _answer_type(a), a) for a in row.items("answers"))
    reply = DnsMessage(ident, True, ((name, qtype),), rcode, answers)
    # An unknown ts stays 0.0 (not 0 + rtt), so the answer is never "after" a flow.
    rtt = row.number("rtt") if ts is not None else 0.0
    at = FrameRef(capture, row.line, when + rtt)
    dns.add(reply, at, server, sport, client, cport, truncated=row.text("TC") == "T")


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


def _flow(row: ZeekRow, capture: str, dns: DnsLog, join: _Join) -> Flow | None:
    proto = (row.text("proto") or "").lower()
    orig, resp = row.text("id.orig_h"), row.text("id.resp_h")
    if not proto or not orig or not resp:
        return None
    o_pk, r_pk = row.integer("orig_pkts"), row.integer("resp_pkts")
    history = row.text("history") or ""
    unseen = mid = False
    if proto == "tcp":
        o_bits, r_bits = history_bits(history)
        state, category, unseen = _tcp_state(o_bits, r_bits, o_pk, r_pk)
        mid = not (o_bits | r_bits) & (SYN | SYNACK)
    elif proto == "icmp":
        itype = row.integer("id.orig_p")
        paired = 0 <= itype < len(d.ICMP4_COUNTERPART) and int(d.ICMP4_COUNTERPART[itype]) >= 0
        state = "OTH"
        category = icmp_category(bool(r_pk), paired)
    else:
        state = "SF" if o_pk and r_pk else "S0"
        category = FlowCategory.TWO_WAY if r_pk else FlowCategory.ONE_WAY
    ts = row.time()
    start = ts if ts is not None else 0.0
    duration = row.number("duration")
    uid = row.text("uid")
    service = set(row.items("service"))
    o_port, r_port = row.integer("id.orig_p"), row.integer("id.resp_p")
    sni = join.sni.get(uid or "")
    host = None if sni else join.host.get(uid or "")
    app: str | None = "tls" if "ssl" in service else "http" if host or "http" in service else None
    if 53 in (o_port, r_port) and proto in ("udp", "tcp"):
        app = "dns"
    elif proto == "udp" and r_port == 123 and ("ntp" in service or (uid or "") in join.ntp):
        app = "ntp"
    return Flow(
        proto=proto,
        orig=orig,
        orig_port=o_port,
        resp=resp,
        resp_port=r_port,
        conn_state=state,
        category=category,
        first=FrameRef(capture, row.line, start),
        last=FrameRef(capture, row.line, start + duration),
        orig_packets=o_pk,
        orig_bytes=row.integer("orig_ip_bytes"),
        resp_packets=r_pk,
        resp_bytes=row.integer("resp_ip_bytes"),
        orig_mac=row.text("orig_l2_addr"),
        resp_mac=row.text("resp_l2_addr"),
        vlan=row.integer("vlan") if row.text("vlan") else None,
        sni=sni,
        http_host=host,
        app=app,
        dns_names=dns.names_before(resp, start),
        reply_unseen=unseen,
        mid_stream=proto == "tcp" and mid,
        zeek_uid=uid,
    )
