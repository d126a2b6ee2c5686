"""Register reconciliation: the council's own camera list against what was found.

The register is a CSV file as councils keep it (often saved from Dutch Excel: ``;``
between cells, a byte-order mark, Windows-1252 when not saved as UTF-8). Its header
names the columns, in Dutch or English: location / ``locatie``, description /
``omschrijving``, IP / ``ip-adres``, MAC / ``mac-adres``, or one ``address`` / ``adres``
column holding an IP or a MAC, and the expected make / ``merk``. Each row needs an IP
or a MAC. A malformed file is one :class:`~camaudit.errors.InputError` line naming the
row. Cells are untrusted text: control and bidi characters are shown escaped
(:func:`camaudit.sanitize.clean_text`); neutralising spreadsheet formulas is the CSV
renderer's job at its edge.

Matching: a device and a row match by MAC first, then by IP; each row and each device
match at most once. The make differs when the register names one and the device's
identified maker (vendor, relabel brand or named make, with the aliases of
``signatures.toml``; the OUI's family when nothing was identified) is another.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from camaudit.errors import InputError
from camaudit.sanitize import clean_text

if TYPE_CHECKING:  # model.py holds RegisterSection as a field: it imports this module
    from camaudit.knowledge import Knowledge
    from camaudit.knowledge.signatures import Signatures
    from camaudit.report.model import AuditReport, DeviceEntry, InventoryReport

__all__ = [
    "RegisterEntry",
    "RegisterRow",
    "RegisterSection",
    "read_register",
    "reconcile",
    "with_register",
]

MAX_BYTES = 4 * 1024 * 1024  # a register of a few thousand cameras is far below this
MAX_CELL = 200
EntryKind = Literal["matched", "not_registered", "not_found", "make_differs"]

# Header names, lower-cased with spaces, '-' and '_' removed, to the column they mean.
_HEADERS = {
    "location": "location",
    "locatie": "location",
    "description": "description",
    "omschrijving": "description",
    "ip": "ip",
    "ipaddress": "ip",
    "ipadres": "ip",
    "mac": "mac",
    "macaddress": "mac",
    "macadres": "mac",
    "address": "address",
    "adres": "address",
    "ipormac": "address",
    "ipofmac": "address",
    "make": "make",
    "expectedmake": "make",
    "merk": "make",
    "verwachtmerk": "make",
}
_MAC = re.compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$|^[0-9a-f]{12}$")


@dataclass(frozen=True)
class RegisterRow:
    """One row of the register; ``row`` is its number as a spreadsheet shows it (header = 1)."""

    row: int
    location: str
    description: str
    ip: str | None
    mac: str | None  # lower case, colon-separated
    make: str | None


@dataclass(frozen=True)
class RegisterEntry:
    """One reconciliation result: a register row, a device, or both.

    ``kind``: ``matched`` (row and device agree), ``make_differs``, ``not_found`` (a row
    with no device) or ``not_registered`` (a device with no row). ``device`` indexes the
    report's devices; ``row`` is the register line. ``ip``/``mac`` are the device's when
    one was found, else the row's.
    """

    kind: EntryKind
    row: int | None
    device: int | None
    matched_by: Literal["mac", "ip"] | None
    location: str | None
    description: str | None
    ip: str | None
    mac: str | None
    expected_make: str | None
    found_make: str | None


@dataclass(frozen=True)
class RegisterSection:
    """The register as compared (JSON ``register``)."""

    path: str
    sha256: str
    rows: int
    entries: tuple[RegisterEntry, ...]


# ---- reading -----------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252 as Excel writes without "UTF-8"."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_key(name: str) -> str:
    return re.sub(r"[\s_\-/.]", "", name.strip().lower())


def _mac(text: str) -> str | None:
    low = text.strip().lower()
    if not _MAC.match(low):
        return None
    digits = re.sub(r"[:-]", "", low)
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _columns(header: Sequence[str], where: str) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        column = _HEADERS.get(_header_key(name))
        if column is not None:
            if column in columns:
                raise InputError(f"{where}: row 1: column {column!r} appears twice")
            columns[column] = index
    if not {"ip", "mac", "address"} & columns.keys():
        shown = ", ".join(clean_text(h, 40) for h in header) or "(empty)"
        raise InputError(
            f"{where}: row 1: no IP or MAC column (expected a header such as "
            f"locatie;omschrijving;ip;mac;merk), got {shown}"
        )
    return columns


def _row(cells: list[str], columns: dict[str, int], number: int, where: str) -> RegisterRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        value = cells[index].strip() if index is not None and index < len(cells) else ""
        return clean_text(value, MAX_CELL)

    ip, mac = cell("ip"), cell("mac")
    address = cell("address")
    if address:
        if _mac(address):
            mac = mac or address
        else:
            ip = ip or address
    parsed_ip, parsed_mac = _ip(ip) if ip else None, _mac(mac) if mac else None
    if ip and parsed_ip is None:
        raise InputError(f"{where}: row {number}: {ip!r} is not an IP address")
    if mac and parsed_mac is None:
        raise InputError(f"{where}: row {number}: {mac!r} is not a MAC address")
    if parsed_ip is None and parsed_mac is None:
        raise InputError(f"{where}: row {number}: needs an IP or a MAC address")
    make = cell("make") or None
    return RegisterRow(number, cell("location"), cell("description"), parsed_ip, parsed_mac, make)


def _dialect(text: str) -> str:
    first = text.split("\n", 1)[0]
    return ";" if first.count(";") > first.count(",") else ","


def read_register(path: str | Path) -> tuple[tuple[RegisterRow, ...], str]:
    """The rows of a register file and its SHA-256; :class:`InputError` when malformed."""
    where = f"register {clean_text(str(path), 200)}"
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_BYTES:
        raise InputError(f"{where}: larger than {MAX_BYTES // (1024 * 1024)} MiB")
    text = _decode(data)
    if "\x00" in text:
        raise InputError(f"{where}: not a CSV file (NUL bytes)")
    try:
        lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(text)))
    except csv.Error as exc:
        raise InputError(f"{where}: not a CSV file ({exc})") from None
    if not lines or not any(c.strip() for c in lines[0]):
        raise InputError(f"{where}: row 1: empty file, expected a header row")
    columns = _columns(lines[0], where)
    rows: list[RegisterRow] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # Excel leaves empty rows and rows of bare ';'
        row = _row(cells, columns, number, where)
        for key in (row.mac, row.ip):
            if key is not None and key in seen:
                raise InputError(f"{where}: row {number}: {key} is already on row {seen[key]}")
            if key is not None:
                seen[key] = number
        rows.append(row)
    return tuple(rows), hashlib.sha256(data).hexdigest()


# ---- reconciling -------------------------------------------------------------------


def _names(device: DeviceEntry, signatures: Signatures | None) -> tuple[str | None, set[str]]:
    """The device's maker as shown, and every name it goes by (lower case)."""
    identity = device.identity
    vendor = identity.vendor if identity and identity.vendor else None
    brand = identity.oem_brand if identity else None
    if vendor is None and brand is None:
        vendor = device.oui_vendor if device.oui_vendor not in (None, "other") else None
    names = {n.lower() for n in (vendor, brand) if n and n != "other"}
    for oem in signatures.oems if signatures else ():
        if brand and oem.brand.lower() == brand.lower():
            names.update(n.lower() for n in (*oem.names, oem.maker))
    for make in signatures.makes if signatures else ():
        if brand and make.brand.lower() == brand.lower():
            names.update(n.lower() for n in make.names)
    shown = brand or vendor
    return shown, names


