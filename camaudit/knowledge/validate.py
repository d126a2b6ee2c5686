"""A tiny field-spec validator shared by the profile, signature and policy loaders.

A spec maps each allowed key of a TOML table to a :class:`Field` (a converter plus
``required`` / ``default``). :func:`check_table` converts one table and appends one
line per problem to an error list, so a loader can report every error of every file
at once instead of stopping at the first. Messages have the shape
``<where>: <field>: <what is wrong>``, where ``<where>`` names the file and the entry
(``phone_home.toml: rule[3] (some-id)``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Check",
    "Field",
    "Invalid",
    "address",
    "boolean",
    "check_table",
    "cidr",
    "date",
    "domain",
    "entry_label",
    "integer",
    "list_of",
    "matching",
    "number",
    "one_of",
    "port",
    "read_toml",
    "schema_version",
    "show",
    "slug",
    "table_list",
    "text",
]


class Invalid(Exception):
    """Raised by a converter: the message says what was expected (``expected ...``)."""


Check = Callable[[Any], Any]
"""A converter: returns the checked, normalised value or raises :class:`Invalid`."""


@dataclass(frozen=True)
class Field:
    """How one key of a table is checked; ``default`` is used when an optional key is absent."""

    check: Check
    required: bool = False
    default: Any = None


def show(value: object, limit: int = 60) -> str:
    """``repr`` of an untrusted value, bounded and free of control characters."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def entry_label(raw: object, key: str) -> str:
    """`` (some-id)``: an entry's id or name for error messages, printable and bounded."""
    value = raw.get(key) if isinstance(raw, dict) else None
    if not isinstance(value, str):
        return ""
    return f" ({re.sub(r'[^ -~]', '?', value)[:40]})"


# A TOML file read here is configuration a person wrote: small and flat. Bounds keep a
# hostile one from exhausting the parser (tomllib's cost grows with the square of a dotted
# key's length: 100,000 parts took > 10 GB) or the stack (nested arrays recurse).
MAX_TOML_BYTES = 1 << 20
MAX_KEY_PARTS = 64
MAX_NESTING = 32
_STRINGS_AND_COMMENTS = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'[^\'\n]*\'|#[^\n]*'
)


def read_toml(
    path: Path, display: str, errors: list[str], max_bytes: int = MAX_TOML_BYTES
) -> dict[str, Any] | None:
    """Parse one TOML file; on failure append a one-line error and return ``None``.

    A syntax error names the line and column that :mod:`tomllib` reports. A file over
    ``max_bytes``, a dotted key of more than :data:`MAX_KEY_PARTS` parts or arrays and
    tables nested deeper than :data:`MAX_NESTING` is refused before it is parsed.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        errors.append(f"{display}: cannot read file: {exc.strerror or exc}")
        return None
    if len(data) > max_bytes:
        errors.append(f"{display}: larger than {max_bytes} bytes; not read")
        return None
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.append(f"{display}: not UTF-8 text (byte {exc.start})")
        return None
    shape = _shape_problem(source)
    if shape:
        errors.append(f"{display}: {shape}; not read")
        return None
    try:
        return tomllib.loads(source)
    except RecursionError:  # the pre-check should make this unreachable; belt and braces
        errors.append(f"{display}: nested too deeply; not read")
        return None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
        end = re.search(r"\s*\(at end of document\)\s*$", message)
        if where:
            position = f"line {where.group(1)}, column {where.group(2)}: "
            message = message[: where.start()]
        elif end:
            position = f"line {source.count(chr(10)) + 1} (end of file): "
            message = message[: end.start()]
        else:
            position = ""
        errors.append(f"{display}: {position}TOML syntax error: {message}")
    return None


def _shape_problem(source: str) -> str | None:
    """Why ``source`` is too deep to parse safely, or ``None``; strings and comments aside."""
    bare = _STRINGS_AND_COMMENTS.sub(lambda m: "\n" * m.group().count("\n"), source)
    depth = 0
    for number, line in enumerate(bare.split("\n"), start=1):
        if line.count(".") >= MAX_KEY_PARTS:
            return f"line {number}: a key of more than {MAX_KEY_PARTS} dotted parts"
        for char in line:
            if char in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    return f"line {number}: arrays or tables nested more than {MAX_NESTING} deep"
            elif char in "]}":
                depth -= 1
    return None


def check_table(
    raw: object, spec: Mapping[str, Field], where: str, errors: list[str]
) -> dict[str, Any] | None:
    """Convert ``raw`` by ``spec``; every problem is appended to ``errors``.

    Unknown keys and missing required keys are errors. Returns the converted values
    (defaults filled in) or ``None`` when anything in this table was wrong.
    """
    if not isinstance(raw, dict):
        errors.append(f"{where}: expected a table, got {show(raw)}")
        return None
    ok = True
    for key in raw:
        if key not in spec:
            hint = difflib.get_close_matches(str(key), list(spec), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            errors.append(f"{where}: {show(key)}: unknown field{extra}")
            ok = False
    out: dict[str, Any] = {}
    for name, field in spec.items():
        if name not in raw:
            if field.required:
                errors.append(f"{where}: {name}: missing (required)")
                ok = False
            out[name] = field.default
            continue
        try:
            out[name] = field.check(raw[name])
        except Invalid as exc:
            errors.append(f"{where}: {name}: {exc}")
            ok = False
    return out if ok else None


def table_list(raw: Mapping[str, Any], key: str, where: str, errors: list[str]) -> list[Any]:
    """The ``[[key]]`` array of tables of a document (empty when absent)."""
    value = raw.get(key, [])
    if not isinstance(value, list):
        errors.append(f"{where}: {key}: expected [[{key}]] tables, got {show(value)}")
        return []
    return value


# -- converters ---------------------------------------------------------------------------


def text(empty_ok: bool = False) -> Check:
    """A string; surrounding whitespace is dropped; empty only if ``empty_ok``."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or (not empty_ok and not value.strip()):
            raise Invalid(f"expected a {'' if empty_ok else 'non-empty '}string, got {show(value)}")
        return value.strip()

    return check


