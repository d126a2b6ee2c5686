"""ONVIF device service: a small built-in one, or PyPI ``ipycam``'s.

Why two: ``ipycam`` is a real third-party simulator (what the issue asks for)
but it cannot send hostile XML and does not implement the network-config
calls (GetNTP, GetDNS ...) the fingerprint stage turns into findings.  The
built-in service answers what onvif-zeep sends for the calls the fingerprint probe makes,
with the persona's identity and network config.

Access classes (ONVIF Core specification, recalled): GetSystemDateAndTime,
GetServices, GetCapabilities, GetHostname, GetScopes are pre-auth; everything
else needs a WS-UsernameToken when the persona has a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import Any

from lab.devices.persona import Persona
from lab.devices.replies import xml_attack

PRE_AUTH = {
    "GetSystemDateAndTime",
    "GetServices",
    "GetCapabilities",
    "GetHostname",
    "GetScopes",
    "GetWsdlUrl",
    "GetServiceCapabilities",
    "GetEndpointReference",
}

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:ter="http://www.onvif.org/ver10/error">'
    "<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
)


def soap_action(body: bytes) -> str:
    """Local name of the first element inside the SOAP Body."""
    m = re.search(rb"<(?:[\w.-]+:)?Body[^>]*>\s*<(?:[\w.-]+:)?([\w.-]+)", body)
    return m.group(1).decode() if m else ""


def username_token_ok(body: bytes, user: str, password: str) -> bool:
    """WS-Security UsernameToken check (PasswordDigest, or PasswordText)."""
    text = body.decode("utf-8", "replace")

    def grab(tag: str) -> str | None:
        m = re.search(rf"<(?:\w+:)?{tag}\b[^>]*>([^<]*)</(?:\w+:)?{tag}>", text)
        return m.group(1) if m else None

    got_user, got_pw = grab("Username"), grab("Password")
    if got_user is None or got_pw is None or not hmac.compare_digest(got_user, user):
        return False
    if "PasswordText" in text:
        return hmac.compare_digest(got_pw, password)
    nonce, created = grab("Nonce"), grab("Created")
    if nonce is None or created is None:
        return False
    try:
        raw = base64.b64decode(nonce)
    except ValueError:
        return False
    want = base64.b64encode(
        hashlib.sha1(raw + created.encode() + password.encode()).digest()
    ).decode()
    return hmac.compare_digest(want, got_pw)


class BuiltinOnvif:
    """Answers ONVIF device-service calls for one persona."""

    def __init__(self, persona: Persona, host: str, http_port: int) -> None:
        self.p = persona
        self.host = host
        self.base = (
            f"http://{host}:{http_port}" if ":" not in host else f"http://[{host}]:{http_port}"
        )
        self.cfg: dict[str, Any] = dict(persona.onvif)

    def handle(self, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, SOAP reply) for one request body."""
        action = soap_action(body)
        needs_auth = action not in PRE_AUTH and bool(self.p.password)
        if needs_auth and not username_token_ok(body, self.p.username, self.p.password):
            return 400, self._fault("ter:NotAuthorized", "Sender not authorized")
        builder = getattr(self, f"_{action}", None)
        if builder is None:
            return 400, self._fault("ter:ActionNotSupported", f"{action} not supported")
        reply: bytes = _ENVELOPE.format(body=builder()).encode()
        attack = self.p.hostile.get("xml")
        if attack and action in ("GetSystemDateAndTime", "GetDeviceInformation"):
            target = b"tt:TZ" if action == "GetSystemDateAndTime" else b"tds:Manufacturer"
            reply = xml_attack(reply, "SOAP-ENV:Envelope", attack, target)
        return 200, reply

    def _fault(self, code: str, reason: str) -> bytes:
        return _ENVELOPE.format(
            body=(
                "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"
                f"<SOAP-ENV:Subcode><SOAP-ENV:Value>{code}</SOAP-ENV:Value></SOAP-ENV:Subcode>"
                f'</SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">{reason}'
                "</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>"
            )
        ).encode()

    # one method per ONVIF call, named after it ------------------------------

    def _GetSystemDateAndTime(self) -> str:
        t = time.gmtime()
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            f"<tt:TimeZone><tt:TZ>{self.cfg.get('tz', 'CST-8')}</tt:TZ></tt:TimeZone>"
            f"<tt:UTCDateTime><tt:Time><tt:Hour>{t.tm_hour}</tt:Hour><tt:Minute>{t.tm_min}</tt:Minute>"
            f"<tt:Second>{t.tm_sec}</tt:Second></tt:Time><tt:Date><tt:Year>{t.tm_year}</tt:Year>"
            f"<tt:Month>{t.tm_mon}</tt:Month><tt:Day>{t.tm_mday}</tt:Day></tt:Date></tt:UTCDateTime>"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def _GetDeviceInformation(self) -> str:
        fw = self.cfg.get("firmware_version", f"{self.p.firmware} {self.p.build}".strip())
        return (
            "<tds:GetDeviceInformationResponse>"
            "<tds:Manufacturer>"
            f"{_esc(self.cfg.get('manufacturer', self.p.manufacturer))}</tds:Manufacturer>"
            f"<tds:Model>{_esc(self.p.model)}</tds:Model>"
            f"<tds:FirmwareVersion>{_esc(fw)}</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{_esc(self.p.serial)}</tds:SerialNumber>"
            f"<tds:HardwareId>{_esc(self.cfg.get('hardware_id', '88'))}</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )

    def _GetCapabilities(self) -> str:
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities>"
            f"<tt:Device><tt:XAddr>{self.base}/onvif/device_service</tt:XAddr>"
            f"{self._system_capabilities()}</tt:Device>"
            f"<tt:Media><tt:XAddr>{self.base}/onvif/Media</tt:XAddr>"
            "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
            "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
            "</tt:StreamingCapabilities></tt:Media>"
            "</tds:Capabilities></tds:GetCapabilitiesResponse>"
        )

    def _system_capabilities(self) -> str:
        """``System`` with ``SupportedVersions`` when the persona lists ``versions`` ("2.60")."""
        versions = "".join(
            f"<tt:SupportedVersions><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor>"
            "</tt:SupportedVersions>"
            for major, _, minor in (v.partition(".") for v in self.cfg.get("versions", []))
        )
        return f"<tt:System>{versions}</tt:System>" if versions else ""

    def _GetServices(self) -> str:
        services = [
            ("http://www.onvif.org/ver10/device/wsdl", "device_service"),
            ("http://www.onvif.org/ver10/media/wsdl", "Media"),
        ]
        return (
            "<tds:GetServicesResponse>"
            + "".join(
                f"<tds:Service><tds:Namespace>{ns}</tds:Namespace>"
                f"<tds:XAddr>{self.base}/onvif/{path}</tds:XAddr>"
                "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>"
                for ns, path in services
            )
            + "</tds:GetServicesResponse>"
        )

    def _GetHostname(self) -> str:
        return (
            "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>"
            f"<tt:Name>{_esc(self.p.device_name)}</tt:Name>"
            "</tds:HostnameInformation></tds:GetHostnameResponse>"
        )

    def _GetNetworkInterfaces(self) -> str:
        ip = self.host
        return (
            '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
            "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
            f"<tt:HwAddress>{self.p.mac.lower()}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
            "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
            f"<tt:Address>{ip}</tt:Address><tt:PrefixLength>24</tt:PrefixLength></tt:Manual>"
            "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
            "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
        )

    def _manual_servers(self, kind: str) -> str:
        """``GetNTP`` / ``GetDNS`` answer: the persona's manually set ``ntp`` / ``dns`` servers."""
        name = kind.upper()
        servers = "".join(
            f"<tt:{name}Manual><tt:Type>IPv4</tt:Type><tt:IPv4Address>{a}</tt:IPv4Address>"
            f"</tt:{name}Manual>"
            for a in self.cfg.get(kind, [])
        )
        return (
            f"<tds:Get{name}Response><tds:{name}Information><tt:FromDHCP>false</tt:FromDHCP>"
            f"{servers}</tds:{name}Information></tds:Get{name}Response>"
        )

    def _GetNTP(self) -> str:
        return self._manual_servers("ntp")

    def _GetDNS(self) -> str:
        return self._manual_servers("dns")

    def _GetNetworkDefaultGateway(self) -> str:
        gws = "".join(f"<tt:IPv4Address>{a}</tt:IPv4Address>" for a in self.cfg.get("gateway", []))
        return (
            "<tds:GetNetworkDefaultGatewayResponse><tds:NetworkGateway>"
            f"{gws}</tds:NetworkGateway></tds:GetNetworkDefaultGatewayResponse>"
        )

    def _GetNetworkProtocols(self) -> str:
        protos = self.cfg.get("protocols", {"HTTP": 80, "RTSP": 554})
        return (
            "<tds:GetNetworkProtocolsResponse>"
            + "".join(
                f"<tds:NetworkProtocols><tt:Name>{name}</tt:Name><tt:Enabled>true</tt:Enabled>"
                f"<tt:Port>{port}</tt:Port></tds:NetworkProtocols>"
                for name, port in protos.items()
            )
            + "</tds:GetNetworkProtocolsResponse>"
        )


