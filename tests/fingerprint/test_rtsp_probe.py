"""RTSP probe: OPTIONS and DESCRIBE against recorded replies on 127.0.0.1."""

from __future__ import annotations

from camaudit.fingerprint.interface import ProbeTarget
from camaudit.fingerprint.rtsp import RtspProbe
from tests.fingerprint.fakes import DAHUA, HIK, variant


def test_dahua_rtsp_server_realm_and_public_methods_are_read(device):
    public = "OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER"
    camera = device(variant(DAHUA, rtsp={"public": public}))
    attempt = RtspProbe().run(ProbeTarget("127.0.0.1", camera.ports["rtsp"], 3.0))
    seen = dict(attempt.facts)
    assert attempt.status == "completed" and attempt.probe == f"rtsp:{camera.ports['rtsp']}"
    assert seen["rtsp_server"] == "Rtsp Server/3.0"
    assert seen["rtsp_realm"] == f"Login to {DAHUA.serial}"
    assert seen["rtsp_public"] == public
    assert [r.method for r in camera.requests] == ["OPTIONS", "DESCRIBE"]
    assert not any("authorization" in r.headers for r in camera.requests)


def test_hikvision_rtsp_without_server_header_still_gives_the_realm(device):
    port = device(HIK).ports["rtsp"]
    seen = dict(RtspProbe().run(ProbeTarget("127.0.0.1", port, 3.0)).facts)
    assert "rtsp_server" not in seen and seen["rtsp_realm"] == "hikvision"


def test_a_web_server_on_the_rtsp_port_is_an_error_not_a_crash(device):
    port = device("printer").ports["http"]
    attempt = RtspProbe().run(ProbeTarget("127.0.0.1", port, 3.0))
    assert attempt.status == "error" and "not a RTSP reply" in (attempt.error or "")


def test_rtsp_reply_without_content_length_ends_at_its_headers() -> None:
    """RFC 2326 12.14: no Content-Length means no body; the probe must not wait for one."""
    import socket
    import threading
    import time

    from camaudit.fingerprint.interface import ProbeTarget
    from camaudit.fingerprint.rtsp import RtspProbe

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]

    def answer(conn: socket.socket) -> None:
        with conn:
            conn.recv(4096)
            conn.sendall(
                b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nServer: Rtsp Server/3.0\r\n"
                b'WWW-Authenticate: Digest realm="Login to ABC123"\r\n\r\n'
            )
            time.sleep(3)  # keeps the connection open, as cameras do

    def serve() -> None:
        for _ in range(2):
            conn, _ = server.accept()
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    started = time.monotonic()
    attempt = RtspProbe().run(ProbeTarget(host="127.0.0.1", port=port, timeout=2.5))
    elapsed = time.monotonic() - started
    server.close()
    assert elapsed < 1.5
    facts = dict(attempt.facts)
    assert facts["rtsp_realm"] == "Login to ABC123"
    assert facts["rtsp_server"] == "Rtsp Server/3.0"
