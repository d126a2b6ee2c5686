"""Each fake device answers on 127.0.0.1 exactly as the recorded facts say."""

from __future__ import annotations

import json
import socket
import struct
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from types import ModuleType

import defusedxml.ElementTree as DET
import pytest
from defusedxml import EntitiesForbidden

import lab.devices
from lab.devices import (
    DeviceProcess,
    RunningDevice,
    all_personas,
    load_persona,
    replies,
    start_device,
)

LOCAL = "127.0.0.1"


def http_get(
    port: int, path: str, user: str | None = None, password: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    handlers: list[urllib.request.BaseHandler] = []
    if user is not None:
        mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        mgr.add_password(None, f"http://{LOCAL}:{port}/", user, password or "")
        handlers.append(urllib.request.HTTPDigestAuthHandler(mgr))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(f"http://{LOCAL}:{port}{path}", timeout=5) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def raw_exchange(port: int, request: bytes, timeout: float = 5) -> bytes:
    with socket.create_connection((LOCAL, port), timeout=timeout) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data and request.startswith((b"OPTIONS", b"DESCRIBE")):
                break
        return data


def udp_ask(port: int, payload: bytes, timeout: float = 2) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, (LOCAL, port))
        try:
            return s.recv(65535)
        except TimeoutError:
            return None


def udp_reply(port: int, payload: bytes) -> bytes:
    """The device's answer to ``payload``; a device that stays silent fails the test."""
    reply = udp_ask(port, payload)
    assert reply is not None, f"no reply on UDP port {port}"
    return reply


# ------------------------------------------------------------------ personas as data


def test_public_api_is_exactly_what_the_package_re_exports() -> None:
    # as httpx pins its API: __all__ (sorted) names every public name the package binds
    # and nothing else, so a name imported without being listed, or listed without being
    # imported, fails here; each is the very object its own module defines
    bound = [
        name
        for name, value in vars(lab.devices).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    ]
    assert lab.devices.__all__ == sorted(bound)
    for name in lab.devices.__all__:
        exported = getattr(lab.devices, name)
        defined_in = sys.modules[exported.__module__]
        assert defined_in.__name__.startswith("lab.devices."), name
        assert getattr(defined_in, name) is exported, name


def test_every_required_persona_exists_with_an_expected_identity() -> None:
    names = {p.name for p in all_personas()}
    assert {
        "hik-ipc",
        "hik-ipc-patched",
        "lts-relabel",
        "dahua-ipc",
        "dahua-ipc-patched",
        "amcrest-relabel",
        "onvif-generic",
        "printer",
        "hostile-huge",
        "hostile-trickle",
        "hostile-silent",
        "hostile-reset",
        "hostile-escapes",
        "hostile-xml-bomb",
        "hostile-xxe",
    } <= names
    hik, dahua = load_persona("hik-ipc"), load_persona("dahua-ipc")
    assert hik.expected.cves == ("CVE-2021-36260",)
    assert dahua.expected.cves == ("CVE-2021-33044",)
    assert load_persona("lts-relabel").expected.oem_brand == "LTS"
    assert load_persona("amcrest-relabel").expected.oem_brand == "Amcrest"
    assert load_persona("printer").expected.vendor is None


def test_a_clone_keeps_the_oui_and_gets_its_own_identity() -> None:
    hik = load_persona("hik-ipc")
    clone = hik.clone(7)
    assert clone.mac[:8] == hik.mac[:8] and clone.mac != hik.mac
    assert clone.name == "hik-ipc-07" and clone.serial != hik.serial


def test_devices_refuse_addresses_outside_loopback_and_the_lab() -> None:
    with pytest.raises(ValueError, match="neither loopback"):
        start_device("hik-ipc", bind="192.0.2.1", ports={"http": 0})
    with pytest.raises(ValueError, match="multicast"):
        start_device("hik-ipc", multicast=True)


# ------------------------------------------------------------------ Hikvision