class IpycamOnvif:
    """PyPI ``ipycam``'s ONVIF service behind our HTTP server.

    Why not ipycam's own server: it starts an RTSP/video pipeline and its
    WS-Discovery thread binds every interface and multicasts a Hello at start,
    which on the host namespace would leave the machine.  We use its
    ``ONVIFService`` (the SOAP answers and the ProbeMatch text) and route the
    sockets ourselves.
    """

    def __init__(self, persona: Persona, host: str, http_port: int) -> None:
        from ipycam.config import CameraConfig  # heavy (pulls in OpenCV): only when used
        from ipycam.onvif import ONVIFService

        self.p = persona
        cfg = CameraConfig(
            name=persona.onvif.get("scope_name", persona.device_name),
            manufacturer=persona.onvif.get("manufacturer", persona.manufacturer),
            model=persona.model,
            serial_number=persona.serial,
            firmware_version=persona.onvif.get(
                "firmware_version", f"{persona.firmware} {persona.build}".strip()
            ),
            local_ip=host,
            onvif_port=http_port,
        )
        if persona.password:
            cfg.set_credentials(persona.username, persona.password)
        self.service = ONVIFService(cfg)
        self.endpoint = self.service.device_uuid

    def handle(self, body: bytes) -> tuple[int, bytes]:
        """(HTTP status, SOAP reply), as ipycam's own HTTP handler would answer."""
        text = body.decode("utf-8", "replace")
        if not self.service.verify_usernametoken(text):
            return 401, self.service.fault("Sender not authorized").encode()
        reply = self.service.handle_action(soap_action(body), text)
        return 200, (reply or "").encode()

    def probe_match(self, relates_to: bytes) -> bytes:
        """ipycam's own ProbeMatch text (its layout: ProbeMatch without ProbeMatches)."""
        return str(self.service.create_probe_match(relates_to.decode("utf-8", "replace"))).encode()


def _esc(value: object) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
