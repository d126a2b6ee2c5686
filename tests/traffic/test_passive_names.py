"""Passive host facts: what hosts say about themselves in DHCP, mDNS and SSDP.

Frames are crafted here only for byte-level corner cases (hostile and malformed input);
the lab capture pcaps/passive-names is the real evidence (tests/replay).
"""

from __future__ import annotations

import random
import re
import struct
from pathlib import Path

import dns.flags
import dns.message
import dns.rrset
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from camaudit.model import PassiveHost, TrafficSummary
from camaudit.traffic import passive
from camaudit.traffic.engine import analyse
from tests.captures import CAM, CAM_MAC, eth, udp, write_pcap

FASTPASS_C = Path(__file__).resolve().parents[2] / "camaudit" / "traffic" / "_fastpass.c"


def dhcp_frame(
    kind: str = "discover",
    mac: str = CAM_MAC,
    host_name: bytes = b"cam-yard",
    vendor_class: bytes = b"hikvision-ipc",
) -> bytes:
    options = [
        ("message-type", kind),
        ("hostname", host_name),
        ("vendor_class_id", vendor_class),
        ("param_req_list", [1, 3, 6, 15, 28, 42]),
        ("requested_addr", CAM),
        "end",
    ]
    chaddr = bytes.fromhex(mac.replace(":", "")) + b"\0" * 10
    return bytes(
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(op=1, chaddr=chaddr, xid=0x6666)
        / DHCP(options=options)
    )


def mdns_announcement(instance: str = "yard", model: str = "DS-2CD2143G0-I") -> bytes:
    msg = dns.message.Message(id=0)
    msg.flags = dns.flags.QR | dns.flags.AA
    service = "_http._tcp.local."
    msg.answer.append(dns.rrset.from_text(service, 120, "IN", "PTR", f"{instance}.{service}"))
    msg.answer.append(
        dns.rrset.from_text(f"{instance}.{service}", 120, "IN", "SRV", "0 0 80 cam-yard.local.")
    )
    msg.answer.append(
        dns.rrset.from_text(f"{instance}.{service}", 120, "IN", "TXT", f'"model={model}" "x=1"')
    )
    msg.additional.append(dns.rrset.from_text("cam-yard.local.", 120, "IN", "A", CAM))
    wire = bytearray(msg.to_wire())
    # mDNS sets the cache-flush bit in the class of unique records (RFC 6762 10.2)
    for match in re.finditer(rb"\x00(\x21|\x01)\x00\x01\x00\x00\x00\x78", bytes(wire)):
        wire[match.start() + 2] |= 0x80
    return eth(udp(CAM, "224.0.0.251", 5353, 5353, bytes(wire)), dst="01:00:5e:00:00:fb")


SSDP_NOTIFY = (
    b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
    b"LOCATION: http://10.66.0.21:80/upnp/device.xml\r\nNT: upnp:rootdevice\r\n"
    b"NTS: ssdp:alive\r\nSERVER: Linux/3.0, UPnP/1.0, DNVRS-Webs\r\n"
    b"USN: uuid:6a6d0a1e-6600-4000-8000-000000000021::upnp:rootdevice\r\n\r\n"
)


def ssdp_frame(payload: bytes = SSDP_NOTIFY, sport: int = 1900, dport: int = 1900) -> bytes:
    return eth(udp(CAM, "239.255.255.250", sport, dport, payload), dst="01:00:5e:7f:ff:fa")


def summary_of(tmp_path: Path, frames: list[bytes], jobs: int = 1) -> TrafficSummary:
    path = write_pcap(tmp_path / "passive.pcap", [(1.0 + i, f) for i, f in enumerate(frames)])
    return analyse([path], jobs=jobs)


def facts(host: PassiveHost) -> dict[tuple[str, str], str]:
    return {(f.protocol, f.key): f.value for f in host.facts}


def test_dhcp_discover_names_its_client_by_hardware_address(tmp_path: Path) -> None:
    summary = summary_of(tmp_path, [dhcp_frame()])
    (host,) = summary.passive
    assert host.mac == CAM_MAC
    assert host.ip is None  # a DISCOVER comes from 0.0.0.0: no address yet
    seen = facts(host)
    assert seen[("dhcp", "host_name")] == "cam-yard"
    assert seen[("dhcp", "vendor_class")] == "hikvision-ipc"
    assert seen[("dhcp", "parameter_list")] == "1,3,6,15,28,42"
    assert seen[("dhcp", "requested_address")] == CAM
    assert seen[("dhcp", "message")] == "DISCOVER"
    assert host.facts[0].first.frame == 1


