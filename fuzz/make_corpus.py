"""Write the seed corpora of fuzz/corpus/<target>/ from pcaps/ and the lab's fake devices.

Seeds stay small (a few KiB each): captures are cut after their first records, profile
files after their first tables. Run it again after pcaps/ or lab/devices change:
``python fuzz/make_corpus.py``. The fuzzers write what they find elsewhere (fuzz/run.py).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import shutil
import struct
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "fuzz")]

from fuzz_packet import LINKTYPES  # noqa: E402

from camaudit.traffic.capfile import CaptureFile  # noqa: E402
from lab.devices import replies  # noqa: E402
from lab.devices.onvif import BuiltinOnvif  # noqa: E402
from lab.devices.persona import Persona, all_personas, wire  # noqa: E402

CORPUS = ROOT / "fuzz" / "corpus"
SEED_BYTES = 4096
HOST = "10.66.0.20"


def _cut_pcap(data: bytes) -> bytes:
    """The header and the records that fit in SEED_BYTES."""
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pos = 24
    while pos + 16 <= len(data):
        size = 16 + struct.unpack_from(order + "I", data, pos + 8)[0]
        if pos + size > SEED_BYTES:
            break
        pos += size
    return data[: max(pos, 24)]


def _cut_pcapng(data: bytes) -> bytes:
    """The blocks that fit in SEED_BYTES (at least the section header)."""
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    pos = 0
    while pos + 12 <= len(data):
        size = struct.unpack_from(order + "I", data, pos + 4)[0]
        if size < 12 or (pos + size > SEED_BYTES and pos):
            break
        pos += size
    return data[:pos]


def captures() -> Iterator[tuple[str, bytes]]:
    """(file name, whole uncompressed bytes) of every stored capture."""
    for path in sorted((ROOT / "pcaps").glob("*/*.pcap*")):
        raw = path.read_bytes()
        yield path.name, gzip.decompress(raw) if path.suffix == ".gz" else raw


def frames(limit: int = 6) -> Iterator[tuple[int, bytes]]:
    """(link type, frame) of the first ``limit`` frames of every stored capture."""
    for path in sorted((ROOT / "pcaps").glob("*/*.pcap*")):
        capture = CaptureFile(path)
        try:
            for batch in capture.batches(limit=limit):
                for i in range(len(batch)):
                    start = int(batch.off[i])
                    yield int(batch.linktype[i]), batch.data[start : start + int(batch.caplen[i])]
        finally:
            capture.close()


def _payloads(port: int) -> Iterator[bytes]:
    """UDP/TCP payloads to or from ``port`` in the stored captures (scapy reads them)."""
    from scapy.layers.inet import TCP, UDP
    from scapy.utils import rdpcap

    for name, data in captures():
        with tempfile.NamedTemporaryFile(suffix=name) as scratch:
            scratch.write(data)
            scratch.flush()
            packets = rdpcap(scratch.name)
        for pkt in packets:
            for layer in (UDP, TCP):
                if layer in pkt and port in (pkt[layer].sport, pkt[layer].dport):
                    payload = bytes(pkt[layer].payload)
                    if payload:
                        yield payload[2:] if layer is TCP and port == 53 else payload


def _open(p: Persona) -> Persona:
    return dataclasses.replace(p, password="")  # the builtin ONVIF answers every call then


def http_replies(personas: list[Persona]) -> Iterator[bytes]:
    for p in personas:
        server = [("Server", wire(p.http.get("server", "")))] if p.http.get("server") else []
        title = wire(p.http.get("title", "Login"))
        yield replies.http_response(200, "OK", server, replies.html_page(title))
        realm = wire(p.http.get("realm", "camera"))
        yield replies.http_response(401, "Unauthorized", [*server, replies_digest(realm)])
        yield replies.http_response(200, "OK", server, replies.hik_device_info(p))
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    yield chunked


def replies_digest(realm: bytes) -> tuple[str, bytes]:
    return "WWW-Authenticate", replies.digest_challenge(realm, "abc123")


def rtsp_replies(personas: list[Persona]) -> Iterator[bytes]:
    for p in personas:
        server = [("Server", wire(p.rtsp["server"]))] if p.rtsp.get("server") else []
        head = [("CSeq", b"1"), *server, ("Public", b"OPTIONS, DESCRIBE, SETUP, PLAY")]
        yield replies.http_response(200, "OK", head, version=b"RTSP/1.0", length=-1)
        realm = wire(p.rtsp.get("realm", "camera"))
        yield replies.http_response(
            401, "Unauthorized", [("CSeq", b"2"), replies_digest(realm)], version=b"RTSP/1.0"
        )


def onvif_replies(personas: list[Persona]) -> Iterator[bytes]:
    from fuzz_onvif import CALLS

    for p in personas:
        if p.onvif.get("engine", "builtin") != "builtin":
            continue
        device = BuiltinOnvif(_open(p), HOST, 80)
        for index, name in enumerate(CALLS):
            request = f"<s:Envelope><s:Body><tds:{name}/></s:Body></s:Envelope>".encode()
            status, body = device.handle(request)
            head = [("Content-Type", b"application/soap+xml; charset=utf-8")]
            yield bytes([index]) + replies.http_response(status, "OK", head, body)


def seeds() -> dict[str, Iterable[bytes]]:
    personas = all_personas()
    caps = list(captures())
    uuid = b"6a7b1c2d-0000-4000-8000-000000000001"
    net = {"ip": HOST, "mask": "255.255.255.0", "gateway": "10.66.0.1", "http_port": 80}
    return {
        "pcap": [_cut_pcap(d) for n, d in caps if not n.endswith(".pcapng")]
        + [gzip.compress(_cut_pcap(caps[0][1]), mtime=0)],
        "pcapng": [_cut_pcapng(d) for n, d in caps if n.endswith(".pcapng")],
        "packet": [bytes([LINKTYPES.index(lt)]) + f for lt, f in frames()],
        "dns": list(_payloads(53)),
        "tls": [*_payloads(443), *_payloads(80), *_payloads(123)],
        "http": [b"\x40" + r for r in http_replies(personas)],
        "rtsp": [b"\x40" + r for r in rtsp_replies(personas)],
        "onvif": [r[:1] + b"\x40" + r[1:] for r in onvif_replies(personas)],
        "wsdiscovery": [
            replies.wsd_probe_match(
                style,
                relates_to=b"urn:uuid:" + uuid,
                endpoint="urn:uuid:" + uuid.decode(),
                scopes=replies.wsd_scopes(p),
                xaddrs=f"http://{HOST}/onvif/device_service",
            )
            for p in personas
            for style in ("strict", "loose")
        ],
        "sadp": [
            replies.sadp_probe_match(p, uuid, b"inquiry", sdk_port=8000, **net) for p in personas
        ],
        "dhip": [replies.dhip_reply(p, **net) for p in personas],
        "policy": [f.read_bytes() for f in sorted((ROOT / "profiles/policies").glob("*.toml"))],
        "profiles": list(profile_seeds()),
        "zeek": list(zeek_seeds()),
    }


def profile_seeds() -> Iterator[bytes]:
    from fuzz_profiles import NAMES

    for index, name in enumerate(NAMES):
        text = (ROOT / "profiles" / name).read_bytes()
        if len(text) > SEED_BYTES:  # cut before a table header, so it stays valid TOML
            text = text[: text.rfind(b"\n[", 0, SEED_BYTES) + 1]
        yield bytes([index]) + text


def zeek_seeds() -> Iterator[bytes]:
    head = b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
    conn = head + (
        b"#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto"
        b"\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_pkts\tresp_pkts\n"
        b"1700000000.000001\tC1\t10.66.0.20\t40000\t192.0.2.1\t443\ttcp\tssl\t0.5\t10\t20\tSF"
        b"\tShADadFf\t5\t4\n"
    )
    dns = head + (
        b"#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto"
        b"\tquery\tqtype_name\trcode_name\tanswers\n"
        b"1700000000.0\tC2\t10.66.0.20\t5353\t10.66.0.1\t53\tudp\tupdate.example\tA\tNOERROR"
        b"\t192.0.2.1\n"
    )
    json_conn = (
        b'{"ts":1700000000.5,"uid":"C3","id.orig_h":"10.66.0.20","id.orig_p":1,'
        b'"id.resp_h":"192.0.2.9","id.resp_p":80,"proto":"tcp","conn_state":"S0","history":"S"}\n'
    )
    yield b"\x00" + conn + b"\x00LOG\x00" + dns
    yield b"\x00" + json_conn
    yield b"\x01" + conn


def main() -> None:
    for target, items in seeds().items():
        directory = CORPUS / target
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        for data in items:
            if data:
                (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)  # noqa: S324
        print(f"{target}: {len(list(directory.iterdir()))} seeds")


if __name__ == "__main__":
    main()