def _same_make(expected: str, names: set[str]) -> bool:
    low = expected.strip().lower()
    if low in names:
        return True
    # "Hikvision Digital Technology" or "Axis M3046" name the maker as a whole word
    return any(re.search(rf"(?<![a-z0-9]){re.escape(n)}(?![a-z0-9])", low) for n in names)


def _pair(
    rows: Sequence[RegisterRow], devices: Sequence[DeviceEntry]
) -> dict[int, tuple[int, Literal["mac", "ip"]]]:
    """Row index → (device index, matched by): MAC first, then IP; one-to-one."""
    paired: dict[int, tuple[int, Literal["mac", "ip"]]] = {}
    taken: set[int] = set()
    macs = {_mac(d.mac): i for i, d in reversed(list(enumerate(devices))) if d.mac}
    ips = {_ip(d.ip): i for i, d in reversed(list(enumerate(devices))) if d.ip}
    for r, row in enumerate(rows):
        hit = macs.get(row.mac) if row.mac else None
        if hit is not None and hit not in taken:
            paired[r] = (hit, "mac")
            taken.add(hit)
    for r, row in enumerate(rows):
        hit = ips.get(row.ip) if row.ip and r not in paired else None
        if hit is not None and hit not in taken:
            paired[r] = (hit, "ip")
            taken.add(hit)
    return paired