def test_repeated_dhcp_names_are_one_fact_with_a_count_and_the_first_frame(
    tmp_path: Path,
) -> None:
    summary = summary_of(tmp_path, [dhcp_frame(), dhcp_frame("request"), dhcp_frame("request")])
    (host,) = summary.passive
    name = next(f for f in host.facts if f.key == "host_name")
    assert (name.count, name.first.frame) == (3, 1)
    assert ("dhcp", "message") in facts(host)


def test_dhcp_server_offer_names_no_client(tmp_path: Path) -> None:
    offer = bytes(
        Ether(src="02:00:00:00:00:01")
        / IP(src="10.66.0.1", dst="255.255.255.255")
        / UDP(sport=67, dport=68)
        / BOOTP(op=2, yiaddr=CAM)
        / DHCP(options=[("message-type", "offer"), ("hostname", b"server-side"), "end"])
    )
    summary = summary_of(tmp_path, [offer])
    assert summary.passive == ()
    assert not [p for p in summary.problems if p.code.startswith("passive")]


def test_mdns_announcement_gives_instance_service_host_and_txt_model(tmp_path: Path) -> None:
    summary = summary_of(tmp_path, [mdns_announcement()])
    (host,) = summary.passive
    assert (host.mac, host.ip) == (CAM_MAC, CAM)
    values = {(f.key, f.value) for f in host.facts}
    assert {
        ("service", "_http._tcp.local"),
        ("instance", "yard"),
        ("host", "cam-yard.local"),
        ("txt:model", "DS-2CD2143G0-I"),
    } <= values
    assert not any(key == "txt:x" for key, _ in values)  # only keys that name a make or model


def test_mdns_nsec_with_a_compressed_name_as_apple_sends_it_still_decodes(
    tmp_path: Path,
) -> None:
    # RFC 6762 18.14: mDNS compresses NSEC's next name, which plain DNS forbids (a real
    # Mac's announcement in the Zeek samples carries one); the other records must still read.
    frame = bytearray(mdns_announcement())
    dns_at = 14 + 20 + 8
    pointer = b"\xc0\x0c"  # the first name of the message
    bitmap = b"\x00\x04\x40\x00\x00\x08"  # window 0: A, AAAA
    nsec = pointer + struct.pack("!HHIH", 47, 0x8001, 120, 2 + len(bitmap)) + pointer + bitmap
    arcount = struct.unpack_from("!H", frame, dns_at + 10)[0]
    struct.pack_into("!H", frame, dns_at + 10, arcount + 1)
    frame += nsec
    struct.pack_into("!H", frame, 14 + 2, len(frame) - 14)  # IP total length
    struct.pack_into("!H", frame, 14 + 10, 0)  # IP checksum: not checked by readers
    struct.pack_into("!H", frame, 14 + 20 + 4, len(frame) - 14 - 20)  # UDP length
    struct.pack_into("!H", frame, 14 + 20 + 6, 0)  # no UDP checksum
    summary = summary_of(tmp_path, [bytes(frame)])
    (host,) = summary.passive
    assert ("mdns", "host") in facts(host) and ("mdns", "txt:model") in facts(host)
    assert not [p for p in summary.problems if p.code.startswith("passive")]


def test_mdns_query_names_nothing(tmp_path: Path) -> None:
    query = dns.message.make_query("_http._tcp.local.", "PTR")
    frame = eth(udp(CAM, "224.0.0.251", 5353, 5353, query.to_wire()))
    assert summary_of(tmp_path, [frame]).passive == ()


def test_ssdp_notify_gives_server_usn_location_and_type(tmp_path: Path) -> None:
    (host,) = summary_of(tmp_path, [ssdp_frame()]).passive
    assert facts(host) == {
        ("ssdp", "server"): "Linux/3.0, UPnP/1.0, DNVRS-Webs",
        ("ssdp", "usn"): "uuid:6a6d0a1e-6600-4000-8000-000000000021::upnp:rootdevice",
        ("ssdp", "location"): "http://10.66.0.21:80/upnp/device.xml",
        ("ssdp", "type"): "upnp:rootdevice",
    }


