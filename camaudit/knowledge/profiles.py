"""Vendor knowledge as data: MAC prefixes, phone-home signatures and CVE ranges.

Everything vendor-specific (names, domains, ports, byte patterns) lives in the TOML files
of the profiles directory (``profiles/`` in the repository, ``camaudit/_profiles`` in a
wheel; format in ``profiles/README.md``). This module loads and validates them and
answers the look-ups the other stages need. It never hard-codes a vendor or a domain.

Validation collects every error of every file, each naming the file, the entry and the
field, and raises :class:`camaudit.errors.ProfileError` once.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from camaudit.errors import ProfileError
from camaudit.knowledge import validate as v

__all__ = [
    "CveEntry",
    "CveRange",
    "OuiEntry",
    "PhoneHomeRule",
    "Profiles",
    "Registrant",
    "clear_profiles_cache",
    "default_profiles_dir",
    "load_profiles",
]

SCHEMA_VERSION = 1
OUI_FILE = "oui.toml"
PHONE_HOME_FILE = "phone_home.toml"
PORTS_FILE = "ports.toml"
CVE_FILE = "cve.toml"

RULE_KINDS = ("dns", "port", "payload", "info")
PROBE_NAMES = ("http", "https", "rtsp", "onvif")
FALLBACK_VENDOR = "other"


@dataclass(frozen=True)
class OuiEntry:
    """A registered MAC block: ``prefix`` as written (``AA:BB:CC`` or ``AA:BB:CC:D0:00:00/28``).

    ``bits`` is 24 (MA-L), 28 (MA-M) or 36 (MA-S). ``vendor`` is one of the vendor
    families ``oui.toml`` declares, or ``other`` for a registrant found only in netaddr's
    bundled IEEE registry that no ``[[registrant]]`` names.
    """

    prefix: str
    bits: int
    organisation: str
    vendor: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class Registrant:
    """Maps a registered organisation name (case-insensitive substring) to a vendor.

    Used only for MACs outside every ``[[oui]]`` block, on the organisation name that
    netaddr's bundled registry gives (it can be newer than our snapshot).
    """

    contains: str
    vendor: str
    source: str


@dataclass(frozen=True)
class PhoneHomeRule:
    """One phone-home signature.

    ``kind`` decides how it matches: ``dns`` by ``domains`` (equal or a subdomain) and
    ``patterns`` (:func:`fnmatch.fnmatchcase`), with ``ports``/``proto`` only informative;
    ``port`` by destination ``ports`` (and ``proto`` if set), meant for outside addresses
    only; ``payload`` by ``payload_prefix`` plus, when set, ``payload_length``, any of
    ``payload_contains``, ``ports`` and ``proto``; ``info`` never matches (a sourced fact
    kept for the report and later checks).
    """

    id: str
    vendor: str
    label: str
    kind: str
    domains: tuple[str, ...]
    patterns: tuple[str, ...]
    ports: tuple[int, ...]
    proto: str | None
    payload_prefix: bytes | None
    payload_length: int | None
    purpose: str
    verified: bool
    source: str
    payload_contains: tuple[bytes, ...] = ()
    derived_from: str | None = None
    note: str = ""


@dataclass(frozen=True)
class CveRange:
    """One affected range of a :class:`CveEntry`; absent bounds are open.

    Versions are written without the leading ``V``. ``min``/``max`` bounds are inclusive
    and compare ``(version, build)`` when a build is given (Hikvision
    ``V5.2.0 build 140721``). ``below_version`` is exclusive. ``build_before`` and
    ``build_after`` are exclusive build dates (Hikvision ``yymmdd`` and Dahua
    ``yyyy-mm[-dd]`` both become dates; a month means its first day). ``branch``, when set,
    limits the range to versions starting with it (one Dahua bound per firmware branch).
    ``component`` is ``firmware`` or a library such as ``gsoap``.
    """

    component: str = "firmware"
    branch: str | None = None
    min_version: str | None = None
    min_build: dt.date | None = None
    max_version: str | None = None
    max_build: dt.date | None = None
    below_version: str | None = None
    build_before: dt.date | None = None
    build_after: dt.date | None = None


@dataclass(frozen=True)
class CveEntry:
    """A CVE for one product group (a CVE with per-group ranges has several entries).

    ``affected`` is the reference text; ``ranges`` its structured form (any range
    matching means affected). ``applies_to_cameras`` is false for storage and bridge
    products, kept only so a report can say "not applicable". ``kev_date_added`` is the
    CISA KEV date, ``None`` when not in KEV at the snapshot. ``cvss_verified`` and
    ``affected_verified`` are false where the source says the value was recalled or the
    boundary is unverified.
    """

    id: str
    vendor: str
    product_scope: str
    applies_to_cameras: bool
    affected: str
    ranges: tuple[CveRange, ...]
    fixed_in: str
    kev_date_added: dt.date | None
    cvss: float
    source: str
    affected_verified: bool = True
    affected_note: str = ""
    cvss_verified: bool = True


@dataclass(frozen=True)
class Profiles:
    """The loaded profiles and the look-ups over them (indexes are built once)."""

    ouis: tuple[OuiEntry, ...]
    rules: tuple[PhoneHomeRule, ...]
    cves: tuple[CveEntry, ...]
    directory: str
    registrants: tuple[Registrant, ...] = ()
    fallback_skip: tuple[str, ...] = ()
    camera_ports: tuple[int, ...] = ()  # TCP ports the service scan covers by default
    probe_ports: tuple[tuple[str, int], ...] = ()  # (probe name, its default port)
    _oui_index: dict[tuple[int, int], OuiEntry] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _domains: dict[str, PhoneHomeRule] = field(init=False, repr=False, compare=False, hash=False)
    _patterns: tuple[tuple[str, int, PhoneHomeRule], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _ports: dict[int, tuple[PhoneHomeRule, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    _payloads: tuple[PhoneHomeRule, ...] = field(init=False, repr=False, compare=False, hash=False)
    _fallback: dict[int, OuiEntry | None] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        oui_index: dict[tuple[int, int], OuiEntry] = {}
        for entry in self.ouis:
            value, bits = _parse_prefix(entry.prefix)
            oui_index.setdefault((bits, value >> (48 - bits)), entry)
        domains: dict[str, PhoneHomeRule] = {}
        patterns: list[tuple[str, int, PhoneHomeRule]] = []
        ports: dict[int, list[PhoneHomeRule]] = {}
        for rule in self.rules:
            if rule.kind == "dns":
                for name in rule.domains:
                    domains.setdefault(name, rule)
                for pattern in rule.patterns:
                    patterns.append((pattern, len(pattern.replace("*", "").replace("?", "")), rule))
            elif rule.kind == "port":
                for number in rule.ports:
                    ports.setdefault(number, []).append(rule)
        order = {id(rule): index for index, rule in enumerate(self.rules)}

        def preference(rule: PhoneHomeRule) -> tuple[bool, bool, int]:
            # verified before unverified, protocol-specific before any-protocol, then file order
            return (not rule.verified, rule.proto is None, order[id(rule)])

        payloads = sorted((r for r in self.rules if r.kind == "payload"), key=preference)
        object.__setattr__(self, "_oui_index", oui_index)
        object.__setattr__(self, "_domains", domains)
        object.__setattr__(self, "_patterns", tuple(patterns))
        object.__setattr__(
            self, "_ports", {p: tuple(sorted(rs, key=preference)) for p, rs in ports.items()}
        )
        object.__setattr__(self, "_payloads", tuple(payloads))
        object.__setattr__(self, "_fallback", {})

    def oui_lookup(self, mac: str, fallback: bool = True) -> OuiEntry | None:
        """The registered block of ``mac``; the longest prefix wins (MA-S, MA-M, MA-L).

        Accepts ``aa:bb:cc:dd:ee:ff``, ``AA-BB-CC-DD-EE-FF``, ``aabb.ccdd.eeff`` and
        ``aabbccddeeff``. ``None`` for an unparsable, multicast or locally administered
        (randomised) MAC. A MAC in none of our blocks is looked up, when ``fallback``, in
        netaddr's bundled IEEE registry; its vendor is taken from the ``[[registrant]]``
        table, else ``other``; names in ``fallback_skip`` (the IEEE itself, for
        subdivided blocks) give ``None``.
        """
        value = _parse_mac(mac)
        if value is None or (value >> 40) & 0x03:
            return None
        for bits in (36, 28, 24):
            hit = self._oui_index.get((bits, value >> (48 - bits)))
            if hit is not None:
                return hit
        if not fallback:
            return None
        oui = value >> 24
        if oui not in self._fallback:
            self._fallback[oui] = self._registry_entry(oui)
        return self._fallback[oui]

    def _registry_entry(self, oui: int) -> OuiEntry | None:
        try:
            organisation, version = _registered_organisation(oui)
        except Exception:  # netaddr or its registry unavailable: no answer, not an error
            return None
        lowered = organisation.lower()
        if not organisation or any(skip in lowered for skip in self.fallback_skip):
            return None
        vendor = next(
            (r.vendor for r in self.registrants if r.contains in lowered), FALLBACK_VENDOR
        )
        prefix = ":".join(f"{(oui >> shift) & 0xFF:02X}" for shift in (16, 8, 0))
        return OuiEntry(
            prefix=prefix,
            bits=24,
            organisation=organisation,
            vendor=vendor,
            source=f"netaddr {version} bundled IEEE OUI registry (fallback: not in {OUI_FILE})",
        )

    def match_name(self, name: str) -> PhoneHomeRule | None:
        """The ``dns`` rule for a DNS name (query, answer, SNI or Host), or ``None``.

        Case-insensitive, trailing dot ignored. A domain matches the name itself and its
        subdomains (``example.com`` matches ``a.example.com`` but not
        ``notexample.com``). The most specific match wins: the longest domain, or a
        pattern with more literal characters; on a tie, a domain beats a pattern.
        """
        host = name.strip().lower().rstrip(".")
        if not host:
            return None
        best: PhoneHomeRule | None = None
        score = -1
        labels = host.split(".")
        for start in range(len(labels)):
            suffix = ".".join(labels[start:])
            hit = self._domains.get(suffix)
            if hit is not None:
                best, score = hit, len(suffix)
                break
        for pattern, literal, rule in self._patterns:
            if literal > score and fnmatch.fnmatchcase(host, pattern):
                best, score = rule, literal
        return best

    def match_port(self, proto: str, port: int) -> PhoneHomeRule | None:
        """The ``port`` rule for a destination port, or ``None``.

        Only meaningful for traffic to addresses outside the closed network; the caller
        decides that. Preference: verified, then protocol-specific, then file order.
        """
        proto = proto.lower()
        if proto not in ("tcp", "udp"):
            return None
        for rule in self._ports.get(port, ()):
            if rule.proto is None or rule.proto == proto:
                return rule
        return None

    def match_payload(self, proto: str, port: int, payload: bytes) -> PhoneHomeRule | None:
        """The ``payload`` rule for the first payload bytes a side sent, or ``None``.

        ``port`` is the destination port of those bytes. A rule matches on its prefix,
        plus the exact ``payload_length``, one of ``payload_contains``, ``ports`` and
        ``proto`` where the rule sets them. Pass a single packet's payload when a rule
        sets a length.
        """
        if not payload:
            return None
        proto = proto.lower()
        for rule in self._payloads:
            if rule.proto is not None and rule.proto != proto:
                continue
            if rule.ports and port not in rule.ports:
                continue
            if rule.payload_prefix is None or not payload.startswith(rule.payload_prefix):
                continue
            if rule.payload_length is not None and len(payload) != rule.payload_length:
                continue
            if rule.payload_contains and not any(c in payload for c in rule.payload_contains):
                continue
            return rule
        return None

    def rule(self, rule_id: str) -> PhoneHomeRule | None:
        """The rule with this id, or ``None``."""
        return next((r for r in self.rules if r.id == rule_id), None)


# -- locating and caching ------------------------------------------------------------------


def default_profiles_dir() -> Path:
    """Where profiles are read from by default.

    ``$CAMAUDIT_PROFILES`` if set; else ``camaudit/_profiles`` (a wheel install, where
    the build force-includes ``profiles/``); else ``profiles/`` next to the package
    (a source checkout or editable install).
    """
    env = os.environ.get("CAMAUDIT_PROFILES")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parent.parent
    bundled = package / "_profiles"
    if bundled.is_dir():
        return bundled
    return package.parent / "profiles"


_cache: dict[Path, Profiles] = {}
_cache_lock = threading.Lock()


def load_profiles(directory: Path | None = None) -> Profiles:
    """Load and validate the profiles in ``directory`` (default: :func:`default_profiles_dir`).

    Results are cached per resolved directory. Raises
    :class:`~camaudit.errors.ProfileError` listing every problem found.
    """
    given = Path(directory) if directory is not None else default_profiles_dir()
    key = given.resolve()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    profiles = _load(given, key)
    with _cache_lock:
        _cache[key] = profiles
    return profiles


def clear_profiles_cache() -> None:
    """Forget every loaded profile set (for tests and long-running processes)."""
    with _cache_lock:
        _cache.clear()


# -- parsing helpers -----------------------------------------------------------------------

_MAC_FORMS = (
    re.compile(r"^([0-9a-f]{1,2})([:-])([0-9a-f]{1,2})(\2[0-9a-f]{1,2}){4}$"),
    re.compile(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$"),
    re.compile(r"^[0-9a-f]{12}$"),
)


def _parse_mac(mac: str) -> int | None:
    text = mac.strip().lower()
    if _MAC_FORMS[0].match(text):
        return int("".join(part.zfill(2) for part in re.split(r"[:-]", text)), 16)
    if _MAC_FORMS[1].match(text) or _MAC_FORMS[2].match(text):
        return int(text.replace(".", ""), 16)
    return None


_PREFIX = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){2}$|^[0-9A-F]{2}(:[0-9A-F]{2}){5}/(28|36)$")


def _registered_organisation(oui: int) -> tuple[str, str]:
    """The organisation netaddr's bundled IEEE registry names for ``oui`` ("" when none),
    and netaddr's version.

    The answer of ``netaddr.OUI(oui).registration().org``, read from the same two files
    (``oui.idx``: ``oui,offset,size`` lines; ``oui.txt``: the records) for the one block:
    importing ``netaddr.eui.ieee`` parses the index of all ~40 000 blocks first, a quarter
    of a second for the first device outside our own blocks.
    """
    import netaddr

    version = str(getattr(netaddr, "__version__", "?"))
    index = _registry_index()
    key = b"%d," % oui
    start = 0 if index.startswith(key) else index.find(b"\n" + key) + 1  # 0: not found
    if not index.startswith(key, start):
        return "", version
    _key, offset, size = (int(n) for n in index[start:].split(b"\n", 1)[0].split(b","))
    with (resources.files("netaddr.eui") / "oui.txt").open("rb") as registry:
        registry.seek(offset)
        record = registry.read(size).decode("utf-8")
    # netaddr's own reading of a record: the organisation follows "XX-XX-XX   (hex)"
    heading = next(line.strip() for line in record.split("\n") if "(hex)" in line)
    return heading.split(None, 2)[2].strip(), version


@cache
def _registry_index() -> bytes:
    """netaddr's ``oui.idx`` (650 kB), read once."""
    return (resources.files("netaddr.eui") / "oui.idx").read_bytes()