def boolean() -> Check:
    """``true`` or ``false``."""

    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise Invalid(f"expected true or false, got {show(value)}")
        return value

    return check


def integer(low: int, high: int) -> Check:
    """An integer in ``[low, high]`` (booleans are not integers here)."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"expected an integer {low}-{high}, got {show(value)}")
        return value

    return check


def port() -> Check:
    """A TCP/UDP port number, 1-65535."""
    return integer(1, 65535)


def number(low: float, high: float) -> Check:
    """A number (integer or float) in ``[low, high]``, returned as ``float``."""

    def check(value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (low <= value <= high)
        ):
            raise Invalid(f"expected a number {low:g}-{high:g}, got {show(value)}")
        return float(value)

    return check


def one_of(*choices: str) -> Check:
    """One of a fixed set of strings."""

    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid(f"expected one of {', '.join(choices)}, got {show(value)}")
        return str(value)

    return check


def list_of(item: Check, what: str, non_empty: bool = False) -> Check:
    """A list whose items all pass ``item``; returned as a tuple, duplicates dropped.

    The message names the kind of item (``expected a list of integers 1-65535``)
    and the first bad item.
    """

    def check(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise Invalid(f"expected a list of {what}, got {show(value)}")
        if non_empty and not value:
            raise Invalid(f"expected a non-empty list of {what}")
        out: list[Any] = []
        for index, element in enumerate(value, start=1):
            try:
                converted = item(element)
            except Invalid as exc:
                raise Invalid(f"expected a list of {what} (item {index}: {exc})") from None
            if converted not in out:
                out.append(converted)
        return tuple(out)

    return check


def _ip_text(parse: Callable[[str], object], noun: str, example: str) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected {noun} string, got {show(value)}")
        try:
            return str(parse(value.strip()))
        except ValueError:
            raise Invalid(f"expected {noun} such as {example}, got {show(value)}") from None

    return check


def cidr() -> Check:
    """An IPv4/IPv6 network or address, normalised by ``ip_network(strict=False)``."""
    return _ip_text(lambda text: ipaddress.ip_network(text, strict=False), "a CIDR", "10.0.0.0/8")


def address() -> Check:
    """One IPv4/IPv6 address, normalised."""
    return _ip_text(ipaddress.ip_address, "an IP address", "10.0.0.1")


_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")


def domain(min_labels: int = 1) -> Check:
    """A DNS name or suffix: lower-cased, trailing and leading dots dropped."""

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected a DNS name, got {show(value)}")
        name = value.strip().lower().strip(".")
        if not _DOMAIN.match(name) or len(name) > 253 or name.count(".") + 1 < min_labels:
            raise Invalid(f"expected a DNS name such as example.com, got {show(value)}")
        return name

    return check


def date() -> Check:
    """A TOML local date (``2027-01-01``) or the same as an ISO string."""

    def check(value: Any) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise Invalid(f"expected a date such as 2027-01-01, got {show(value)}")

    return check


def matching(pattern: str, expected: str) -> Check:
    """A string that matches ``pattern`` (from its start); the message says ``expected``."""
    compiled = re.compile(pattern)

    def check(value: Any) -> str:
        if not isinstance(value, str) or not compiled.match(value):
            raise Invalid(f"expected {expected}, got {show(value)}")
        return value

    return check


def slug(example: str = "vendor-cloud") -> Check:
    """A lower-case identifier of letters, digits and dashes (an id or a vendor name)."""
    return matching(r"^[a-z0-9][a-z0-9-]*$", f"a lower-case slug like {example!r}")


def schema_version(supported: int = 1) -> Check:
    """The ``schema_version`` of a data file this camaudit can read."""

    def check(value: Any) -> int:
        if value != supported or isinstance(value, bool):
            raise Invalid(f"unsupported version {show(value)}; this camaudit reads {supported}")
        return supported

    return check