def test_ssdp_msearch_reply_names_the_replying_device(tmp_path: Path) -> None:
    reply = (
        b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n"
        b"SERVER: Linux/3.0, UPnP/1.0, Dahua\r\nLOCATION: http://10.66.0.22/d.xml\r\n\r\n"
    )
    frame = eth(udp("10.66.0.22", "10.66.0.10", 1900, 41900, reply), src="02:66:00:00:00:22")
    (host,) = summary_of(tmp_path, [frame]).passive
    assert host.ip == "10.66.0.22"
    assert facts(host)[("ssdp", "server")] == "Linux/3.0, UPnP/1.0, Dahua"


def test_ssdp_msearch_request_names_nothing(tmp_path: Path) -> None:
    search = b'M-SEARCH * HTTP/1.1\r\nMAN: "ssdp:discover"\r\nST: ssdp:all\r\n\r\n'
    summary = summary_of(tmp_path, [ssdp_frame(search, 41900, 1900)])
    assert summary.passive == ()


def test_hostile_names_are_sanitised_and_bounded(tmp_path: Path) -> None:
    evil = b"\x1b[2J\x1b]0;pwned\x07<script>" + b"A" * 5000
    notify = SSDP_NOTIFY.replace(b"DNVRS-Webs", evil[:900])
    frames = [dhcp_frame(host_name=evil[:200], vendor_class=b"\xff\xfe\x00bad"), ssdp_frame(notify)]
    (host,) = summary_of(tmp_path, frames).passive
    for fact in host.facts:
        assert "\x1b" not in fact.value and "\x07" not in fact.value and "\x00" not in fact.value
        assert len(fact.value) <= 256
    assert facts(host)[("dhcp", "vendor_class")] == "\\xff\\xfe\\x00bad"


def test_garbage_on_passive_ports_is_a_problem_never_a_crash(tmp_path: Path) -> None:
    rng = random.Random(6)
    frames = []
    for port in (67, 5353, 1900):
        for size in (0, 1, 11, 12, 13, 240, 300, 600):
            payload = bytes(rng.randrange(256) for _ in range(size))
            frames.append(eth(udp(CAM, "10.66.0.255", port, port, payload)))
    # cut a real announcement and DHCP message at every length
    whole_mdns = bytes(UDP(mdns_announcement()[34:]).payload)
    frames += [eth(udp(CAM, "224.0.0.251", 5353, 5353, whole_mdns[:n])) for n in range(12, 200)]
    whole_dhcp = dhcp_frame()[42:]
    frames += [eth(udp("0.0.0.0", "255.255.255.255", 68, 67, whole_dhcp[:n])) for n in (240, 250)]
    # a real DHCP header and magic cookie, then random options
    for _ in range(200):
        options = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80)))
        frames.append(eth(udp("0.0.0.0", "255.255.255.255", 68, 67, whole_dhcp[:240] + options)))
    summary = summary_of(tmp_path, frames)
    codes = {p.code for p in summary.problems}
    assert "passive_undecodable" in codes
    assert summary.packets == len(frames)


def test_a_flood_of_names_is_bounded_and_said(tmp_path: Path) -> None:
    frames = [
        dhcp_frame(host_name=f"name-{i}".encode(), vendor_class=f"class-{i}".encode())
        for i in range(passive.MAX_FACTS_PER_HOST)
    ]
    (host,) = summary_of(tmp_path, frames).passive
    assert len(host.facts) == passive.MAX_FACTS_PER_HOST
    problems = summary_of(tmp_path, frames).problems
    assert any(p.code == "passive_bounded" for p in problems)


def test_passive_names_are_the_same_read_by_several_jobs(tmp_path: Path) -> None:
    from camaudit.traffic import parallel
    from camaudit.traffic.capfile import CaptureFile

    frames = [dhcp_frame(), mdns_announcement(), ssdp_frame(), dhcp_frame("request")] * 3
    path = write_pcap(tmp_path / "p.pcap", [(1.0 + i, f) for i, f in enumerate(frames)])
    one = analyse([path])
    capture = CaptureFile(path)
    cuts = [24 + sum(16 + len(f) for f in frames[:n]) for n in (2, 5, 9)]
    plan = parallel.plan([capture], 4, cuts={path: cuts})
    capture.close()
    assert plan is not None
    many = parallel.run(plan, [], 4, inline=True)
    assert many.passive == one.passive


def test_the_compiled_pass_hands_over_every_passive_port() -> None:
    text = FASTPASS_C.read_text()
    body = text[text.index("static int is_passive_port") :].split("}", 1)[0]
    assert {int(n) for n in re.findall(r"port == (\d+)", body)} == set(passive.PASSIVE_PORTS)
