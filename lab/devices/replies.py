"""Byte builders for every reply a fake device sends; pure functions, no sockets.

Why separate from the servers: the bytes are the contract with the recorded
facts, so they are unit-tested on their own and reused by the servers, the
tests and the probes' parser tests.  Each builder cites where its format
comes from (the sources recorded in ``profiles/signatures.toml``); parts the reference
does not record are marked *unverified* here and in ``README.md``.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from collections.abc import Iterable, Mapping

from lab.devices.persona import Persona, wire

CRLF = b"\r\n"
# A device boots once: every SADP answer of this process reports the same boot time
# (a clock read per reply made two answers to one sweep differ, i.e. two sightings).
BOOT_TIME = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()).encode()

# ------------------------------------------------------------------ HTTP / RTSP


def http_response(
    status: int,
    reason: str,
    headers: Iterable[tuple[str, bytes]],
    body: bytes = b"",
    *,
    version: bytes = b"HTTP/1.1",
    length: int | None = None,
) -> bytes:
    """An HTTP (or RTSP) response head + body, headers in the order given.

    Header values are bytes so hostile personas can send control characters
    and invalid UTF-8 exactly.  ``length`` overrides Content-Length (for the
    huge reply whose body is streamed separately).
    """
    lines = [version + b" " + str(status).encode() + b" " + reason.encode()]
    lines += [name.encode() + b": " + value for name, value in headers]
    if length is None:
        length = len(body)
    if length >= 0:
        lines.append(b"Content-Length: " + str(length).encode())
    return CRLF.join(lines) + CRLF + CRLF + body


def digest_challenge(realm: bytes, nonce: str) -> bytes:
    """``WWW-Authenticate`` value for HTTP/RTSP digest.

    The realm is the recorded fact ([recog http_wwwauth.xml]; Dahua ``Login to
    <serial>`` [dc net.py]); parameter order and the other parameters are
    unverified.
    """
    return (
        b'Digest realm="' + realm + b'", qop="auth", nonce="' + nonce.encode() + b'", stale="FALSE"'
    )


def basic_challenge(realm: bytes) -> bytes:
    """``WWW-Authenticate: Basic realm=...`` (older Hikvision, [recog http_wwwauth.xml])."""
    return b'Basic realm="' + realm + b'"'


def digest_ok(auth: Mapping[str, str], method: str, user: str, realm: bytes, password: str) -> bool:
    """Check an RFC 2617 digest ``Authorization`` (MD5, qop=auth or none)."""
    if auth.get("username") != user:
        return False
    realm_text = realm.decode("utf-8", "surrogateescape")
    if auth.get("realm") != realm_text:
        return False
    ha1 = _md5(f"{user}:{realm_text}:{password}")
    ha2 = _md5(f"{method}:{auth.get('uri', '')}")
    if auth.get("qop"):
        want = _md5(
            f"{ha1}:{auth.get('nonce')}:{auth.get('nc')}:{auth.get('cnonce')}:"
            f"{auth.get('qop')}:{ha2}"
        )
    else:
        want = _md5(f"{ha1}:{auth.get('nonce')}:{ha2}")
    return auth.get("response", "").lower() == want


def parse_digest(header: str) -> dict[str, str]:
    """Parameters of a ``Digest k=v, k="v"`` header (tolerant, no validation)."""
    if not header.lower().startswith("digest "):
        return {}
    out: dict[str, str] = {}
    rest = header[7:]
    while rest:
        key, _, rest = rest.partition("=")
        rest = rest.lstrip()
        if rest.startswith('"'):
            value, _, rest = rest[1:].partition('"')
        else:
            value, _, rest = rest.partition(",")
        out[key.strip().lstrip(",").strip()] = value
        rest = rest.lstrip(", ")
    return out


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8", "surrogateescape")).hexdigest()


def html_page(title: bytes) -> bytes:
    """A small login page whose ``<title>`` is the persona's (titles are unverified)."""
    return (
        b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        + title
        + b'</title></head><body><div id="login"></div></body></html>\n'
    )