def _parse_prefix(prefix: str) -> tuple[int, int]:
    """``AA:BB:CC`` -> (48-bit start, 24); ``AA:BB:CC:D0:00:00/28`` -> (start, 28)."""
    if "/" in prefix:
        address, bits = prefix.split("/")
        return int(address.replace(":", ""), 16), int(bits)
    return int(prefix.replace(":", ""), 16) << 24, 24


def _oui_prefix() -> v.Check:
    def check(value: Any) -> str:
        if isinstance(value, str):
            text = value.strip().upper().replace("-", ":")
            if _PREFIX.match(text):
                start, bits = _parse_prefix(text)
                if start & ((1 << (48 - bits)) - 1) == 0:
                    return text
        raise v.Invalid(
            f"expected AA:BB:CC or a /28 or /36 block start such as AA:BB:CC:D0:00:00/28, "
            f"got {v.show(value)}"
        )

    return check


def _hex_bytes() -> v.Check:
    def check(value: Any) -> bytes:
        try:
            data = bytes.fromhex(value) if isinstance(value, str) else b""
        except ValueError:
            data = b""
        if not data:
            raise v.Invalid(f"expected hex bytes such as '44 48 47 45', got {v.show(value)}")
        return data

    return check


def _utf8() -> v.Check:
    def check(value: Any) -> bytes:
        if not isinstance(value, str) or not value:
            raise v.Invalid(f"expected a non-empty string, got {v.show(value)}")
        return value.encode("utf-8")

    return check


