"""Hikvision SADP: the inquiry Hikvision's own tools send to find devices, UDP 37020.

On the wire: ``<Probe><Uuid>UUID</Uuid><Types>inquiry</Types></Probe>``, plain UTF-8
XML without framing, to 239.255.255.250:37020 out of the target interface and unicast
to every target host. Devices answer with a ``<ProbeMatch>`` (to the sender or to the
group) carrying model, serial, MAC, addresses, ports and firmware; every field is
optional here, read by local name and sanitised. XML with a DTD or entities is refused.
"""

from __future__ import annotations

import re
import uuid

from camaudit.attempt import Facts
from camaudit.discover import _xml
from camaudit.discover._common import ReplyError, normal_ipv4, port_fact
from camaudit.discover._udp import UdpDiscovery, add_version, reported_mac

PORT = 37020
GROUP = "239.255.255.250"

#: ProbeMatch element -> fact key (ports are checked numbers, the rest sanitised text).
_TEXT_FIELDS = (
    ("DeviceType", "device_type"),
    ("DeviceDescription", "model"),
    ("DeviceSN", "serial"),
    ("IPv4SubnetMask", "ipv4_mask"),
    ("IPv4Gateway", "ipv4_gateway"),
    ("DHCP", "dhcp"),
    ("DSPVersion", "dsp_version"),
    ("SoftwareVersion", "software_version"),
    ("BootTime", "boot_time"),
    ("Activated", "activated"),
    ("PasswordResetAbility", "password_reset"),
)
_PORT_FIELDS = (("CommandPort", "sdk_port"), ("HttpPort", "http_port"), ("HttpsPort", "https_port"))
_HIK_VERSION = re.compile(r"^\s*(V?\d+(?:\.\d+)+)\s*,?\s*(?:build\s*(\d{6}))?", re.IGNORECASE)


def inquiry(probe_uuid: str | None = None) -> bytes:
    """A SADP inquiry with a fresh upper-case UUID."""
    value = (probe_uuid or str(uuid.uuid4())).upper()
    body = f"<Probe><Uuid>{value}</Uuid><Types>inquiry</Types></Probe>"
    return f'<?xml version="1.0" encoding="utf-8"?>{body}'.encode()


def split_version(text: str) -> tuple[str | None, str | None]:
    """``V5.5.0 build 170725`` -> (``V5.5.0``, ``170725``); parts that are absent are ``None``."""
    match = _HIK_VERSION.match(text)
    if match is None:
        return None, None
    return match.group(1), match.group(2)


def parse_probe_match(payload: bytes) -> tuple[Facts, str | None] | None:
    """The facts and MAC of a SADP ProbeMatch; ``None`` for an inquiry (not a reply).

    Raises :class:`ReplyError` for refused or unparsable XML and for other documents.
    """
    root = _xml.parse(payload)
    kind = _xml.local_name(root)
    if kind == "probe":
        return None
    matches = _xml.find_all(root, "ProbeMatch")
    if not matches:
        raise ReplyError(f"not a SADP ProbeMatch (root element {kind[:40]!r})")
    match = matches[0]
    facts = Facts()
    for element, key in _TEXT_FIELDS:
        facts.add(key, _xml.child_text(match, element))
    for element, key in _PORT_FIELDS:
        facts.add(key, port_fact(_xml.child_text(match, element) or ""))
    add_version(facts, facts.get("software_version"), split_version)
    mac = reported_mac(facts, _xml.child_text(match, "MAC"))
    reported_ip = _xml.child_text(match, "IPv4Address")
    facts.add("reported_ipv4", normal_ipv4(reported_ip) or reported_ip, limit=64)
    return facts, mac


class SadpInquiry(
    UdpDiscovery, name="sadp", port=PORT, group=GROUP, request=inquiry, reply=parse_probe_match
):
    """Hikvision (and Hikvision-firmware OEM) devices answering a SADP inquiry."""
