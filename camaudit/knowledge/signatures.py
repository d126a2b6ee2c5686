"""Vendor knowledge for fingerprinting, as validated data (``profiles/signatures.toml``).

Banners, realms, endpoint meanings, OEM relabels, makes, OUI families and firmware
version formats. Loading checks every entry and raises
:class:`camaudit.errors.ProfileError` listing every problem, as the other profiles do.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from camaudit.errors import ProfileError
from camaudit.knowledge import validate as v

__all__ = [
    "Endpoint",
    "Make",
    "OemBrand",
    "OuiFamily",
    "Signature",
    "Signatures",
    "VersionFormat",
    "load_signatures",
    "parse_build_date",
]

FILE_NAME = "signatures.toml"
MATCH_KINDS = ("exact", "prefix", "contains", "regex")
#: Facts in which a device names its own maker. The OUI organisation is left out on purpose:
#: a maker's name there also covers its phones, TVs and game consoles, so a make's MAC blocks
#: are listed one by one in oui.toml and voted through ``[[oui_family]]``.
MAKE_NAME_FACTS = ("manufacturer", "vendor", "title", "service", "onvif_name")
PARSE_KINDS = ("status", "xml", "json", "keyvalue")


@dataclass(frozen=True)
class Signature:
    """A fact value (``server``, ``realm`` ...) that points at a maker, optionally a relabel."""

    id: str
    vendor: str
    facts: tuple[str, ...]
    match: str
    values: tuple[str, ...]
    weight: float
    verified: bool
    source: str
    oem_brand: str | None = None
    note: str = ""

    def matches(self, value: str) -> bool:
        """Whether ``value`` (a sanitised fact) matches, case-insensitively."""
        text = value.strip().lower()
        for wanted in self.values:
            low = wanted.lower()
            if self.match == "exact" and text == low:
                return True
            if self.match == "prefix" and text.startswith(low):
                return True
            if self.match == "contains" and low in text:
                return True
            if self.match == "regex" and re.search(wanted, value.strip(), re.IGNORECASE):
                return True
        return False


@dataclass(frozen=True)
class OemBrand:
    """A relabel brand and its real maker; ``names`` match whole words in device text."""

    brand: str
    maker: str
    names: tuple[str, ...]
    model_prefixes: tuple[str, ...]
    verified: bool
    source: str

    def named_in(self, text: str) -> bool:
        """Whether ``text`` names this brand as a whole word (case-insensitive)."""
        low = text.lower()
        return any(re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", low) for n in self.names)

    def model_matches(self, model: str) -> bool:
        """Whether ``model`` starts with one of the brand's model prefixes."""
        return any(model.upper().startswith(p.upper()) for p in self.model_prefixes)


@dataclass(frozen=True)
class Make:
    """A camera maker outside the tracked families, named by the device itself.

    ``family`` is the vendor slug the identity gets (``other``); ``brand`` is the maker's
    name as reported; ``names`` match whole words in the device's own ``facts``.
    """

    brand: str
    family: str
    names: tuple[str, ...]
    verified: bool
    source: str
    facts: tuple[str, ...] = MAKE_NAME_FACTS

    def named_in(self, text: str) -> bool:
        """Whether ``text`` names this maker as a whole word (case-insensitive)."""
        low = text.lower()
        return any(re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", low) for n in self.names)


@dataclass(frozen=True)
class OuiFamily:
    """An ``oui.toml`` vendor family and the maker (and relabel) it points at."""

    oui_vendor: str
    vendor: str
    weight: float
    source: str
    oem_brand: str | None = None


@dataclass(frozen=True)
class VersionFormat:
    """A regular expression splitting a firmware string into ``version`` and ``build``."""

    id: str
    pattern: re.Pattern[str]
    source: str
    vendor: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """A read-only HTTP request the probe sends, and how its answer becomes facts."""

    id: str
    vendor: str
    method: str
    path: str
    parse: str
    meaning: str
    verified: bool
    source: str
    auth: bool = False
    body: str = ""
    content_type: str = ""
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Signatures:
    """Everything ``signatures.toml`` holds."""

    vendors: tuple[str, ...]
    signatures: tuple[Signature, ...]
    oems: tuple[OemBrand, ...]
    makes: tuple[Make, ...]
    oui_families: tuple[OuiFamily, ...]
    version_formats: tuple[VersionFormat, ...]
    endpoints: tuple[Endpoint, ...]
    path: str

    def split_version(self, firmware: str) -> tuple[str, dt.date | None, VersionFormat] | None:
        """``(version, build date, format)`` of a firmware string, or ``None``."""
        text = firmware.strip()
        for form in self.version_formats:
            found = form.pattern.search(text)
            if found is None:
                continue
            groups = found.groupdict()
            build = groups.get("build")
            return groups["version"], parse_build_date(build) if build else None, form
        return None


def parse_build_date(text: str) -> dt.date | None:
    """``yymmdd``, ``yyyymmdd`` or ``yyyy-mm-dd`` as a date; ``None`` if not a real date."""
    digits = text.replace("-", "").strip()
    try:
        if len(digits) == 6 and digits.isdigit():
            return dt.datetime.strptime(digits, "%y%m%d").date()
        if len(digits) == 8 and digits.isdigit():
            return dt.datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        return None
    return None


# -- validation -----------------------------------------------------------------------------


def _regex() -> v.Check:
    def check(value: Any) -> re.Pattern[str]:
        if not isinstance(value, str) or not value:
            raise v.Invalid(f"expected a regular expression, got {v.show(value)}")
        try:
            return re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise v.Invalid(f"invalid regular expression ({exc})") from None

    return check


_PATH = v.matching(r"^/[!-~]*$", "a path such as /doc/page/login.asp")


def _fields() -> v.Check:
    def check(value: Any) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(x, str) and k and x for k, x in value.items()
        ):
            raise v.Invalid(f"expected a table of field = fact names, got {v.show(value)}")
        return tuple(value.items())

    return check