_PATTERN = re.compile(r"^[a-z0-9*?][a-z0-9.*?-]*$")


def _pattern() -> v.Check:
    def check(value: Any) -> str:
        if (
            not isinstance(value, str)
            or not _PATTERN.match(value)
            or not any(c in value for c in "*?")
            or "." not in value
        ):
            raise v.Invalid(
                f"expected a lower-case wildcard name such as 'vtm*.example.com', "
                f"got {v.show(value)}"
            )
        return value

    return check


_CVE_ID = v.matching(r"^CVE-\d{4}-\d{4,}$", "an id like CVE-2021-36260")
_VERSION = v.matching(r"^[0-9][0-9A-Za-z.-]*$", "a version without 'V' such as 5.4.0")


# -- field specs ---------------------------------------------------------------------------

_TOP = {
    "schema_version": v.Field(v.schema_version(SCHEMA_VERSION), required=True),
    # the file's vendor vocabulary: every entry's vendor must be one of these
    "vendors": v.Field(v.list_of(v.slug(), "vendor slugs", non_empty=True), required=True),
}

_OUI_SPEC = {
    "prefix": v.Field(_oui_prefix(), required=True),
    "organisation": v.Field(v.text(), required=True),
    "vendor": v.Field(v.slug(), required=True),
    "source": v.Field(v.text(), required=True),
    "note": v.Field(v.text(empty_ok=True), default=""),
}

