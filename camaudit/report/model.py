"""The typed report model: what ``verify``, ``discover`` and ``fingerprint`` report.

Each report is a tree of frozen dataclasses whose fields are, in order, the keys of
the JSON document that ``report.schema.json`` pins; where the verdict stage's own
type has that shape already (:class:`CaptureInput`, :class:`Evidence`, :class:`Problem`,
:class:`HostInfo`) the report holds it as it is. :func:`to_json` writes a report,
:func:`from_json` reads one back (validated against the schema first), and every
renderer works from these types, never from the JSON text. The text fields are the
evidence as seen: untrusted, and sanitised by each renderer at its edge.
"""

from __future__ import annotations

import json
import types
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any, Literal, TextIO, TypeVar, Union, get_args, get_origin, get_type_hints

from camaudit.errors import InputError
from camaudit.model import (
    AllowBasis,
    CaptureInput,
    Direction,
    Evidence,
    FlowCategory,
    HostInfo,
    Phrase,
    PhraseParams,
    Problem,
    Rhythm,
    Verdict,
)
from camaudit.report import jsonwrite
from camaudit.report.compliance import ControlsSection
from camaudit.report.register import RegisterSection

SCHEMA_VERSION = 1

Facts = tuple[tuple[str, str], ...]  # ordered (key, value) pairs, as a list of pairs in JSON


# ---- parts shared by both kinds ---------------------------------------------------


@dataclass(frozen=True)
class ToolInfo:
    """The program that wrote the report."""

    name: str
    version: str


# ---- verify -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClosedNetworkEntry:
    """The closed network the traffic was judged against; ``default`` when none was given."""

    cidrs: tuple[str, ...]  # as the policy or --closed-network gave them
    default: bool


@dataclass(frozen=True)
class PolicyEntry:
    """The policy applied and what it fails on (``attempts`` or ``leaks``)."""

    name: str
    path: str | None  # None: no policy file, the built-in default
    fail_on: str  # "attempts" | "leaks"


@dataclass(frozen=True)
class VerifySummary:
    """The counts a reader sees first."""

    captures: int
    packets: int
    flows: int
    devices: int
    outbound: int
    crossed: int
    dns_lookups: int
    external_lookups: int
    findings: int


@dataclass(frozen=True)
class RejectionEntry:
    """The RST / ICMP error that answered a flow, and who sent it (``from`` in JSON)."""

    capture: str
    frame: int
    sender: str | None = field(metadata={"json": "from"})


@dataclass(frozen=True)
class BoundaryFlowEntry:
    """A flow across the closed network's boundary (JSON ``outbound``), as judged."""

    direction: Direction
    device: str
    remote: str
    src: str
    dst: str
    proto: str
    sport: int
    dport: int
    state: FlowCategory
    conn_state: str
    crossed: bool
    capture: str
    first_frame: int
    last_capture: str
    last_frame: int
    first_time: float
    last_time: float
    packets_out: int
    bytes_out: int
    packets_in: int
    bytes_in: int
    names: tuple[str, ...]
    sni: str | None
    http_host: str | None
    app: str | None
    label: str | None
    label_source: str | None
    allowed_by: str | None
    allowed_basis: AllowBasis | None
    rejected_by: RejectionEntry | None
    reply_unseen: bool
    mid_stream: bool
    vlan: int | None
    device_mac: str | None


@dataclass(frozen=True)
class LookupEntry:
    """A DNS look-up, judged against the closed network."""

    name: str
    qtype: str
    rcode: str | None
    answers: tuple[str, ...]
    client: str
    server: str
    capture: str | None
    frame: int | None
    response_frame: int | None
    time: float | None
    external: bool
    answered_with_addresses: bool
    label: str | None
    truncated: bool
    # a DNS flood's look-ups counted together (traffic.dnslog): how many; names not kept
    pooled: int = field(default=0, metadata={"omit_empty": True})
    names_pooled: bool = field(default=False, metadata={"omit_empty": True})


@dataclass(frozen=True)
class FindingEntry:
    """One rule that fired, with the frames behind it.

    ``summary`` is its text in English; ``code`` and ``params`` write it in the reader's
    language (:func:`camaudit.phrases.finding_text`). A report saved before findings had
    codes has none: its English summary is shown as it is.
    """

    rule: str
    severity: str
    device: str | None
    summary: str
    label: str | None
    evidence: tuple[Evidence, ...]
    code: str | None = None
    params: PhraseParams = field(default=(), metadata={"phrase_params": True})