_TEXTS = v.list_of(v.text(), "strings", non_empty=True)
_SIGNATURE = {
    "id": v.Field(v.slug("hik-realm"), required=True),
    "vendor": v.Field(v.slug("hik-realm"), required=True),
    "facts": v.Field(_TEXTS, required=True),
    "match": v.Field(v.one_of(*MATCH_KINDS), required=True),
    "values": v.Field(_TEXTS, required=True),
    "weight": v.Field(v.number(0.0, 1.0), required=True),
    "verified": v.Field(v.boolean(), required=True),
    "source": v.Field(v.text(), required=True),
    "oem_brand": v.Field(v.text()),
    "note": v.Field(v.text(empty_ok=True), default=""),
}
_OEM = {
    "brand": v.Field(v.text(), required=True),
    "maker": v.Field(v.slug("hik-realm"), required=True),
    "names": v.Field(_TEXTS, required=True),
    "model_prefixes": v.Field(v.list_of(v.text(), "strings"), default=()),
    "verified": v.Field(v.boolean(), required=True),
    "source": v.Field(v.text(), required=True),
}
_MAKE = {
    "brand": v.Field(v.text(), required=True),
    "family": v.Field(v.slug("hik-realm"), required=True),
    "names": v.Field(_TEXTS, required=True),
    "verified": v.Field(v.boolean(), required=True),
    "source": v.Field(v.text(), required=True),
    "facts": v.Field(_TEXTS, default=MAKE_NAME_FACTS),
}
_OUI_FAMILY = {
    "oui_vendor": v.Field(v.slug("hik-realm"), required=True),
    "vendor": v.Field(v.slug("hik-realm"), required=True),
    "weight": v.Field(v.number(0.0, 1.0), required=True),
    "source": v.Field(v.text(), required=True),
    "oem_brand": v.Field(v.text()),
}
_VERSION_FORMAT = {
    "id": v.Field(v.slug("hik-realm"), required=True),
    "pattern": v.Field(_regex(), required=True),
    "source": v.Field(v.text(), required=True),
    "vendor": v.Field(v.slug("hik-realm")),
}
_ENDPOINT = {
    "id": v.Field(v.slug("hik-realm"), required=True),
    "vendor": v.Field(v.slug("hik-realm"), required=True),
    "method": v.Field(v.one_of("GET", "POST"), required=True),
    "path": v.Field(_PATH, required=True),
    "parse": v.Field(v.one_of(*PARSE_KINDS), required=True),
    "meaning": v.Field(v.text(), required=True),
    "verified": v.Field(v.boolean(), required=True),
    "source": v.Field(v.text(), required=True),
    "auth": v.Field(v.boolean(), default=False),
    "body": v.Field(v.text(empty_ok=True), default=""),
    "content_type": v.Field(v.text(empty_ok=True), default=""),
    "fields": v.Field(_fields(), default=()),
}
_TOP = {
    "schema_version": v.Field(v.schema_version(), required=True),
    "vendors": v.Field(
        v.list_of(v.slug("hik-realm"), "vendor slugs", non_empty=True), required=True
    ),
    **{
        name: v.Field(lambda value: value, default=[])
        for name in ("signature", "oem", "make", "oui_family", "version_format", "endpoint")
    },
}


