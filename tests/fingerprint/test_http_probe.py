"""HTTP probe against recorded Hikvision, Dahua, OEM and non-camera replies on 127.0.0.1."""

from __future__ import annotations

from camaudit.fingerprint.http import HttpProbe, digest_authorization, parse_challenge
from camaudit.fingerprint.interface import Credentials, ProbeTarget
from tests.fingerprint import devices as d
from tests.fingerprint.servers import reply, routes

CREDS = Credentials(d.USER, d.PASSWORD)


def facts(attempt) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return dict(attempt.facts)


def test_hikvision_banner_login_page_and_session_capabilities_are_read_without_credentials(serve):
    server = serve(d.hikvision_http())
    attempt = HttpProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0))
    seen = facts(attempt)
    assert attempt.status == "completed" and attempt.probe == f"http:{server.port}"
    assert seen["server"] == "Hikvision-Webs"
    assert seen["endpoint:/doc/page/login.asp"] == "200"
    assert seen["xml_root:/ISAPI/Security/sessionLogin/capabilities"] == "SessionLoginCap"
    assert "model" not in seen  # deviceInfo needs credentials, which were not given
    assert not any("/ISAPI/System/deviceInfo" in r.path for r in server.requests)


def test_hikvision_device_info_is_read_with_the_users_digest_credentials(serve):
    server = serve(d.hikvision_http())
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0, credentials=CREDS)))
    assert seen["model"] == "DS-2CD2043G2-I"
    assert seen["firmware"] == "V5.5.0" and seen["build"] == "build 210101"
    assert seen["manufacturer"] == "hikvision"


def test_dahua_rpc2_challenge_gives_the_login_realm_without_any_user_name(serve):
    server = serve(d.dahua_http())
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0)))
    assert seen["rpc2_realm"] == f"Login to {d.DAHUA_SERIAL}"
    assert seen["title"] == "WEB SERVICE"
    login = next(r for r in server.requests if r.path == "/RPC2_Login")
    assert b'"userName":""' in login.body and b'"password":""' in login.body


def test_dahua_magicbox_version_and_config_are_read_with_credentials(serve):
    server = serve(d.dahua_http())
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0, credentials=CREDS)))
    assert seen["model"] == "IPC-HFW2431S-S-S2"
    assert seen["firmware"] == "2.800.0000016.0.R,build:2020-06-05"
    assert seen["upnp"] == "true" and seen["p2p"] == "false"


def test_lorex_relabel_realm_is_recorded(serve):
    server = serve(d.dahua_http(serial="ND0123456789"))
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0)))
    assert seen["rpc2_realm"] == "Login to ND0123456789"


def test_non_camera_web_server_yields_only_its_banner_and_title(serve):
    server = serve(d.non_camera_http())
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0)))
    assert seen["server"] == "nginx/1.24.0"
    assert seen["title"] == "Welcome to nginx!"
    assert seen["endpoint:/doc/page/login.asp"] == "404"
    assert not {"model", "firmware", "rpc2_realm", "manufacturer"} & set(seen)


def test_basic_authentication_is_never_answered_over_plain_http(serve):
    basic = reply("401 Unauthorized", {"WWW-Authenticate": 'Basic realm="cam"'})
    server = serve(routes({"/ISAPI/System/deviceInfo": basic}))
    seen = facts(HttpProbe().run(ProbeTarget("127.0.0.1", server.port, 3.0, credentials=CREDS)))
    assert "credentials not sent" in seen["endpoint_error:/ISAPI/System/deviceInfo"]
    assert not any("authorization" in r.headers for r in server.requests)


def test_closed_port_is_not_applicable(serve):
    server = serve(d.non_camera_http())
    port = server.port
    server.close()
    attempt = HttpProbe().run(ProbeTarget("127.0.0.1", port, 2.0))
    assert attempt.status == "not_applicable" and attempt.error == "connection refused"


def test_digest_authorization_follows_rfc_7616_for_qop_auth():
    scheme, params = parse_challenge('Digest realm="r", qop="auth,auth-int", nonce="n", opaque="o"')
    header = digest_authorization(params, Credentials("u", "p"), "GET", "/x")
    assert scheme == "digest"
    assert 'username="u"' in header and "qop=auth" in header and 'opaque="o"' in header
    assert "p" not in header.replace('"', " ").split()