# ------------------------------------------------------------------ Hikvision


def hik_device_info(p: Persona) -> bytes:
    """``GET /ISAPI/System/deviceInfo`` body.

    Element names, order and namespace follow [hn
    tests/fixtures/ISAPI/System.deviceInfo/ipc1.xml]; values are the persona's.
    """
    mac = p.mac.lower()
    fields = [
        ("deviceName", p.device_name),
        ("deviceID", "6aff4000-1f90-00b0-0000-" + mac.replace(":", "")),
        ("deviceDescription", "IPCamera"),
        ("deviceLocation", "hangzhou"),
        ("systemContact", "Hikvision.China"),
        ("model", p.model),
        ("serialNumber", p.serial),
        ("macAddress", mac),
        ("firmwareVersion", p.firmware),
        ("firmwareReleasedDate", p.build),
        ("encoderVersion", "V7.3"),
        ("encoderReleasedDate", p.build),
        ("bootVersion", "V1.3.4"),
        ("bootReleasedDate", "100316"),
        ("hardwareVersion", "0x0"),
        ("deviceType", "IPCamera"),
        ("telecontrolID", "88"),
        ("supportBeep", "false"),
        ("supportVideoLoss", "false"),
        ("firmwareVersionInfo", "B-R-G5-0"),
        ("manufacturer", p.manufacturer),
    ]
    body = "".join(f"    <{k}>{_xml_text(v)}</{k}>\n" for k, v in fields)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n'
        f"{body}</DeviceInfo>\n"
    ).encode()


def hik_session_capabilities(p: Persona, session_id: str, challenge: str, salt: str) -> bytes:
    """``GET /ISAPI/Security/sessionLogin/capabilities`` body, unauthenticated.

    Unverified in the reference ("unverified in this session"): element names
    are those the Hikvision web UI reads, from general knowledge.
    """
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<SessionLoginCap version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">\n'
        f"<sessionID>{session_id}</sessionID>\n<challenge>{challenge}</challenge>\n"
        "<iterations>100</iterations>\n<isIrreversible>true</isIrreversible>\n"
        f"<salt>{salt}</salt>\n</SessionLoginCap>\n"
    ).encode()


def sadp_probe_match(
    p: Persona,
    uuid: bytes,
    types: bytes,
    *,
    ip: str,
    mask: str,
    gateway: str,
    http_port: int,
    sdk_port: int,
) -> bytes:
    """SADP ``<ProbeMatch>`` reply to an inquiry (field list unverified).

    Field order: the recorded part (Uuid ... DSPVersion) as listed in the
    reference; ``SoftwareVersion``, ``BootTime``, ``Activated``,
    ``PasswordResetAbility`` are unverified order/names.  Values of the
    persona's ``[sadp]`` table go out as raw bytes (hostile personas put escapes
    there).
    """
    s = p.sadp
    fields: list[tuple[str, bytes]] = [
        ("Uuid", uuid),
        ("Types", types),
        ("DeviceType", wire(str(s.get("device_type", "138")))),
        ("DeviceDescription", wire(s.get("description", p.model))),
        ("DeviceSN", wire(s.get("serial", p.serial))),
        ("MAC", p.mac.replace(":", "-").lower().encode()),
        ("IPv4Address", ip.encode()),
        ("IPv4SubnetMask", mask.encode()),
        ("IPv4Gateway", gateway.encode()),
        ("IPv6Address", b"::"),
        ("IPv6Gateway", b"::"),
        ("IPv6MaskLen", b"64"),
        ("DHCP", b"false"),
        ("CommandPort", str(sdk_port).encode()),
        ("HttpPort", str(http_port).encode()),
        ("DSPVersion", wire(s.get("dsp_version", "V7.3 build 200601"))),
        ("SoftwareVersion", wire(s.get("software_version", f"{p.firmware} {p.build}"))),
        ("BootTime", BOOT_TIME),
        ("Activated", b"true"),
        ("PasswordResetAbility", b"true"),
    ]
    body = b"".join(b"<" + k.encode() + b">" + v + b"</" + k.encode() + b">" for k, v in fields)
    return b'<?xml version="1.0" encoding="UTF-8"?><ProbeMatch>' + body + b"</ProbeMatch>"