_REGISTRANT_SPEC = {
    "contains": v.Field(v.text(), required=True),
    "vendor": v.Field(v.slug(), required=True),
    "source": v.Field(v.text(), required=True),
}

_RULE_SPEC = {
    "id": v.Field(v.slug(), required=True),
    "vendor": v.Field(v.slug(), required=True),
    "label": v.Field(v.text(), required=True),
    "kind": v.Field(v.one_of(*RULE_KINDS), required=True),
    "domains": v.Field(v.list_of(v.domain(min_labels=2), "DNS names"), default=()),
    "patterns": v.Field(v.list_of(_pattern(), "wildcard names"), default=()),
    "ports": v.Field(v.list_of(v.port(), "integers 1-65535"), default=()),
    "proto": v.Field(v.one_of("tcp", "udp"), default=None),
    "payload_prefix_hex": v.Field(_hex_bytes(), default=None),
    "payload_prefix_text": v.Field(_utf8(), default=None),
    "payload_length": v.Field(v.integer(1, 65535), default=None),
    "payload_contains": v.Field(v.list_of(_utf8(), "non-empty strings"), default=()),
    "purpose": v.Field(v.text(), required=True),
    "verified": v.Field(v.boolean(), required=True),
    "source": v.Field(v.text(), required=True),
    "derived_from": v.Field(v.slug(), default=None),
    "note": v.Field(v.text(empty_ok=True), default=""),
}