@dataclass(frozen=True)
class TrafficVerdict:
    """The part ``verify`` and ``audit`` share, first in both: the overall verdict and
    every piece of traffic evidence behind it. Each report appends its own fields."""

    schema_version: int
    kind: str  # each report narrows it to its own literal
    tool: ToolInfo
    generated: str
    verdict: Verdict
    exit_code: int
    reasons: tuple[Phrase, ...]
    closed_network: ClosedNetworkEntry
    policy: PolicyEntry
    summary: VerifySummary
    # every capture file as read: its SHA-256 ties the report to the evidence
    inputs: tuple[CaptureInput, ...]
    problems: tuple[Problem, ...]
    devices: tuple[HostInfo, ...]
    outbound: tuple[BoundaryFlowEntry, ...]
    dns: tuple[LookupEntry, ...]
    findings: tuple[FindingEntry, ...]


@dataclass(frozen=True)
class VerifyReport(TrafficVerdict):
    """``camaudit verify``: the verdict and every piece of evidence behind it."""

    kind: Literal["verify"]  # keeps its place after schema_version
    controls: ControlsSection | None = None  # BIO/BIO2 controls (report/compliance.py)
    register: RegisterSection | None = None  # never set on verify; kept for one shape
    # Repeated connections (policy/rhythm.py); left out of the JSON when there are none.
    rhythm: tuple[Rhythm, ...] = field(default=(), metadata={"omit_empty": True})


# ---- inventory (discover / fingerprint) -------------------------------------------


@dataclass(frozen=True)
class TargetEntry:
    """The segment discovery swept, and its time limits."""

    networks: tuple[str, ...]
    interface: str | None
    timeout: float
    budget: float


@dataclass(frozen=True)
class MethodEntry:
    """One discovery method as it ran (JSON ``attempts``)."""

    method: str
    status: str
    error: str | None
    duration: float
    sightings: int
    timed_out_hosts: tuple[str, ...]
    commands: tuple[str, ...] = ()  # external command lines the method ran (nmap), as run


@dataclass(frozen=True)
class InventorySummary:
    """The counts a reader sees first."""

    devices: int
    identified: int
    with_cves: int
    with_kev: int
    timed_out: int
    outside_target: int


@dataclass(frozen=True)
class ScopeEntry:
    """The closed network device settings were checked against."""

    networks: tuple[str, ...]
    default: bool


@dataclass(frozen=True)
class ClaimEntry:
    """What a device outside ``--target`` said about itself, by discovery method."""

    method: str
    sender: str | None  # the address the reply came from
    claims: Facts  # its facts, less camaudit's own outside-target mark


@dataclass(frozen=True)
class OutsideEntry:
    """A device that answered discovery from outside ``--target``: reported, never probed."""

    ip: str
    finding: str
    evidence: tuple[ClaimEntry, ...]


@dataclass(frozen=True)
class SightingEntry:
    """One discovery reply: who answered, by which method, what it said."""

    method: str
    ip: str | None
    mac: str | None
    facts: Facts
    raw_excerpt: str


@dataclass(frozen=True)
class IdentityEntry:
    """Who made the device and what it runs, each conclusion with its evidence."""

    vendor: str | None
    oem_brand: str | None
    model: str | None
    firmware: str | None
    build_date: str | None
    confidence: float
    evidence: tuple[str, ...]
    conflicts: tuple[str, ...]


@dataclass(frozen=True)
class CveEntry:
    """A published vulnerability that applies to the firmware, and why."""

    cve: str
    cvss: float
    kev_date_added: str | None
    reason: str
    fixed_in: str
    source: str


@dataclass(frozen=True)
class ProbeEntry:
    """One identification request as it ran, and the facts it read."""

    probe: str
    status: str
    error: str | None
    duration: float
    facts: Facts


@dataclass(frozen=True)
class CertificateEntry:
    """The SHA-256 of a device's TLS leaf certificate, pinned on first use."""

    probe: str  # the probe that saw it, e.g. "https:443"
    sha256: str  # lower-case hex