def sadp_probe(uuid: str, types: str = "inquiry") -> bytes:
    """A SADP inquiry as scanners send it (plain XML, no framing)."""
    return f"<Probe><Uuid>{uuid}</Uuid><Types>{types}</Types></Probe>".encode()


def sadp_parse_probe(data: bytes) -> tuple[bytes, bytes] | None:
    """(Uuid, Types) of a SADP inquiry, or None for anything else."""
    if b"<Probe>" not in data:
        return None
    uuid = _between(data, b"<Uuid>", b"</Uuid>")
    types = _between(data, b"<Types>", b"</Types>")
    if uuid is None or types is None or not types.startswith(b"inquiry"):
        return None
    return uuid, types


# ------------------------------------------------------------------ Dahua

DHIP_MAGIC = b"\x20\x00\x00\x00DHIP"


def dhip_frame(payload: bytes) -> bytes:
    """DHIP framing: 32-byte header then JSON ([dc net.py dh_discover], fully recorded).

    ``20 00 00 00`` ``DHIP`` 8x``00`` len(u32 LE) 4x``00`` len(u32 LE) 4x``00``.
    """
    n = len(payload)
    return (
        DHIP_MAGIC
        + bytes(8)
        + struct.pack("<I", n)
        + bytes(4)
        + struct.pack("<I", n)
        + bytes(4)
        + payload
    )


def dhip_unframe(data: bytes) -> dict[str, object] | None:
    """The JSON of a DHIP datagram, or None if the framing is not exactly right.

    Why strict: bare JSON without the header gets no reply from real devices
    (unverified), so the fake must not answer it either.
    """
    if len(data) < 32 or data[:8] != DHIP_MAGIC or data[8:16] != bytes(8):
        return None
    (n1,) = struct.unpack_from("<I", data, 16)
    (n2,) = struct.unpack_from("<I", data, 24)
    if n1 != n2 or len(data) != 32 + n1:
        return None
    try:
        parsed = json.loads(data[32:])
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def dhip_search() -> bytes:
    """The ``DHDiscover.search`` request exactly as recorded ([dc net.py dh_discover])."""
    return dhip_frame(b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}')


def dhip_reply(p: Persona, *, ip: str, mask: str, gateway: str, http_port: int) -> bytes:
    """``client.notifyDevInfo`` reply (field list unverified).

    Recorded: top-level ``mac``, ``method``, ``params.deviceInfo`` with
    ``DeviceClass``, ``DeviceType``, ``HttpPort``, ``IPv4Address{DhcpEnable,
    IPAddress, SubnetMask}``, ``Manufacturer``, ``SerialNo``.  Key order, the
    MAC spelling, ``DefaultGateway`` and the absence of a version field are
    our choices.
    """
    d = p.dhip
    info = {
        "DeviceClass": d.get("device_class", "IPC"),
        "DeviceType": d.get("device_type", p.model),
        "HttpPort": http_port,
        "IPv4Address": {
            "DefaultGateway": gateway,
            "DhcpEnable": False,
            "IPAddress": ip,
            "SubnetMask": mask,
        },
        "Manufacturer": d.get("manufacturer", p.manufacturer),
        "SerialNo": p.serial,
    }
    body = {"mac": p.mac.lower(), "method": "client.notifyDevInfo", "params": {"deviceInfo": info}}
    return dhip_frame(json.dumps(body, separators=(",", ":")).encode())