# which optional fields each kind needs (one of) and forbids
_KIND_NEEDS = {
    "dns": ("domains", "patterns"),
    "port": ("ports",),
    "payload": ("payload_prefix_hex", "payload_prefix_text"),
    "info": (),
}
_PAYLOAD_FIELDS = (
    "payload_prefix_hex",
    "payload_prefix_text",
    "payload_length",
    "payload_contains",
)
_KIND_FORBIDS = {
    "dns": _PAYLOAD_FIELDS,
    "port": ("domains", "patterns", *_PAYLOAD_FIELDS),
    "payload": ("domains", "patterns"),
    "info": ("domains", "patterns", *_PAYLOAD_FIELDS),
}

_RANGE_SPEC = {
    "component": v.Field(v.text(), default="firmware"),
    "branch": v.Field(v.text(), default=None),
    "min_version": v.Field(_VERSION, default=None),
    "min_build": v.Field(v.date(), default=None),
    "max_version": v.Field(_VERSION, default=None),
    "max_build": v.Field(v.date(), default=None),
    "below_version": v.Field(_VERSION, default=None),
    "build_before": v.Field(v.date(), default=None),
    "build_after": v.Field(v.date(), default=None),
}

_CVE_SPEC = {
    "id": v.Field(_CVE_ID, required=True),
    "vendor": v.Field(v.slug(), required=True),
    "product_scope": v.Field(v.text(), required=True),
    "applies_to_cameras": v.Field(v.boolean(), required=True),
    "affected": v.Field(v.text(), required=True),
    "affected_verified": v.Field(v.boolean(), default=True),
    "affected_note": v.Field(v.text(empty_ok=True), default=""),
    "range": v.Field(lambda value: value, required=True),
    "fixed_in": v.Field(v.text(empty_ok=True), default=""),
    "kev_date_added": v.Field(v.date(), default=None),
    "cvss": v.Field(v.number(0.0, 10.0), required=True),
    "cvss_verified": v.Field(v.boolean(), default=True),
    "source": v.Field(v.text(), required=True),
}