@dataclass(frozen=True)
class DeviceEntry:
    """One device: what discovery saw, what fingerprinting found, what applies to it."""

    ip: str | None
    mac: str | None
    oui_vendor: str | None
    oui_organisation: str | None
    found_by: tuple[str, ...]
    open_ports: tuple[str, ...]
    timed_out: bool
    mac_conflicts: tuple[str, ...]
    sightings: tuple[SightingEntry, ...]
    identity: IdentityEntry | None
    cves: tuple[CveEntry, ...]
    probes: tuple[ProbeEntry, ...]
    config_findings: tuple[str, ...]
    outside_target: bool
    tls_certificates: tuple[CertificateEntry, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class InventorySection:
    """What ``discover`` / ``fingerprint`` found (JSON ``inventory``)."""

    target: TargetEntry | None
    duration: float | None
    attempts: tuple[MethodEntry, ...]
    summary: InventorySummary
    closed_network: ScopeEntry
    outside_target: tuple[OutsideEntry, ...]
    devices: tuple[DeviceEntry, ...]


@dataclass(frozen=True)
class InventoryReport:
    """``camaudit discover`` / ``fingerprint``: every device with its evidence."""

    schema_version: int
    kind: Literal["inventory"]
    tool: ToolInfo
    generated: str
    exit_code: int
    inventory: InventorySection
    controls: ControlsSection | None = None  # BIO/BIO2 controls (report/compliance.py)
    register: RegisterSection | None = None  # --register reconciliation (report/register.py)


# ---- audit (discover + fingerprint + traffic, one verdict per device) -------------


@dataclass(frozen=True)
class RecordingEntry:
    """How ``audit`` recorded the segment: the interface, for how long, into which files."""

    interface: str
    duration: float  # seconds asked for
    tool: str  # "dumpcap" | "tcpdump"
    directory: str
    files: tuple[str, ...]  # the rotated capture files, in order: the evidence


@dataclass(frozen=True)
class DeviceVerdictEntry:
    """One device's own isolation verdict and the evidence behind it.

    ``outbound``, ``dns`` and ``findings`` are indices (0-based) into the report's
    lists of the same name; ``evidence`` copies the frames those findings cite.
    """

    verdict: Verdict
    reasons: tuple[Phrase, ...]
    outbound: tuple[int, ...]
    dns: tuple[int, ...]
    findings: tuple[int, ...]
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class AuditDeviceEntry:
    """One device of the audit: who it is, what applies to it, and whether it left."""

    ip: str | None
    mac: str | None
    addresses: tuple[str, ...]  # every address tied to it by MAC in the traffic
    sources: tuple[str, ...]  # "discovery" (swept and probed) and/or "traffic" (only seen)
    oui_vendor: str | None
    identity: IdentityEntry | None
    cves: tuple[CveEntry, ...]
    config_findings: tuple[str, ...]
    inventory_index: int | None  # index into ``inventory.devices``, None: seen only in traffic
    cloud_labels: tuple[str, ...]  # vendor-cloud labels of its outbound flows / look-ups
    verdict: DeviceVerdictEntry
    not_checked: tuple[str, ...]  # what camaudit could not check for this device
    # Names the device chose in its own DHCP/mDNS/SSDP packets (source: passive), and the
    # maker/model they suggest: never proof, never a flow allowed, never a verdict changed.
    passive: tuple[PassiveFactEntry, ...] = ()
    passive_identity: IdentityEntry | None = None


@dataclass(frozen=True)
class PassiveFactEntry:
    """One name a device gave itself in traffic (DHCP, mDNS, SSDP): its source is passive."""

    protocol: str  # "dhcp" | "mdns" | "ssdp"
    key: str  # "host_name", "vendor_class", "parameter_list", "instance", "txt:model", "server" ...
    value: str
    count: int  # packets that said it
    evidence: Evidence  # the first frame that said it


@dataclass(frozen=True)
class AuditSummary:
    """The counts a reader sees first: devices, and devices by verdict."""

    devices: int
    discovered: int
    traffic_only: int
    isolated: int
    isolated_with_attempts: int
    not_isolated: int
    inconclusive: int


@dataclass(frozen=True)
class AuditSection:
    """What ``audit`` adds to the verify and inventory parts (JSON ``audit``)."""

    mode: str  # "recorded" | "captures"
    recording: RecordingEntry | None
    credentials: bool  # whether devices were probed with credentials
    summary: AuditSummary
    devices: tuple[AuditDeviceEntry, ...]
    not_checked: tuple[str, ...]  # what the whole run could not check


@dataclass(frozen=True)
class AuditReport(TrafficVerdict):
    """``camaudit audit``: the verify part (overall verdict and its evidence), the
    inventory part, and every device with its own verdict (JSON ``audit``)."""

    kind: Literal["audit"]  # keeps its place after schema_version
    inventory: InventorySection
    audit: AuditSection
    controls: ControlsSection | None = None  # BIO/BIO2 controls (report/compliance.py)
    register: RegisterSection | None = None  # --register reconciliation (report/register.py)
    rhythm: tuple[Rhythm, ...] = field(default=(), metadata={"omit_empty": True})  # as verify's


Report = VerifyReport | InventoryReport | AuditReport
_KINDS: dict[str, type[VerifyReport] | type[InventoryReport] | type[AuditReport]] = {
    "verify": VerifyReport,
    "inventory": InventoryReport,
    "audit": AuditReport,
}


T = TypeVar("T")


def copy_fields(cls: type[T], source: object, **given: Any) -> T:
    """A ``cls`` whose fields are ``given``, the rest read from ``source``'s same-named
    attributes: a report entry that mirrors a result type names only what differs."""
    names = _field_names(cls)  # type: ignore[arg-type]
    return cls(**{n: given[n] if n in given else getattr(source, n) for n in names})


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() rebuilds its tuple each call: a flood copies 100 k flows
    return tuple(f.name for f in fields(cls))


# ---- JSON -------------------------------------------------------------------------


def schema() -> dict[str, Any]:
    """The committed JSON Schema every report validates against."""
    text = resources.files("camaudit.report").joinpath("report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _json_key(f: Any) -> str:
    key: str = f.metadata.get("json", f.name)
    return key


def to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (dicts, lists, strings, numbers), keys in schema order."""
    data: dict[str, Any] = _plain(report)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, Phrase):
        return {"text": value.text, "code": value.code, "params": plain_params(value.params)}
    if is_dataclass(value) and not isinstance(value, type):
        return {
            _json_key(f): (plain_params if f.metadata.get("phrase_params") else _plain)(
                getattr(value, f.name)
            )
            for f in fields(value)
            if not (f.metadata.get("omit_empty") and not getattr(value, f.name))
        }
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    return value


def to_json(report: Report) -> str:
    """The report as pretty JSON text: ``json.dumps(to_dict(report), indent=2,
    ensure_ascii=False)`` and a newline, written by the one JSON writer
    (:mod:`camaudit.report.jsonwrite`) without building the dict tree."""
    return jsonwrite.dumps(report)


def write_json(report: Report, handle: TextIO) -> None:
    """Write the report as pretty JSON (the same bytes as :func:`to_json`)."""
    jsonwrite.write(report, handle)


def from_dict(data: Any) -> Report:
    """Read a report back from JSON data; :class:`InputError` when it is not one.

    The schema is checked first, so the typed reading below never meets a shape it
    does not know.
    """
    import jsonschema  # only to read a saved report back: not on the verify path

    try:
        jsonschema.validate(data, schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        raise InputError(f"not a camaudit report: {where}: {exc.message}") from None
    report: Report = _read(_KINDS[data["kind"]], data)
    return report


def from_json(text: str) -> Report:
    """Read a report written by :func:`to_json`; :class:`InputError` when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not a camaudit report: not JSON ({exc})") from None
    return from_dict(data)


def plain_params(params: PhraseParams) -> dict[str, Any]:
    """A phrase's parameters as JSON data (nested phrases as objects)."""
    return {name: _plain(value) for name, value in params}


def _phrase(value: Any) -> Phrase:
    """A phrase from JSON; a bare string is the English text of a report saved before
    reasons had codes."""
    if isinstance(value, str):
        return Phrase(value)
    return Phrase(value["text"], value["code"], _params(value["params"]))


def _params(value: dict[str, Any]) -> PhraseParams:
    return tuple((name, v if isinstance(v, str | int) else _phrase(v)) for name, v in value.items())


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _read(cls: Any, data: dict[str, Any]) -> Any:
    """An instance of dataclass ``cls`` from its JSON object, each field by its type."""
    hints = _hints(cls)
    # a key absent from the JSON is a field appended later (with a default): an older
    # report still loads
    given = [f for f in fields(cls) if _json_key(f) in data]
    return cls(
        **{
            f.name: (
                _params(data[_json_key(f)])
                if f.metadata.get("phrase_params")
                else _value(hints[f.name], data[_json_key(f)])
            )
            for f in given
        }
    )


def _value(kind: Any, value: Any) -> Any:
    if kind is Phrase:
        return _phrase(value)
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [k for k in get_args(kind) if k is not type(None)]
        return _value(inner, value)
    if origin is tuple:
        args = get_args(kind)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_value(args[0], v) for v in value)
        return tuple(_value(k, v) for k, v in zip(args, value, strict=True))
    if isinstance(kind, type) and is_dataclass(kind):
        return _read(kind, value)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(value)
    return value  # str, int, float, bool, Literal: as JSON gave them
