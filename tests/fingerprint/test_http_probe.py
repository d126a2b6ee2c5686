"""HTTP probe against the lab Hikvision, Dahua, relabelled and non-camera personas on loopback."""

from __future__ import annotations

from camaudit.fingerprint.http import HttpProbe, digest_authorization, parse_challenge
from camaudit.fingerprint.interface import Credentials, ProbeTarget
from tests.fingerprint.fakes import DAHUA, HIK, crafted, credentials, variant

BASIC_401 = (
    b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"\r\nContent-Length: 0\r\n\r\n'
)


def facts(attempt) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(attempt.facts)


def test_hikvision_banner_login_page_and_session_capabilities_are_read_without_credentials(
    device,
):
    camera = device(HIK)
    attempt = HttpProbe().run(ProbeTarget("127.0.0.1", camera.ports["http"], 3.0))
    seen = facts(attempt)
    assert attempt.status == "completed" and attempt.probe == f"http:{camera.ports['http']}"
    assert seen["server"] == "DNVRS-Webs"
    assert seen["endpoint:/doc/page/login.asp"] == "200"
    assert seen["xml_root:/ISAPI/Security/sessionLogin/capabilities"] == "SessionLoginCap"
    assert "model" not in seen  # deviceInfo needs credentials, which were not given
    assert not any("/ISAPI/System/deviceInfo" in r.path for r in camera.requests)


def test_hikvision_device_info_is_read_with_the_users_digest_credentials(device):
    port = device(HIK).ports["http"]
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", port, 3.0, credentials=credentials(HIK))))
    assert seen["model"] == HIK.model
    assert seen["firmware"] == HIK.firmware and seen["build"] == HIK.build
    assert seen["manufacturer"] == "hikvision"


def test_dahua_rpc2_challenge_gives_the_login_realm_without_any_user_name(device):
    camera = device(DAHUA)
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", camera.ports["http"], 3.0)))
    assert seen["rpc2_realm"] == f"Login to {DAHUA.serial}"
    assert seen["title"] == "WEB SERVICE"
    login = next(r for r in camera.requests if r.path == "/RPC2_Login")
    assert b'"userName":""' in login.body and b'"password":""' in login.body


def test_dahua_magicbox_version_and_config_are_read_with_credentials(device):
    dahua = variant(
        DAHUA,
        http={
            "endpoints": [*DAHUA.http["endpoints"], "/cgi-bin/configManager.cgi"],
            "config": {"UPnP": "true", "T2UServer": "false"},
        },
    )
    port = device(dahua).ports["http"]
    target = ProbeTarget("127.0.0.1", port, 3.0, credentials=credentials(DAHUA))
    seen = facts(HttpProbe().run(target))
    assert seen["model"] == DAHUA.model
    assert seen["firmware"] == f"{DAHUA.firmware},build:{DAHUA.build}"
    assert seen["upnp"] == "true" and seen["p2p"] == "false"


def test_lorex_relabel_realm_is_recorded(device):
    lorex = variant(DAHUA, serial="ND0123456789", http={"realm": "Login to ND0123456789"})
    port = device(lorex).ports["http"]
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", port, 3.0)))
    assert seen["rpc2_realm"] == "Login to ND0123456789"


def test_non_camera_web_server_yields_only_its_banner_and_title(device):
    port = device("printer").ports["http"]
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", port, 3.0)))
    assert seen["server"] == "LabPrint-HTTPd/2.1"
    assert seen["title"] == "LP-4200dn Printer Status"
    assert seen["endpoint:/doc/page/login.asp"] == "404"
    assert not {"model", "firmware", "rpc2_realm", "manufacturer"} & set(seen)


def test_basic_authentication_is_never_answered_over_plain_http(device):
    camera = device(crafted({"/ISAPI/System/deviceInfo": BASIC_401}))
    target = ProbeTarget("127.0.0.1", camera.ports["http"], 3.0, credentials=credentials(HIK))
    seen = facts(HttpProbe().run(target))
    assert "credentials not sent" in seen["endpoint_error:/ISAPI/System/deviceInfo"]
    assert not any("authorization" in r.headers for r in camera.requests)


def test_closed_port_is_not_applicable(device):
    printer = device("printer")
    port = printer.ports["http"]
    printer.stop()
    attempt = HttpProbe().run(ProbeTarget("127.0.0.1", port, 2.0))
    assert attempt.status == "not_applicable" and attempt.error == "connection refused"


def test_digest_authorization_follows_rfc_7616_for_qop_auth():
    scheme, params = parse_challenge('Digest realm="r", qop="auth,auth-int", nonce="n", opaque="o"')
    header = digest_authorization(params, Credentials("u", "p"), "GET", "/x")
    assert scheme == "digest"
    assert 'username="u"' in header and "qop=auth" in header and 'opaque="o"' in header
    assert "p" not in header.replace('"', " ").split()