# -- loading -------------------------------------------------------------------------------


def _document(
    path: Path,
    display: str,
    arrays: tuple[str, ...],
    errors: list[str],
    extra: dict[str, v.Field] | None = None,
) -> dict[str, Any]:
    """Read a profile file; check its top level; return its arrays of tables and ``extra``."""
    data = v.read_toml(path, display, errors)
    if data is None:
        return {}
    spec = {**_TOP, **(extra or {})}
    spec.update({name: v.Field(lambda value: value, default=[]) for name in arrays})
    top = v.check_table(data, spec, display, errors)
    if top is None:
        return {}
    out: dict[str, Any] = {name: top[name] for name in ("vendors", *(extra or {}))}
    out.update({name: v.table_list(data, name, display, errors) for name in arrays})
    return out


def _tables(
    doc: dict[str, Any],
    key: str,
    spec: dict[str, v.Field],
    label: tuple[str, str | None],
    errors: list[str],
) -> Iterator[tuple[int, str, dict[str, Any], dict[str, Any]]]:
    """Each well-formed ``[[key]]`` table of ``doc``: its number, where it is for messages
    (``label`` = the file shown, the field that names an entry), the table, its values.
    A table with a wrong field has its errors appended and is not given."""
    display, name_field = label
    for index, raw in enumerate(doc.get(key, []), start=1):
        named = v.entry_label(raw, name_field) if name_field else ""
        where = f"{display}: {key}[{index}]{named}"
        values = v.check_table(raw, spec, where, errors)
        if values is not None:
            yield index, where, raw, values