def _entries(
    data: dict[str, Any],
    key: str,
    spec: dict[str, v.Field],
    label: str,
    display: str,
    errors: list[str],
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for index, raw in enumerate(v.table_list(data, key, display, errors), start=1):
        where = f"{display}: {key}[{index}]{v.entry_label(raw, label)}"
        values = v.check_table(raw, spec, where, errors)
        if values is not None:
            values["_where"] = where
            out.append(values)
    return out


def _check_vendors(
    entries: list[dict[str, Any]],
    fields: tuple[str, ...],
    vendors: tuple[str, ...],
    errors: list[str],
) -> None:
    for entry in entries:
        for name in fields:
            value = entry.get(name)
            if value is not None and value not in vendors:
                errors.append(
                    f"{entry['_where']}: {name}: expected one of the file's vendors "
                    f"({', '.join(vendors)}), got {v.show(value)}"
                )


def _check_unique(entries: list[dict[str, Any]], key: str, errors: list[str]) -> None:
    seen: set[str] = set()
    for entry in entries:
        if entry[key] in seen:
            errors.append(f"{entry['_where']}: {key}: duplicate {v.show(entry[key])}")
        seen.add(entry[key])


def _build(entries: list[dict[str, Any]], kind: type[Any]) -> tuple[Any, ...]:
    return tuple(kind(**{k: x for k, x in e.items() if k != "_where"}) for e in entries)


def parse_signatures(path: Path) -> Signatures:
    """Load and validate one signatures file; raises :class:`ProfileError` listing all errors."""
    display = str(path)
    errors: list[str] = []
    data = v.read_toml(path, display, errors)
    if data is None:
        raise ProfileError(display, errors)
    top = v.check_table(data, _TOP, display, errors)
    if top is None:
        raise ProfileError(display, errors)
    vendors: tuple[str, ...] = top["vendors"]
    signatures = _entries(data, "signature", _SIGNATURE, "id", display, errors)
    oems = _entries(data, "oem", _OEM, "brand", display, errors)
    makes = _entries(data, "make", _MAKE, "brand", display, errors)
    families = _entries(data, "oui_family", _OUI_FAMILY, "oui_vendor", display, errors)
    formats = _entries(data, "version_format", _VERSION_FORMAT, "id", display, errors)
    endpoints = _entries(data, "endpoint", _ENDPOINT, "id", display, errors)
    _check_vendors(signatures, ("vendor",), vendors, errors)
    _check_vendors(oems, ("maker",), vendors, errors)
    _check_vendors(makes, ("family",), vendors, errors)
    _check_vendors(families, ("vendor",), vendors, errors)
    _check_vendors(formats, ("vendor",), vendors, errors)
    _check_vendors(endpoints, ("vendor",), vendors, errors)
    for entries, key in (
        (signatures, "id"),
        (oems, "brand"),
        (makes, "brand"),
        (formats, "id"),
        (endpoints, "id"),
    ):
        _check_unique(entries, key, errors)
    for pattern_entry in formats:
        if "version" not in pattern_entry["pattern"].groupindex:
            errors.append(f"{pattern_entry['_where']}: pattern: needs a (?P<version>...) group")
    for signature in signatures:
        if signature["match"] == "regex":
            for value in signature["values"]:
                try:
                    re.compile(value)
                except re.error as exc:
                    errors.append(f"{signature['_where']}: values: invalid regex ({exc})")
    if errors:
        raise ProfileError(display, errors)
    return Signatures(
        vendors=vendors,
        signatures=_build(signatures, Signature),
        oems=_build(oems, OemBrand),
        makes=_build(makes, Make),
        oui_families=_build(families, OuiFamily),
        version_formats=_build(formats, VersionFormat),
        endpoints=_build(endpoints, Endpoint),
        path=display,
    )


_cache: dict[Path, Signatures] = {}
_lock = threading.Lock()


def load_signatures(directory: Path) -> Signatures:
    """The validated ``signatures.toml`` of a profiles directory (cached per file)."""
    chosen = (Path(directory) / FILE_NAME).resolve()
    with _lock:
        if chosen not in _cache:
            _cache[chosen] = parse_signatures(chosen)
        return _cache[chosen]
