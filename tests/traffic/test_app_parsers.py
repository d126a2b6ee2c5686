"""The TLS server name and HTTP Host readers agree with scapy's dissectors (the oracle)."""

from __future__ import annotations

import logging

import pytest
from scapy.layers.http import HTTPRequest
from scapy.layers.tls.extensions import ServerName, TLS_Ext_ServerName
from scapy.layers.tls.handshake import TLSClientHello
from scapy.layers.tls.record import TLS

from camaudit.sanitize import clean_name
from camaudit.traffic.apps import parse_http_host, parse_sni
from tests.conftest import PCAPS

logging.getLogger("scapy").setLevel(logging.ERROR)


def scapy_sni(payload: bytes) -> str | None:
    try:
        ext = TLS(payload).getlayer(TLS_Ext_ServerName)
        if ext is None or not ext.servernames:
            return None
        name = ext.servernames[0].servername
    except Exception:
        return None
    return clean_name(name) if name else None


def scapy_host(payload: bytes) -> str | None:
    try:
        host = HTTPRequest(payload).Host
    except Exception:
        return None
    return clean_name(host) if host else None


def client_hello(name: bytes, session: bytes = b"") -> bytes:
    ext = TLS_Ext_ServerName(servernames=[ServerName(servername=name)])
    hello = TLSClientHello(sid=session, ciphers=[0x1301, 0x1302], ext=[ext])
    return bytes(TLS(msg=[hello]))


def stored_hellos() -> list[bytes]:
    from camaudit.traffic.engine import analyse

    summary = analyse([PCAPS / "tls-established"])
    return [f.payload_orig for f in summary.flows if f.payload_orig[:1] == b"\x16"]


HELLOS = [
    *stored_hellos(),
    client_hello(b"dev.hik-connect.com"),
    client_hello(b"Litedev.EZVIZlife.com.", session=bytes(32)),
    client_hello(b""),
]


@pytest.mark.parametrize("hello", HELLOS)
def test_server_name_matches_scapy_whole_and_cut_at_every_length(hello: bytes) -> None:
    assert parse_sni(hello) == scapy_sni(hello)
    assert parse_sni(hello[:-1]) is None or parse_sni(hello[:-1]) == scapy_sni(hello)
    for cut in range(len(hello)):
        got = parse_sni(hello[:cut])
        assert got is None or got == parse_sni(hello), cut


def test_a_stored_client_hello_names_its_server() -> None:
    assert any(parse_sni(h) for h in stored_hellos())


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /fw/check HTTP/1.1\r\nHost: upgrade.hikvision.com\r\nUser-Agent: x\r\n\r\n",
        b"GET / HTTP/1.0\r\nhost:  Example.ORG. \r\n\r\n",
        b"POST /a HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"OPTIONS rtsp://cam/ RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Host: no\r\nHost: yes.example\r\n\r\n",
    ],
)
def test_http_host_matches_scapy(request_bytes: bytes) -> None:
    expected = scapy_host(request_bytes) if b" HTTP/1." in request_bytes else None
    assert parse_http_host(request_bytes) == expected