def _check_vendor(
    values: dict[str, Any], doc: dict[str, Any], where: str, errors: list[str]
) -> bool:
    """The entry's vendor is in the file's ``vendors`` list (skipped if that list is bad)."""
    vendors = doc.get("vendors")
    if vendors and values["vendor"] not in vendors:
        errors.append(
            f"{where}: vendor: expected one of the file's vendors ({', '.join(vendors)}), "
            f"got {v.show(values['vendor'])}"
        )
        return False
    return True


def _load_ouis(
    directory: Path, errors: list[str]
) -> tuple[tuple[OuiEntry, ...], tuple[Registrant, ...], tuple[str, ...]]:
    display = str(directory / OUI_FILE)
    extra = {"fallback_skip": v.Field(v.list_of(v.text(), "strings"), default=())}
    doc = _document(directory / OUI_FILE, display, ("oui", "registrant"), errors, extra)
    entries: list[OuiEntry] = []
    seen: dict[str, int] = {}
    for index, where, _raw, values in _tables(doc, "oui", _OUI_SPEC, (display, "prefix"), errors):
        if not _check_vendor(values, doc, where, errors):
            continue
        prefix = values["prefix"]
        if prefix in seen:
            errors.append(f"{where}: prefix: duplicate of oui[{seen[prefix]}]")
            continue
        seen[prefix] = index
        bits = _parse_prefix(prefix)[1]
        entries.append(OuiEntry(bits=bits, **values))
    registrants: list[Registrant] = []
    named = (display, "contains")
    for _index, where, _raw, values in _tables(doc, "registrant", _REGISTRANT_SPEC, named, errors):
        if _check_vendor(values, doc, where, errors):
            values["contains"] = values["contains"].lower()
            registrants.append(Registrant(**values))
    skip = tuple(name.lower() for name in doc.get("fallback_skip", ()))
    return tuple(entries), tuple(registrants), skip


def _load_rules(directory: Path, errors: list[str]) -> tuple[PhoneHomeRule, ...]:
    display = str(directory / PHONE_HOME_FILE)
    doc = _document(directory / PHONE_HOME_FILE, display, ("rule",), errors)
    rules: list[PhoneHomeRule] = []
    ids: dict[str, int] = {}
    domains: dict[str, str] = {}
    derived: list[tuple[str, str]] = []
    for index, where, raw, values in _tables(doc, "rule", _RULE_SPEC, (display, "id"), errors):
        problems = len(errors)
        _check_vendor(values, doc, where, errors)
        rule_id, kind = values["id"], values["kind"]
        if rule_id in ids:
            errors.append(f"{where}: id: duplicate of rule[{ids[rule_id]}]")
        ids.setdefault(rule_id, index)
        needs = _KIND_NEEDS[kind]
        if needs and not any(values[name] for name in needs):
            errors.append(f"{where}: {' or '.join(needs)}: required for kind {kind!r}")
        for name in _KIND_FORBIDS[kind]:
            if name in raw:
                errors.append(f"{where}: {name}: not allowed for kind {kind!r}")
        hex_prefix, text_prefix = (
            values.pop("payload_prefix_hex"),
            values.pop("payload_prefix_text"),
        )
        if hex_prefix is not None and text_prefix is not None and hex_prefix != text_prefix:
            errors.append(
                f"{where}: payload_prefix_hex: {hex_prefix.hex(' ')} is not "
                f"payload_prefix_text {text_prefix!r}"
            )
        for name in values["domains"]:
            if name in domains and domains[name] != rule_id:
                errors.append(f"{where}: domains: {name!r} is already in rule {domains[name]!r}")
            domains.setdefault(name, rule_id)
        if values["derived_from"] is not None:
            derived.append((where, values["derived_from"]))
        if len(errors) == problems:
            rules.append(PhoneHomeRule(payload_prefix=hex_prefix or text_prefix, **values))
    for where, target in derived:
        if target not in ids:
            errors.append(f"{where}: derived_from: no rule with id {target!r}")
    return tuple(rules)


