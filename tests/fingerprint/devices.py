"""Device replies built from the recorded facts in ../shared/reference/signatures.md.

Hikvision: ``Server: Hikvision-Webs``, ``/doc/page/login.asp``, ISAPI deviceInfo (fields of
the hikvision_next fixture). Dahua: ``/RPC2_Login`` challenge with realm
``Login to <serial>``, magicBox key=value replies, ``Rtsp Server/3.0``. OEM variants and
a non-camera web server. The test credentials are fixed and only ever sent to 127.0.0.1.
"""

from __future__ import annotations

import json

from tests.fingerprint.servers import Behaviour, Request, reply, routes, with_digest

USER = "auditor"
PASSWORD = "s3cret-Pa55word!"
HIK_SERIAL = "DS-2CD2043G2-I20210101AAWRF12345678"
DAHUA_SERIAL = "4L0123PAZ12345"


def device_info_xml(
    model: str = "DS-2CD2043G2-I",
    firmware: str = "V5.5.0",
    build: str = "build 210101",
    manufacturer: str = "hikvision",
) -> bytes:
    """An ISAPI ``DeviceInfo`` document."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<DeviceInfo version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
        f"<deviceName>IP CAMERA</deviceName><model>{model}</model>"
        f"<serialNumber>{HIK_SERIAL}</serialNumber><macAddress>04:03:12:aa:bb:cc</macAddress>"
        f"<firmwareVersion>{firmware}</firmwareVersion>"
        f"<firmwareReleasedDate>{build}</firmwareReleasedDate>"
        f"<deviceType>IPCamera</deviceType><manufacturer>{manufacturer}</manufacturer>"
        "</DeviceInfo>"
    ).encode()


SESSION_CAP = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<SessionLoginCap version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">'
    b"<sessionID>3f2a</sessionID><challenge>9c1e</challenge><iterations>100</iterations>"
    b"<isIrreversible>true</isIrreversible><salt>abc</salt></SessionLoginCap>"
)


def hikvision_http(
    server: str = "Hikvision-Webs", device_info: bytes | None = None, title: str = "Login"
) -> Behaviour:
    """A Hikvision web server (ISAPI deviceInfo behind digest)."""
    page = f"<html><head><title>{title}</title></head><body></body></html>".encode()
    headers = {"Server": server, "Content-Type": "text/html"}
    return routes(
        {
            "/": reply("302 Found", {"Server": server, "Location": "/doc/page/login.asp"}),
            "/doc/page/login.asp": reply("200 OK", headers, page),
            "/ISAPI/Security/sessionLogin/capabilities": reply(
                "200 OK", {"Server": server, "Content-Type": "application/xml"}, SESSION_CAP
            ),
            "/ISAPI/System/deviceInfo": with_digest(
                "DS-2CD2043G2-I",
                USER,
                PASSWORD,
                reply("200 OK", {"Server": server}, device_info or device_info_xml()),
            ),
        },
        default=reply("404 Not Found", {"Server": server}, b"<html>404</html>"),
    )


def rpc2_challenge(serial: str = DAHUA_SERIAL) -> bytes:
    """The first ``global.login`` reply: an error carrying realm and random."""
    body = {
        "error": {"code": 268632079, "message": "Component error: login challenge!"},
        "id": 1,
        "params": {"encryption": "Default", "random": "1234567", "realm": f"Login to {serial}"},
        "result": False,
        "session": "abcdef",
    }
    return reply("200 OK", {"Content-Type": "application/json"}, json.dumps(body).encode())


def dahua_http(
    serial: str = DAHUA_SERIAL,
    model: str = "IPC-HFW2431S-S-S2",
    version: str = "2.800.0000016.0.R,build:2020-06-05",
    extra: dict[str, bytes] | None = None,
) -> Behaviour:
    """A Dahua web server: RPC2 challenge, magicBox behind digest."""
    realm = f"Login to {serial}"
    table = {
        "/": reply("200 OK", {"Content-Type": "text/html"}, b"<title>WEB SERVICE</title>"),
        "/RPC2_Login": rpc2_challenge(serial),
        "/web_caps/webCapsConfig": reply("200 OK", {}, b'{"caps": {}}'),
        "/cgi-bin/magicBox.cgi?action=getSystemInfo": with_digest(
            realm,
            USER,
            PASSWORD,
            reply(
                "200 OK",
                {},
                f"deviceType={model}\r\nprocessor=S2L\r\nserialNumber={serial}\r\n".encode(),
            ),
        ),
        "/cgi-bin/magicBox.cgi?action=getSoftwareVersion": with_digest(
            realm, USER, PASSWORD, reply("200 OK", {}, f"version={version}\r\n".encode())
        ),
        "/cgi-bin/configManager.cgi?action=getConfig&name=UPnP": with_digest(
            realm, USER, PASSWORD, reply("200 OK", {}, b"table.UPnP.Enable=true\r\n")
        ),
        "/cgi-bin/configManager.cgi?action=getConfig&name=T2UServer": with_digest(
            realm, USER, PASSWORD, reply("200 OK", {}, b"table.T2UServer.Enable=false\r\n")
        ),
    }
    table.update(extra or {})
    return routes(table)  # type: ignore[arg-type]


def non_camera_http() -> Behaviour:
    """An ordinary web server: nothing camera-like anywhere."""
    page = b"<html><head><title>Welcome to nginx!</title></head></html>"
    return routes(
        {"/": reply("200 OK", {"Server": "nginx/1.24.0", "Content-Type": "text/html"}, page)},
        default=reply("404 Not Found", {"Server": "nginx/1.24.0"}, b"<html>404</html>"),
    )


def rtsp_device(server: str | None, realm: str, public: str) -> Behaviour:
    """OPTIONS answered; DESCRIBE asks for digest with ``realm``."""

    def behave(conn, request: Request, stop) -> None:  # type: ignore[no-untyped-def]
        cseq = request.headers.get("cseq", "1")
        headers = {"CSeq": cseq}
        if server:
            headers["Server"] = server
        if request.method == "OPTIONS":
            headers["Public"] = public
            conn.sendall(reply("200 OK", headers, proto="RTSP/1.0"))
        else:
            headers["WWW-Authenticate"] = f'Digest realm="{realm}", nonce="abc123"'
            conn.sendall(reply("401 Unauthorized", headers, proto="RTSP/1.0"))

    return behave


# -- ONVIF device service ----------------------------------------------------------------------

SOAP_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:ter="http://www.onvif.org/ver10/error"><SOAP-ENV:Body>'
)
SOAP_TAIL = "</SOAP-ENV:Body></SOAP-ENV:Envelope>"
NOT_AUTHORIZED = (
    "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"
    "<SOAP-ENV:Subcode><SOAP-ENV:Value>ter:NotAuthorized</SOAP-ENV:Value></SOAP-ENV:Subcode>"
    '</SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">Sender not Authorized'
    "</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>"
)


def onvif_bodies(
    manufacturer: str = "HIKVISION",
    model: str = "DS-2CD2043G2-I",
    firmware: str = "V5.5.0 build 210101",
    ntp: str = "198.51.100.123",
    dns: str = "198.51.100.53",
    gateway: str = "10.66.0.1",
) -> dict[str, str]:
    """Operation name -> response body element."""
    return {
        "GetSystemDateAndTime": (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
            "<tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
            "<tt:Time><tt:Hour>10</tt:Hour><tt:Minute>20</tt:Minute><tt:Second>30</tt:Second>"
            "</tt:Time>"
            "<tt:Date><tt:Year>2024</tt:Year><tt:Month>5</tt:Month><tt:Day>6</tt:Day></tt:Date>"
            "</tt:UTCDateTime></tds:SystemDateAndTime>"
            "</tds:GetSystemDateAndTimeResponse>"
        ),
        "GetServices": (
            "<tds:GetServicesResponse><tds:Service>"
            "<tds:Namespace>http://www.onvif.org/ver10/device/wsdl</tds:Namespace>"
            "<tds:XAddr>http://127.0.0.1/onvif/device_service</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version>"
            "</tds:Service></tds:GetServicesResponse>"
        ),
        "GetCapabilities": (
            "<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Device>"
            "<tt:XAddr>http://127.0.0.1/onvif/device_service</tt:XAddr>"
            "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve>"
            "<tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery>"
            "<tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>true</tt:SystemLogging>"
            "<tt:FirmwareUpgrade>true</tt:FirmwareUpgrade>"
            "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>"
            "</tt:SupportedVersions></tt:System></tt:Device></tds:Capabilities>"
            "</tds:GetCapabilitiesResponse>"
        ),
        "GetDeviceInformation": (
            f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{manufacturer}</tds:Manufacturer>"
            f"<tds:Model>{model}</tds:Model><tds:FirmwareVersion>{firmware}</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{HIK_SERIAL}</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        ),
        "GetNetworkInterfaces": (
            '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0">'
            "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name>"
            "<tt:HwAddress>04:03:12:aa:bb:cc</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
            "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
            "<tt:Address>10.66.0.21</tt:Address><tt:PrefixLength>24</tt:PrefixLength>"
            "</tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>"
            "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
        ),
        "GetNTP": (
            "<tds:GetNTPResponse><tds:NTPInformation><tt:FromDHCP>false</tt:FromDHCP>"
            f"<tt:NTPManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>{ntp}</tt:IPv4Address>"
            "</tt:NTPManual></tds:NTPInformation></tds:GetNTPResponse>"
        ),
        "GetDNS": (
            "<tds:GetDNSResponse><tds:DNSInformation><tt:FromDHCP>false</tt:FromDHCP>"
            f"<tt:DNSManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>{dns}</tt:IPv4Address>"
            "</tt:DNSManual></tds:DNSInformation></tds:GetDNSResponse>"
        ),
        "GetNetworkDefaultGateway": (
            "<tds:GetNetworkDefaultGatewayResponse><tds:NetworkGateway>"
            f"<tt:IPv4Address>{gateway}</tt:IPv4Address></tds:NetworkGateway>"
            "</tds:GetNetworkDefaultGatewayResponse>"
        ),
        "GetNetworkProtocols": (
            "<tds:GetNetworkProtocolsResponse><tds:NetworkProtocols><tt:Name>HTTP</tt:Name>"
            "<tt:Enabled>true</tt:Enabled><tt:Port>80</tt:Port></tds:NetworkProtocols>"
            "</tds:GetNetworkProtocolsResponse>"
        ),
    }


PRE_AUTH = {"GetSystemDateAndTime", "GetServices", "GetCapabilities"}


def onvif_device(
    bodies: dict[str, str] | None = None, raw: dict[str, bytes] | None = None
) -> Behaviour:
    """A SOAP device service: pre-auth calls open, the rest need a UsernameToken for USER.

    ``raw`` replaces the whole HTTP reply of an operation (for hostile payloads).
    """
    table = bodies or onvif_bodies()

    def behave(conn, request: Request, stop) -> None:  # type: ignore[no-untyped-def]
        text = request.body.decode("utf-8", "replace")
        operation = next(
            (op for op in table if f"{op}" in text and f"{op}Response" not in text), ""
        )
        if raw and operation in raw:
            conn.sendall(raw[operation])
            return
        signed = "UsernameToken" in text and f">{USER}<" in text
        if operation not in PRE_AUTH and not signed:
            body, status = NOT_AUTHORIZED, "400 Bad Request"
        elif operation:
            body, status = table[operation], "200 OK"
        else:
            body, status = NOT_AUTHORIZED, "400 Bad Request"
        payload = (SOAP_HEAD + body + SOAP_TAIL).encode()
        conn.sendall(
            reply(status, {"Content-Type": "application/soap+xml; charset=utf-8"}, payload)
        )

    return behave