@pytest.mark.parametrize("device", ["hik-ipc"], indirect=True)
class TestHikvisionHttp:
    def test_root_redirects_to_the_classic_login_page_with_the_recorded_server(
        self, device: RunningDevice
    ) -> None:
        reply = raw_exchange(device.ports["http"], b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 302 Found\r\nServer: DNVRS-Webs\r\n")
        assert b"\r\nLocation: /doc/page/login.asp\r\n" in reply
        status, _, body = http_get(device.ports["http"], "/doc/page/login.asp")
        assert status == 200 and b"<title>Login</title>" in body

    def test_session_login_capabilities_answer_without_credentials(
        self, device: RunningDevice
    ) -> None:
        status, _, body = http_get(
            device.ports["http"], "/ISAPI/Security/sessionLogin/capabilities?username=admin"
        )
        assert status == 200
        root = DET.fromstring(body)
        assert root.tag == "{http://www.hikvision.com/ver20/XMLSchema}SessionLoginCap"

    def test_device_info_needs_digest_with_realm_hikvision(self, device: RunningDevice) -> None:
        status, headers, _ = http_get(device.ports["http"], "/ISAPI/System/deviceInfo")
        assert status == 401
        assert headers["WWW-Authenticate"].startswith('Digest realm="hikvision", ')

    def test_device_info_with_credentials_carries_model_and_firmware(
        self, device: RunningDevice
    ) -> None:
        p = device.persona
        status, _, body = http_get(
            device.ports["http"], "/ISAPI/System/deviceInfo", p.username, p.password
        )
        assert status == 200
        ns = "{http://www.hikvision.com/ver20/XMLSchema}"
        root = DET.fromstring(body)
        assert root.tag == f"{ns}DeviceInfo" and root.get("version") == "2.0"
        got = {c.tag.removeprefix(ns): c.text for c in root}
        assert (got["model"], got["firmwareVersion"], got["firmwareReleasedDate"]) == (
            "DS-2CD2143G0-I",
            "V5.6.3",
            "build 200612",
        )
        assert got["manufacturer"] == "hikvision" and got["macAddress"] == "44:19:b6:3a:21:01"

    def test_wrong_password_is_refused(self, device: RunningDevice) -> None:
        status, _, _ = http_get(device.ports["http"], "/ISAPI/System/deviceInfo", "admin", "nope")
        assert status == 401

    def test_rtsp_options_has_no_server_header_and_describe_asks_for_digest(
        self, device: RunningDevice
    ) -> None:
        port = device.ports["rtsp"]
        options = raw_exchange(
            port, b"OPTIONS rtsp://h/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 1\r\n\r\n"
        )
        assert options.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n") and b"Server:" not in options
        describe = raw_exchange(
            port, b"DESCRIBE rtsp://h/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 2\r\n\r\n"
        )
        assert describe.startswith(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\n")
        assert b'WWW-Authenticate: Digest realm="hikvision"' in describe

    def test_sadp_inquiry_gets_a_probe_match_with_the_device_fields(
        self, device: RunningDevice
    ) -> None:
        reply = udp_reply(device.ports["sadp"], replies.sadp_probe("6b3c8a3c-1111-2222-3333-4444"))
        root = DET.fromstring(reply)
        fields = {c.tag: c.text for c in root}
        assert root.tag == "ProbeMatch"
        assert fields["Uuid"] == "6b3c8a3c-1111-2222-3333-4444" and fields["Types"] == "inquiry"
        assert fields["DeviceDescription"] == "DS-2CD2143G0-I"
        assert fields["DeviceSN"] == "DS-2CD2143G0-I20200612AAWRE12345678"
        assert fields["MAC"] == "44-19-b6-3a-21-01"
        assert fields["IPv4Address"] == LOCAL and fields["CommandPort"] == str(device.ports["sdk"])
        assert fields["SoftwareVersion"] == "V5.6.3build 200612"

    def test_sadp_ignores_anything_but_an_inquiry(self, device: RunningDevice) -> None:
        assert (
            udp_ask(
                device.ports["sadp"],
                b"<Probe><Uuid>x</Uuid><Types>update</Types></Probe>",
                timeout=0.5,
            )
            is None
        )

    def test_wsdiscovery_strict_probe_match_parses_with_namespaces(
        self, device: RunningDevice
    ) -> None:
        reply = udp_reply(device.ports["wsd"], replies.wsd_probe("urn:uuid:abc"))
        root = DET.fromstring(reply)
        d = "{http://schemas.xmlsoap.org/ws/2005/04/discovery}"
        xaddrs = root.find(f".//{d}ProbeMatches/{d}ProbeMatch/{d}XAddrs")
        assert xaddrs is not None
        assert xaddrs.text == f"http://{LOCAL}:{device.ports['http']}/onvif/device_service"
        assert b"<a:RelatesTo>urn:uuid:abc</a:RelatesTo>" in reply
        assert b"onvif://www.onvif.org/hardware/DS-2CD2143G0-I" in reply


@pytest.mark.parametrize("device", ["hik-ipc-patched"], indirect=True)
def test_the_loose_wsdiscovery_reply_has_no_namespaced_discovery_elements(
    device: RunningDevice,
) -> None:
    reply = udp_ask(device.ports["wsd"], replies.wsd_probe("urn:uuid:loose"))
    assert reply is not None and not reply.startswith(b"<?xml")
    root = ET.fromstring(reply)
    strict = root.find(".//{http://schemas.xmlsoap.org/ws/2005/04/discovery}XAddrs")
    assert strict is None  # what a strict (namespace-aware) parser sees: nothing
    loose = next(e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "XAddrs")
    assert loose.text is not None and loose.text.strip().endswith("/onvif/device_service")


@pytest.mark.parametrize("device", ["lts-relabel"], indirect=True)
def test_the_lts_relabel_speaks_hikvision_with_its_own_model(device: RunningDevice) -> None:
    reply = raw_exchange(device.ports["http"], b"GET / HTTP/1.1\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 302 Found\r\nServer: Hikvision-Webs\r\n")
    sadp = udp_ask(device.ports["sadp"], replies.sadp_probe("u"))
    assert sadp is not None and b"<DeviceDescription>CMIP7442N-28F</DeviceDescription>" in sadp


# ------------------------------------------------------------------ Dahua


@pytest.mark.parametrize("device", ["dahua-ipc"], indirect=True)
class TestDahua:
    def test_rpc2_login_challenge_carries_realm_and_random(self, device: RunningDevice) -> None:
        req = urllib.request.Request(
            f"http://{LOCAL}:{device.ports['http']}/RPC2_Login",
            method="POST",
            data=json.dumps(
                {
                    "method": "global.login",
                    "id": 1,
                    "params": {"userName": "admin", "password": "", "clientType": "Web5.0"},
                }
            ).encode(),
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            first = json.loads(resp.read())
        assert first["result"] is False and first["error"]["code"] == 268632079
        assert first["params"]["realm"] == "Login to 6J0B5E6PAZ1A2B3"
        assert first["params"]["random"] and first["session"]
        p = device.persona
        answer = replies.dahua_rpc2_password_hash(
            p.username, p.password, first["params"]["realm"], first["params"]["random"]
        )
        req2 = urllib.request.Request(
            req.full_url,
            method="POST",
            data=json.dumps(
                {
                    "method": "global.login",
                    "id": 2,
                    "session": first["session"],
                    "params": {
                        "userName": "admin",
                        "password": answer,
                        "random": first["params"]["random"],
                        "realm": first["params"]["realm"],
                        "clientType": "Web5.0",
                    },
                }
            ).encode(),
        )
        with urllib.request.urlopen(req2, timeout=5) as resp:
            assert json.loads(resp.read())["result"] is True

    def test_magicbox_is_behind_digest_with_the_login_to_serial_realm(
        self, device: RunningDevice
    ) -> None:
        path = "/cgi-bin/magicBox.cgi?action=getSoftwareVersion"
        status, headers, _ = http_get(device.ports["http"], path)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith('Digest realm="Login to 6J0B5E6PAZ1A2B3", ')
        status, _, body = http_get(device.ports["http"], path, "admin", device.persona.password)
        assert (status, body) == (200, b"version=2.800.0000016.0.R,build:2020-06-05\r\n")

    def test_web_caps_answer_without_credentials(self, device: RunningDevice) -> None:
        status, _, body = http_get(device.ports["http"], "/web_caps/webCapsConfig")
        assert status == 200 and json.loads(body)

    def test_rtsp_server_and_realm(self, device: RunningDevice) -> None:
        port = device.ports["rtsp"]
        options = raw_exchange(
            port,
            b"OPTIONS rtsp://h/cam/realmonitor?channel=1&subtype=0 RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        )
        assert options.startswith(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: Rtsp Server/3.0\r\n")
        describe = raw_exchange(
            port,
            b"DESCRIBE rtsp://h/cam/realmonitor?channel=1&subtype=0 RTSP/1.0\r\nCSeq: 2\r\n\r\n",
        )
        assert b'WWW-Authenticate: Digest realm="Login to 6J0B5E6PAZ1A2B3"' in describe

    def test_dhip_search_gets_a_framed_notify_dev_info(self, device: RunningDevice) -> None:
        reply = udp_reply(device.ports["dhip"], replies.dhip_search())
        (n1,), (n2,) = struct.unpack_from("<I", reply, 16), struct.unpack_from("<I", reply, 24)
        assert reply[:16] == b"\x20\x00\x00\x00DHIP" + bytes(8)
        assert reply[20:24] == bytes(4) and reply[28:32] == bytes(4)
        assert n1 == n2 == len(reply) - 32
        body = json.loads(reply[32:])
        assert body["method"] == "client.notifyDevInfo" and body["mac"] == "3c:ef:8c:3a:24:04"
        info = body["params"]["deviceInfo"]
        assert (info["DeviceType"], info["SerialNo"], info["Manufacturer"]) == (
            "IPC-HDW3441T-ZAS",
            "6J0B5E6PAZ1A2B3",
            "Dahua",
        )
        assert info["IPv4Address"]["IPAddress"] == LOCAL
        assert info["HttpPort"] == device.ports["http"]

    def test_dhip_ignores_bare_json(self, device: RunningDevice) -> None:
        bare = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'
        assert udp_ask(device.ports["dhip"], bare, timeout=0.5) is None


def test_the_dhip_search_request_is_byte_exact() -> None:
    body = b'{"method":"DHDiscover.search","params":{"mac":"","uni":1}}'
    assert replies.dhip_search() == (
        b"\x20\x00\x00\x00DHIP"
        + bytes(8)
        + struct.pack("<I", 58)
        + bytes(4)
        + struct.pack("<I", 58)
        + bytes(4)
        + body
    )


@pytest.mark.parametrize("device", ["amcrest-relabel"], indirect=True)
def test_the_amcrest_relabel_reports_its_brand_in_dhip(device: RunningDevice) -> None:
    reply = udp_reply(device.ports["dhip"], replies.dhip_search())
    info = json.loads(reply[32:])["params"]["deviceInfo"]
    assert (info["Manufacturer"], info["DeviceType"]) == ("Amcrest", "IP2M-841")


# ------------------------------------------------------------------ ONVIF through onvif-zeep


@pytest.mark.parametrize("device", ["hik-ipc", "dahua-ipc-patched"], indirect=True)
def test_onvif_zeep_reads_time_without_and_identity_with_credentials(device: RunningDevice) -> None:
    onvif = pytest.importorskip("onvif")
    p = device.persona
    cam = onvif.ONVIFCamera(LOCAL, device.ports["http"], p.username, p.password)
    assert cam.devicemgmt.GetSystemDateAndTime().UTCDateTime.Date.Year >= 2024
    info = cam.devicemgmt.GetDeviceInformation()
    assert (info.Model, info.SerialNumber) == (p.model, p.serial)
    assert info.Manufacturer == p.onvif["manufacturer"]
    assert info.FirmwareVersion == p.onvif["firmware_version"]


@pytest.mark.parametrize("device", ["hik-ipc"], indirect=True)
def test_onvif_network_config_is_readable_with_credentials(device: RunningDevice) -> None:
    onvif = pytest.importorskip("onvif")
    p = device.persona
    cam = onvif.ONVIFCamera(LOCAL, device.ports["http"], p.username, p.password)
    assert cam.devicemgmt.GetNTP().NTPManual[0].IPv4Address == "192.0.2.123"
    assert cam.devicemgmt.GetNetworkDefaultGateway().IPv4Address == ["10.66.0.1"]
    bad = onvif.ONVIFCamera(LOCAL, device.ports["http"], p.username, "wrong")
    with pytest.raises(Exception, match=r"(?i)not authorized"):
        bad.devicemgmt.GetDeviceInformation()


@pytest.mark.parametrize("device", ["dahua-ipc-patched"], indirect=True)
def test_ipycam_answers_wsdiscovery_with_its_own_probe_match(device: RunningDevice) -> None:
    reply = udp_ask(device.ports["wsd"], replies.wsd_probe("urn:uuid:ipycam"))
    assert reply is not None and b"<d:ProbeMatch>" in reply and b"ProbeMatches" not in reply
    assert f"{LOCAL}:{device.ports['http']}/onvif/device_service".encode() in reply


# ------------------------------------------------------------------ hostile devices


@pytest.mark.parametrize("device", ["hostile-escapes"], indirect=True)
def test_banners_carry_escapes_and_invalid_utf8_byte_for_byte(device: RunningDevice) -> None:
    reply = raw_exchange(device.ports["http"], b"GET / HTTP/1.1\r\n\r\n")
    assert b"\r\nServer: Hikvision-Webs\x1b]0;pwned\x07\x1b[2J\x00\x08\x7f\xff\xfe\r\n" in reply
    page = raw_exchange(device.ports["http"], b"GET /doc/page/login.asp HTTP/1.1\r\n\r\n")
    assert b"<title>Login\x1b]0;pwned\x07\x1b[2J\r\x08\x9b31m\xff</title>" in page
    denied = raw_exchange(device.ports["http"], b"GET /ISAPI/System/deviceInfo HTTP/1.1\r\n\r\n")
    assert b'Digest realm="hikvision\x1b[31m\x1b]0;pwned\x07\xc3\x28"' in denied
    rtsp = raw_exchange(device.ports["rtsp"], b"OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    assert b"Server: Rtsp\x1b[2J Server\x1b]0;pwned\x07\x9b\xff/1.0\r\n" in rtsp
    sadp = udp_ask(device.ports["sadp"], replies.sadp_probe("u"))
    assert sadp is not None and b"DS-2CD\x1b]0;pwned\x07\x1b[2J\x01\xff\xfe" in sadp


def assert_defusedxml_refuses(reply: bytes, attack: bytes) -> None:
    """The device's XML reply carries the ``attack`` and a safe parser refuses it."""
    assert attack in reply
    with pytest.raises(EntitiesForbidden):
        DET.fromstring(reply)


@pytest.mark.parametrize("device", ["hostile-xml-bomb"], indirect=True)
def test_entity_expansion_reaches_sadp_wsd_and_onvif_and_defusedxml_refuses_it(
    device: RunningDevice,
) -> None:
    sadp = udp_reply(device.ports["sadp"], replies.sadp_probe("u"))
    wsd = udp_reply(device.ports["wsd"], replies.wsd_probe("urn:uuid:x"))
    soap = (
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        b'<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
        b"</s:Body></s:Envelope>"
    )
    req = urllib.request.Request(
        f"http://{LOCAL}:{device.ports['http']}/onvif/device_service", data=soap, method="POST"
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        onvif_reply = resp.read()
    for reply in (sadp, wsd, onvif_reply):
        assert len(reply) < 4096
        assert_defusedxml_refuses(reply, b"<!ENTITY lol9")


@pytest.mark.parametrize("device", ["hostile-xxe"], indirect=True)
def test_external_entity_names_a_local_file_and_defusedxml_refuses_it(
    device: RunningDevice,
) -> None:
    sadp = udp_reply(device.ports["sadp"], replies.sadp_probe("u"))
    assert b"<DeviceDescription>&xxe;" in sadp
    assert_defusedxml_refuses(sadp, b'<!ENTITY xxe SYSTEM "file:///etc/hostname">')


@pytest.mark.parametrize("device", ["hostile-huge"], indirect=True)
def test_huge_reply_announces_40_mib_and_endless_reply_keeps_streaming(
    device: RunningDevice,
) -> None:
    with socket.create_connection((LOCAL, device.ports["http"]), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        head = s.recv(4096)
    assert b"\r\nContent-Length: 41943040\r\n" in head
    with socket.create_connection((LOCAL, device.ports["http_alt"]), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        got = 0
        while got < 8 * 1024 * 1024:
            got += len(s.recv(1 << 20))
    assert got >= 8 * 1024 * 1024


@pytest.mark.parametrize("device", ["hostile-trickle"], indirect=True)
def test_trickle_sends_about_one_byte_per_second(device: RunningDevice) -> None:
    with socket.create_connection((LOCAL, device.ports["http"]), timeout=5) as s:
        start = time.monotonic()
        first, second = s.recv(100), s.recv(100)
        elapsed = time.monotonic() - start
    assert (first, second) == (b"H", b"T") and 0.8 < elapsed < 2.5


@pytest.mark.parametrize("device", ["hostile-silent"], indirect=True)
def test_silent_port_accepts_and_never_answers(device: RunningDevice) -> None:
    with socket.create_connection((LOCAL, device.ports["http"]), timeout=0.7) as s:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        with pytest.raises(TimeoutError):
            s.recv(1)


def _send_after_accept(port: int) -> bytes:
    with socket.create_connection((LOCAL, port), timeout=2) as s:
        time.sleep(0.1)
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        return s.recv(1)


@pytest.mark.parametrize("device", ["hostile-reset"], indirect=True)
def test_reset_device_resets_every_connection(device: RunningDevice) -> None:
    for name in ("http", "rtsp", "sdk"):
        # the RST can beat connect() back to user space, so it may surface there too
        with pytest.raises(ConnectionResetError):
            _send_after_accept(device.ports[name])


@pytest.mark.parametrize("device", ["printer"], indirect=True)
def test_the_printer_speaks_no_camera_protocol(device: RunningDevice) -> None:
    status, headers, body = http_get(device.ports["http"], "/")
    assert status == 200 and headers["Server"] == "LabPrint-HTTPd/2.1"
    assert b"<title>LP-4200dn Printer Status</title>" in body
    assert http_get(device.ports["http"], "/ISAPI/System/deviceInfo")[0] == 404
    assert http_get(device.ports["http"], "/RPC2_Login")[0] == 404


# ------------------------------------------------------------------ the runner


def test_the_runner_prints_ready_with_its_ports_and_serves() -> None:
    with DeviceProcess.start("dahua-ipc") as proc:
        assert set(proc.ports) == {"http", "rtsp", "dvrip", "dhip", "wsd"}
        reply = udp_ask(proc.ports["dhip"], replies.dhip_search())
        assert reply is not None and b"IPC-HDW3441T-ZAS" in reply
    assert proc.proc.returncode is not None
