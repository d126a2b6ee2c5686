"""Dahua DHIP discovery: ``DHDiscover.search`` over UDP 37810.

On the wire: a 32-byte header (``20 00 00 00``,
``DHIP``, 8 zero bytes, JSON length as uint32 LE, 4 zero bytes, the length again, 4
zero bytes) then ``{"method":"DHDiscover.search","params":{"mac":"","uni":1}}``, to
239.255.255.251:37810 out of the target interface and unicast to every target host.
Devices answer with the same header and a ``client.notifyDevInfo`` JSON whose
``params.deviceInfo`` carries model, serial, manufacturer (the relabeller on OEM
units), ports and addresses. The reply is size-capped before parsing; a bad frame, bad
JSON or deep nesting becomes an ``error`` fact.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping

from camaudit.attempt import Facts
from camaudit.discover._common import ReplyError, normal_ipv4, port_fact
from camaudit.discover._udp import UdpDiscovery, add_version, reported_mac

PORT = 37810
GROUP = "239.255.255.251"
MAGIC = b"\x20\x00\x00\x00DHIP"
HEADER_SIZE = 32
SEARCH = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'

#: deviceInfo key (case-insensitive) -> fact key
_TEXT_FIELDS = (
    ("DeviceType", "model"),
    ("DeviceClass", "device_type"),
    ("SerialNo", "serial"),
    ("Manufacturer", "vendor"),
    ("MachineName", "hostname"),
    ("Vendor", "oem_vendor"),
)
_PORT_FIELDS = (
    ("HttpPort", "http_port"),
    ("HttpsPort", "https_port"),
    ("RtspPort", "rtsp_port"),
    ("Port", "sdk_port"),
    ("TcpPort", "sdk_port"),
)
_VERSION_FIELDS = ("Version", "SoftwareVersion", "FirmwareVersion")
_DAHUA_BUILD = re.compile(r"^\s*(.*?)\s*,\s*build\s*:?\s*(\S+)\s*$", re.IGNORECASE)


def header(payload: bytes) -> bytes:
    """The 32-byte DHIP header for ``payload`` (which follows it)."""
    size = struct.pack("<I", len(payload))
    return MAGIC + bytes(8) + size + bytes(4) + size + bytes(4)


def search_request() -> bytes:
    """The framed ``DHDiscover.search`` request."""
    return header(SEARCH) + SEARCH


def unframe(data: bytes) -> bytes:
    """The JSON of a DHIP datagram; a bare JSON object is accepted too (tolerance).

    A length field longer than the datagram is not trusted: the rest of the datagram is
    used. Raises :class:`ReplyError` for anything else.
    """
    if data[:8] == MAGIC and len(data) >= HEADER_SIZE:
        (length,) = struct.unpack_from("<I", data, 16)
        return data[HEADER_SIZE : HEADER_SIZE + length]
    if data.lstrip()[:1] == b"{":
        return data
    raise ReplyError("not a DHIP reply (no DHIP header)")


def split_version(text: str) -> tuple[str, str | None]:
    """``2.800.0000016.0.R,build:2020-06-05`` -> (``2.800.0000016.0.R``, ``2020-06-05``)."""
    match = _DAHUA_BUILD.match(text)
    if match is None:
        return text.strip(), None
    return match.group(1), match.group(2)


def _get(mapping: Mapping[str, object], key: str) -> object:
    wanted = key.lower()
    return next((value for name, value in mapping.items() if name.lower() == wanted), None)


def parse_reply(data: bytes) -> tuple[Facts, str | None] | None:
    """Facts and MAC of a ``client.notifyDevInfo`` reply; ``None`` for a search request."""
    try:
        document = json.loads(unframe(data))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReplyError(f"unparsable DHIP JSON: {error.__class__.__name__}") from None
    except RecursionError:
        raise ReplyError("DHIP JSON nested too deeply") from None
    if not isinstance(document, dict):
        raise ReplyError("DHIP JSON is not an object")
    method = _get(document, "method")
    if isinstance(method, str) and method.lower() == "dhdiscover.search":
        return None
    params = _get(document, "params")
    info = _get(params, "deviceInfo") if isinstance(params, dict) else None
    if not isinstance(info, dict):
        raise ReplyError("DHIP reply without params.deviceInfo")
    facts = Facts()
    for key, fact in _TEXT_FIELDS:
        facts.add(fact, _get(info, key))
    for key, fact in _PORT_FIELDS:
        if facts.get(fact) is None:
            facts.add(fact, port_fact(_get(info, key)))
    version = next((v for k in _VERSION_FIELDS if isinstance(v := _get(info, k), str)), None)
    facts.add("software_version", version)
    add_version(facts, version, split_version)
    address = _get(info, "IPv4Address")
    if isinstance(address, dict):
        reported = _get(address, "IPAddress")
        facts.add("reported_ipv4", normal_ipv4(str(reported)) or reported, limit=64)
        facts.add("ipv4_mask", _get(address, "SubnetMask"), limit=64)
        facts.add("ipv4_gateway", _get(address, "DefaultGateway"), limit=64)
        facts.add("dhcp", _get(address, "DhcpEnable"), limit=16)
    mac = reported_mac(facts, _get(document, "mac") or _get(info, "MAC") or _get(info, "Mac"))
    return facts, mac


class DhipSearch(
    UdpDiscovery, name="dhip", port=PORT, group=GROUP, request=search_request, reply=parse_reply
):
    """Dahua (and Dahua-firmware OEM) devices answering ``DHDiscover.search``."""