def reconcile(
    rows: Sequence[RegisterRow],
    devices: Sequence[DeviceEntry],
    path: str,
    sha256: str,
    signatures: Signatures | None = None,
) -> RegisterSection:
    """Compare the register with the devices found: one entry per row, then one per
    in-target device no row names (devices that answered from outside the target are
    not part of the segment and are never "not registered")."""
    paired = _pair(rows, devices)
    entries: list[RegisterEntry] = []
    for r, row in enumerate(rows):
        if r not in paired:
            entries.append(
                RegisterEntry(
                    "not_found", row.row, None, None, row.location, row.description,
                    row.ip, row.mac, row.make, None,
                )
            )  # fmt: skip
            continue
        index, by = paired[r]
        device = devices[index]
        shown, names = _names(device, signatures)
        differs = row.make is not None and bool(names) and not _same_make(row.make, names)
        entries.append(
            RegisterEntry(
                "make_differs" if differs else "matched", row.row, index, by, row.location,
                row.description, device.ip, device.mac, row.make, shown,
            )
        )  # fmt: skip
    used = {index for index, _ in paired.values()}
    for index, device in enumerate(devices):
        if index not in used and not device.outside_target:
            shown, _ = _names(device, signatures)
            entries.append(
                RegisterEntry(
                    "not_registered", None, index, None, None, None, device.ip, device.mac,
                    None, shown,
                )
            )  # fmt: skip
    return RegisterSection(clean_text(path, 260), sha256, len(rows), tuple(entries))


R = TypeVar("R", "InventoryReport", "AuditReport")


def with_register(
    report: R,
    rows: Sequence[RegisterRow],
    path: str,
    sha256: str,
    knowledge: Knowledge | None = None,
) -> R:
    """``report`` with the register compared and its controls recomputed (5.9 needs it).

    An audit's devices seen only in its traffic are compared too (a camera outside
    ``--target`` is still found); their entries have no ``device`` index, which points
    into ``inventory.devices`` only."""
    from camaudit.knowledge import given_or_default
    from camaudit.report.compliance import with_controls

    known = given_or_default(knowledge)
    devices: tuple[DeviceEntry, ...] = report.inventory.devices
    section = reconcile(rows, (*devices, *_seen(report)), path, sha256, known.signatures)
    entries = tuple(
        dataclasses.replace(e, device=None) if (e.device or 0) >= len(devices) else e
        for e in section.entries
    )
    section = dataclasses.replace(section, entries=entries)
    return with_controls(dataclasses.replace(report, register=section), known)


def _seen(report: InventoryReport | AuditReport) -> tuple[DeviceEntry, ...]:
    """An audit's devices seen only in traffic, as the inventory would list them (MAC and
    its OUI, outside the target when their address is)."""
    from camaudit.report.model import AuditReport, DeviceEntry

    if not isinstance(report, AuditReport):
        return ()
    target = report.inventory.target
    networks = [ipaddress.ip_network(n, strict=False) for n in (target.networks if target else ())]

    def outside(ip: str | None) -> bool:
        address = ipaddress.ip_address(ip) if ip else None
        return address is None or not any(address in n for n in networks)

    return tuple(
        DeviceEntry(
            d.ip, d.mac, d.oui_vendor, None, d.sources, (), False, (), (), None, (), (), (),
            outside(d.ip), (), (),
        )
        for d in report.audit.devices
        if d.inventory_index is None
    )  # fmt: skip