def _load_cves(directory: Path, errors: list[str]) -> tuple[CveEntry, ...]:
    display = str(directory / CVE_FILE)
    doc = _document(directory / CVE_FILE, display, ("cve",), errors)
    entries: list[CveEntry] = []
    seen: dict[tuple[str, str], int] = {}
    for index, where, _raw, values in _tables(doc, "cve", _CVE_SPEC, (display, "id"), errors):
        problems = len(errors)
        _check_vendor(values, doc, where, errors)
        key = (values["id"], values["product_scope"])
        if key in seen:
            errors.append(f"{where}: product_scope: same id and scope as cve[{seen[key]}]")
        seen.setdefault(key, index)
        ranges: list[CveRange] = []
        raw_ranges = values.pop("range")
        if not isinstance(raw_ranges, list) or not raw_ranges:
            errors.append(f"{where}: range: expected one or more [[cve.range]] tables")
            raw_ranges = []
        for number, raw_range in enumerate(raw_ranges, start=1):
            range_where = f"{where}: range[{number}]"
            checked = v.check_table(raw_range, _RANGE_SPEC, range_where, errors)
            if checked is None:
                continue
            bounds = ("min_version", "max_version", "below_version", "build_before", "build_after")
            if not any(checked[name] is not None for name in bounds):
                errors.append(f"{range_where}: expected at least one of {', '.join(bounds)}")
            for build, version in (("min_build", "min_version"), ("max_build", "max_version")):
                if checked[build] is not None and checked[version] is None:
                    errors.append(f"{range_where}: {build}: needs {version}")
            after, before = checked["build_after"], checked["build_before"]
            if after is not None and before is not None and after >= before:
                errors.append(f"{range_where}: build_after: not before build_before")
            ranges.append(CveRange(**checked))
        if len(errors) == problems:
            entries.append(CveEntry(ranges=tuple(ranges), **values))
    return tuple(entries)


_PORT_SPEC = {
    "port": v.Field(v.port(), required=True),
    "proto": v.Field(v.one_of("tcp", "udp"), required=True),
    "vendor": v.Field(v.slug(), required=True),
    "service": v.Field(v.text(), required=True),
    "source": v.Field(v.text(), required=True),
    "probes": v.Field(v.list_of(v.one_of(*PROBE_NAMES), "probe names"), default=()),
}


def _load_ports(
    directory: Path, errors: list[str]
) -> tuple[tuple[int, ...], tuple[tuple[str, int], ...]]:
    """TCP ports the service scan covers by default and the probes' default ports."""
    display = str(directory / PORTS_FILE)
    if not (directory / PORTS_FILE).exists():
        return (), ()  # optional: a directory of phone-home rules alone is a valid one
    doc = _document(directory / PORTS_FILE, display, ("port",), errors)
    ports: list[int] = []
    probes: dict[str, int] = {}
    for _index, where, _raw, values in _tables(doc, "port", _PORT_SPEC, (display, None), errors):
        _check_vendor(values, doc, where, errors)
        if values["port"] in ports:
            errors.append(f"{where}: port: {values['port']} is listed twice")
        elif values["proto"] == "tcp":
            ports.append(values["port"])
        for probe in values["probes"]:
            if probe in probes:
                errors.append(f"{where}: probes: {probe!r} already uses port {probes[probe]}")
            probes.setdefault(probe, values["port"])
    return tuple(ports), tuple(probes.items())


def _load(given: Path, resolved: Path) -> Profiles:
    errors: list[str] = []
    if not given.is_dir():
        raise ProfileError(str(given), [f"{given}: profiles directory not found"])
    ouis, registrants, skip = _load_ouis(given, errors)
    rules = _load_rules(given, errors)
    cves = _load_cves(given, errors)
    camera_ports, probe_ports = _load_ports(given, errors)
    if errors:
        raise ProfileError(str(given), errors)
    return Profiles(
        ouis=ouis,
        rules=rules,
        cves=cves,
        directory=str(resolved),
        registrants=registrants,
        fallback_skip=skip,
        camera_ports=camera_ports,
        probe_ports=probe_ports,
    )
