"""Personas: a fake device described as data, loaded from ``personas/*.toml``.

Why data and not code: the persona *is* the test oracle.  The
integration tests assert exactly these fields (vendor, OEM brand, model,
firmware, CVEs, which discovery methods must see the device), so they live in
one reviewed place next to the facts they come from (``# [key]`` comments cite
the sources recorded in ``profiles/signatures.toml``).

Banner-like fields (Server headers, realms, titles, SADP fields) are bytes on
the wire.  TOML cannot hold invalid UTF-8, so a string that starts with
``raw:`` is decoded with Python bytes escapes (``'raw:Webs\\xff\\x1b[2J'``);
anything else is sent as UTF-8.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PERSONA_DIR = Path(__file__).with_name("personas")

#: What a TCP port does.  ``http``/``https``/``rtsp`` speak the protocol from the
#: persona (``https``: HTTP behind a self-signed certificate made at start); the rest are
#: the hostile behaviours.
TCP_SERVES = (
    "http",
    "https",
    "rtsp",
    "hold",
    "huge",
    "endless",
    "trickle",
    "silent",
    "reset",
    "flood_http",
    "flood_rtsp",
)
#: What a UDP port answers.
UDP_SERVES = ("sadp", "dhip", "wsd")
KINDS = ("camera", "other", "hostile")


class PersonaError(ValueError):
    """A persona file is wrong; the message names the file and every bad field."""


def wire(text: str) -> bytes:
    """Bytes to send for a banner-like persona field (see module docstring)."""
    if text.startswith("raw:"):
        return bytes(codecs.escape_decode(text[4:].encode("utf-8"))[0])
    return text.encode("utf-8")


@dataclass(frozen=True)
class Port:
    """One listening port: its service name, number, transport and behaviour."""

    name: str  # "http", "rtsp", "sadp" ... (CLI overrides use it: --port http=8080)
    port: int
    proto: str  # "tcp" | "udp"
    serve: str  # one of TCP_SERVES / UDP_SERVES


@dataclass(frozen=True)
class Expected:
    """What a correct discovery + fingerprint of this persona must yield."""

    vendor: str | None  # vendor family: "hikvision" | "dahua" | None (not a Hik/Dahua camera)
    oem_brand: str | None  # relabel brand, None when sold under the vendor's name
    model: str | None
    firmware: str | None
    build_date: str | None  # ISO date
    cves: tuple[str, ...]  # must be reported as applying
    cves_possible: tuple[str, ...]  # build date in range, model scope not named: "possible"
    found_by: tuple[str, ...]  # discovery methods that must find it
    not_found_by: tuple[str, ...]  # methods that must NOT report it as a camera
    fingerprint_needs_credentials: tuple[str, ...] = ()  # facts only reachable with login
    notes: str = ""


@dataclass(frozen=True)
class Persona:
    """A fake device: identity, banners, ports and protocol fields."""

    name: str
    kind: str
    summary: str
    manufacturer: str  # what the device calls its maker (ISAPI/ONVIF/DHIP/magicBox)
    model: str
    serial: str
    firmware: str
    build: str  # vendor format: Hikvision "build 200612", Dahua "2020-06-05"
    mac: str
    ports: tuple[Port, ...]
    expected: Expected
    username: str = "admin"
    password: str = ""
    device_name: str = ""
    http: Mapping[str, Any] = field(default_factory=dict)
    rtsp: Mapping[str, Any] = field(default_factory=dict)
    sadp: Mapping[str, Any] = field(default_factory=dict)
    dhip: Mapping[str, Any] = field(default_factory=dict)
    onvif: Mapping[str, Any] = field(default_factory=dict)
    hostile: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def port(self, name: str) -> Port | None:
        """The port called ``name`` (``http``, ``rtsp`` ...), if the persona has one."""
        return next((p for p in self.ports if p.name == name), None)

    def clone(self, index: int) -> Persona:
        """A sibling device for crowds: same behaviour, own name, MAC and serial.

        The OUI (first three octets) is kept so vendor lookups still work.
        """
        octets = self.mac.split(":")
        tail = (int("".join(octets[3:]), 16) + index * 0x0101) & 0xFFFFFF
        mac = ":".join(
            [*octets[:3], f"{tail >> 16:02X}", f"{tail >> 8 & 255:02X}", f"{tail & 255:02X}"]
        )
        return dataclasses.replace(
            self, name=f"{self.name}-{index:02d}", mac=mac, serial=f"{self.serial}{index:02d}"
        )

    def to_json(self) -> str:
        """Serialise (for handing a cloned persona to a device subprocess)."""
        return json.dumps(dataclasses.asdict(self))


def _expected(raw: Mapping[str, Any]) -> Expected:
    return Expected(
        vendor=raw.get("vendor") or None,
        oem_brand=raw.get("oem_brand") or None,
        model=raw.get("model") or None,
        firmware=raw.get("firmware") or None,
        build_date=raw.get("build_date") or None,
        cves=tuple(raw.get("cves", ())),
        cves_possible=tuple(raw.get("cves_possible", ())),
        found_by=tuple(raw.get("found_by", ())),
        not_found_by=tuple(raw.get("not_found_by", ())),
        fingerprint_needs_credentials=tuple(raw.get("fingerprint_needs_credentials", ())),
        notes=raw.get("notes", ""),
    )


def persona_from_mapping(raw: Mapping[str, Any], origin: str = "<data>") -> Persona:
    """Build and validate a persona; every problem is listed in one PersonaError."""
    errors: list[str] = []
    for key in ("name", "kind", "manufacturer", "model", "serial", "mac", "ports", "expected"):
        if key not in raw:
            errors.append(f"missing field {key!r}")
    if errors:
        raise PersonaError(f"{origin}: " + "; ".join(errors))
    if raw["kind"] not in KINDS:
        errors.append(f"kind {raw['kind']!r} not in {KINDS}")
    mac = str(raw["mac"])
    if len(mac.split(":")) != 6:
        errors.append(f"mac {mac!r} is not aa:bb:cc:dd:ee:ff")
    ports: list[Port] = []
    for i, entry in enumerate(raw["ports"]):
        proto = entry.get("proto", "tcp")
        allowed = TCP_SERVES if proto == "tcp" else UDP_SERVES
        if entry.get("serve") not in allowed:
            errors.append(f"ports[{i}].serve {entry.get('serve')!r} not in {allowed}")
        ports.append(Port(entry["name"], int(entry["port"]), proto, entry.get("serve", "")))
    names = [p.name for p in ports]
    if len(set(names)) != len(names):
        errors.append(f"duplicate port names in {names}")
    if errors:
        raise PersonaError(f"{origin}: " + "; ".join(errors))
    return Persona(
        name=raw["name"],
        kind=raw["kind"],
        summary=raw.get("summary", ""),
        manufacturer=raw["manufacturer"],
        model=raw["model"],
        serial=raw["serial"],
        firmware=raw.get("firmware", ""),
        build=raw.get("build", ""),
        mac=mac.upper(),
        ports=tuple(ports),
        expected=_expected(raw["expected"]),
        username=raw.get("username", "admin"),
        password=raw.get("password", ""),
        device_name=raw.get("device_name", raw["name"]),
        http=raw.get("http", {}),
        rtsp=raw.get("rtsp", {}),
        sadp=raw.get("sadp", {}),
        dhip=raw.get("dhip", {}),
        onvif=raw.get("onvif", {}),
        hostile=raw.get("hostile", {}),
        sources=raw.get("sources", {}),
    )


def load_persona(name_or_path: str | Path) -> Persona:
    """Load a persona by name (``hik-ipc``) or from a ``.toml``/``.json`` file."""
    path = Path(name_or_path)
    if path.suffix not in (".toml", ".json"):
        path = PERSONA_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise PersonaError(f"no persona {name_or_path!r} (have: {', '.join(persona_names())})")
    if path.suffix == ".json":
        raw = json.loads(path.read_text())
        raw["ports"] = [dict(p) for p in raw["ports"]]
        return persona_from_mapping(raw, str(path))
    with path.open("rb") as fh:
        return persona_from_mapping(tomllib.load(fh), str(path))


def persona_names() -> list[str]:
    """Names of the personas shipped in ``lab/devices/personas``."""
    return sorted(p.stem for p in PERSONA_DIR.glob("*.toml"))


def all_personas() -> list[Persona]:
    """Every shipped persona, loaded and validated."""
    return [load_persona(n) for n in persona_names()]