def dahua_rpc2_challenge(p: Persona, *, request_id: object, session: str, random: str) -> bytes:
    """First ``/RPC2_Login`` answer: error + ``params.realm``/``random`` + ``session``.

    Recorded: error code 268632079, ``realm`` = ``Login to <serial>``, ``random``,
    session id ([rr rpc2.py]; [dc net.py]).  The error message text and
    ``encryption`` value are unverified.
    """
    body = {
        "error": {"code": 268632079, "message": "Component error: login challenge!"},
        "id": request_id,
        "params": {
            "authorization": "",
            "encryption": "Default",
            "mac": p.mac.replace(":", ""),
            "random": random,
            "realm": dahua_realm(p).decode("utf-8", "replace"),
        },
        "result": False,
        "session": session,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def dahua_rpc2_password_hash(user: str, password: str, realm: str, random: str) -> str:
    """The second-step login hash ([rr rpc2.py]: MD5(user:random:MD5(user:realm:pw)), upper)."""
    inner = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest().upper()
    return hashlib.md5(f"{user}:{random}:{inner}".encode()).hexdigest().upper()


def dahua_realm(p: Persona) -> bytes:
    """``Login to <serial>`` ([recog http_wwwauth.xml]; [dc net.py]), unless overridden."""
    return wire(p.http.get("realm", f"Login to {p.serial}"))


def dahua_magicbox(p: Persona, action: str) -> bytes | None:
    """``/cgi-bin/magicBox.cgi?action=...`` body: ``key=value`` lines ([rr client.py]).

    ``getSoftwareVersion`` is the recorded form ``version=<fw>,build:<yyyy-mm-dd>``;
    the key names of the other actions are unverified.
    """
    lines = {
        "getSystemInfo": [
            ("deviceType", p.model),
            ("hardwareVersion", "1.00"),
            ("processor", "S2L"),
            ("serialNumber", p.serial),
            ("updateSerial", p.dhip.get("update_serial", p.model)),
        ],
        "getDeviceType": [("type", p.model)],
        "getSoftwareVersion": [("version", f"{p.firmware},build:{p.build}")],
        "getMachineName": [("name", p.device_name)],
        "getVendor": [("vendor", p.manufacturer)],
        "getSerialNo": [("sn", p.serial)],
    }.get(action)
    if lines is None:
        return None
    return b"".join(f"{k}={v}\r\n".encode() for k, v in lines)


# ------------------------------------------------------------------ WS-Discovery

WSD_PROBE_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe"


def wsd_probe(message_id: str) -> bytes:
    """A standard ONVIF WS-Discovery Probe for NetworkVideoTransmitter."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
        f"<s:Header><a:Action>{WSD_PROBE_ACTION}</a:Action><a:MessageID>{message_id}</a:MessageID>"
        "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header>"
        "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


def wsd_is_probe(data: bytes) -> bool:
    """True for a WS-Discovery Probe (not a ProbeMatch another device sent)."""
    return b"ProbeMatch" not in data and (
        WSD_PROBE_ACTION.encode() in data or b":Probe>" in data or b"<Probe>" in data
    )


def wsd_relates_to(data: bytes) -> bytes:
    """The probe's MessageID, echoed in RelatesTo."""
    return _between(data, b"MessageID>", b"</") or b"urn:uuid:00000000-0000-0000-0000-000000000000"


def wsd_scopes(p: Persona) -> bytes:
    """ONVIF scopes: name, hardware (model), location."""
    return b" ".join(
        [
            b"onvif://www.onvif.org/type/video_encoder",
            b"onvif://www.onvif.org/Profile/Streaming",
            b"onvif://www.onvif.org/name/" + wire(p.onvif.get("scope_name", p.manufacturer)),
            b"onvif://www.onvif.org/hardware/" + wire(p.onvif.get("scope_hardware", p.model)),
            b"onvif://www.onvif.org/location/city/lab",
        ]
    )


def wsd_probe_match(
    style: str, *, relates_to: bytes, endpoint: str, scopes: bytes, xaddrs: str
) -> bytes:
    """A ProbeMatches reply, ``strict`` (standard) or ``loose`` (like real devices).

    ``loose``: no XML declaration, no namespace prefixes (the envelope uses a
    default namespace, the discovery elements none at all) and values padded
    with spaces and newlines.  A strict parser (``wsdiscovery``) drops this; a
    tolerant one must still read XAddrs and Scopes.
    """
    mid = f"urn:uuid:{hashlib.md5(relates_to + endpoint.encode()).hexdigest()}"
    if style == "strict":
        return (
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            b'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            b'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
            b'xmlns:dn="http://www.onvif.org/ver10/network/wsdl" '
            b'xmlns:tds="http://www.onvif.org/ver10/device/wsdl">'
            b"<s:Header><a:MessageID>" + mid.encode() + b"</a:MessageID>"
            b"<a:RelatesTo>" + relates_to + b"</a:RelatesTo>"
            b"<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
            b"<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>"
            b"</s:Header><s:Body><d:ProbeMatches><d:ProbeMatch>"
            b"<a:EndpointReference><a:Address>"
            + endpoint.encode()
            + b"</a:Address></a:EndpointReference>"
            b"<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types>"
            b"<d:Scopes>" + scopes + b"</d:Scopes>"
            b"<d:XAddrs>" + xaddrs.encode() + b"</d:XAddrs>"
            b"<d:MetadataVersion>1</d:MetadataVersion>"
            b"</d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"
        )
    if style == "loose":
        return (
            b'<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope">\n'
            b"  <Header>\n    <MessageID>" + mid.encode() + b"</MessageID>\n"
            b"    <RelatesTo>  " + relates_to + b"  </RelatesTo>\n"
            b"    <Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</Action>\n"
            b'  </Header>\n  <Body>\n    <ProbeMatches xmlns="">\n      <ProbeMatch>\n'
            b"        <EndpointReference><Address>"
            + endpoint.encode()
            + b"</Address></EndpointReference>\n"
            b"        <Types>dn:NetworkVideoTransmitter</Types>\n"
            b"        <Scopes>\n          " + scopes + b"\n        </Scopes>\n"
            b"        <XAddrs>  " + xaddrs.encode() + b"  </XAddrs>\n"
            b"        <MetadataVersion>1</MetadataVersion>\n"
            b"      </ProbeMatch>\n    </ProbeMatches>\n  </Body>\n</Envelope>\n"
        )
    raise ValueError(f"unknown WS-Discovery style {style!r}")


# ------------------------------------------------------------------ hostile XML

#: Depth 9 x 10 fan-out: ~1 kB on the wire, 10^9 "lol"s if a parser expands it.
_LAUGHS = "".join(
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' if i else '<!ENTITY lol0 "lol">'
    for i in range(10)
)


def xml_attack(xml: bytes, root: str, kind: str, target_element: bytes) -> bytes:
    """Put an entity attack into an XML document.

    ``billion-laughs``: an internal DTD whose entity expands to ~3 GB, used in
    ``target_element``.  ``external-entity``: a SYSTEM entity naming a local
    file (``file:///etc/hostname``; never a network URL, so a parser that does
    resolve it still sends no packet) used in ``target_element``.
    """
    if kind == "billion-laughs":
        dtd, ref = f"<!DOCTYPE {root} [{_LAUGHS}]>", b"&lol9;"
    elif kind == "external-entity":
        dtd, ref = f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>', b"&xxe;"
    else:
        raise ValueError(f"unknown XML attack {kind!r}")
    if xml.startswith(b"<?xml"):
        decl_end = xml.index(b"?>") + 2
        head, rest = xml[:decl_end], xml[decl_end:]
    else:
        head, rest = b"", xml
    open_tag = b"<" + target_element + b">"
    at = rest.find(open_tag)
    if at >= 0:
        at += len(open_tag)
        rest = rest[:at] + ref + rest[at:]
    return head + dtd.encode() + rest


# ------------------------------------------------------------------ helpers


def _between(data: bytes, start: bytes, end: bytes) -> bytes | None:
    i = data.find(start)
    if i < 0:
        return None
    i += len(start)
    j = data.find(end, i)
    return data[i:j].strip() if j >= 0 else None


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
