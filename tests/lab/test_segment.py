"""The netns segment: from the scanner, ARP, WS-Discovery, SADP and DHIP reach the devices."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.segment import SCANNER_V4, Segment
from tests.netns import need_root

pytestmark = pytest.mark.netns

PROBE = r"""
import json, socket, time
from scapy.all import ARP, Ether, conf, srp
from lab.devices import replies

conf.verb = 0
answered, _ = srp(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.66.0.0/24"), iface="eth0",
                  timeout=2)
arp = {r.psrc: r.hwsrc for _, r in answered}

def ask(payload, group, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("SCANNER", 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("SCANNER"))
    s.sendto(payload, (group, port))
    s.settimeout(0.2)
    seen, end = {}, time.monotonic() + 1.5
    while time.monotonic() < end:
        try:
            data, addr = s.recvfrom(65535)
        except TimeoutError:
            continue
        seen[addr[0]] = data.decode("utf-8", "replace")
    return seen

print(json.dumps({
    "arp": arp,
    "wsd": ask(replies.wsd_probe("urn:uuid:seg-test"), "239.255.255.250", 3702),
    "sadp": ask(replies.sadp_probe("seg-test"), "239.255.255.250", 37020),
    "dhip": ask(replies.dhip_search(), "239.255.255.251", 37810),
}))
""".replace("SCANNER", SCANNER_V4)


@pytest.fixture(scope="module")
def segment() -> Iterator[Segment]:
    need_root("the netns segment (ip netns, veth, bridge)", "ip")
    with Segment(["hik-ipc", "dahua-ipc", "hik-ipc-patched"]) as seg:
        yield seg


@pytest.fixture(scope="module")
def answers(segment: Segment) -> dict[str, dict[str, str]]:
    return json.loads(segment.python("scanner", PROBE, timeout=60))  # type: ignore[no-any-return]


def test_arp_sees_every_device_with_its_vendor_mac(
    segment: Segment, answers: dict[str, dict[str, str]]
) -> None:
    assert answers["arp"] == {
        segment.device_ip(n): segment.device_mac(n)
        for n in ("hik-ipc", "dahua-ipc", "hik-ipc-patched")
    }


def test_a_multicast_wsdiscovery_probe_is_answered_by_every_onvif_device(
    segment: Segment, answers: dict[str, dict[str, str]]
) -> None:
    wsd = answers["wsd"]
    assert set(wsd) == {segment.device_ip(n) for n in ("hik-ipc", "dahua-ipc", "hik-ipc-patched")}
    loose = wsd[segment.device_ip("hik-ipc-patched")]
    assert "<XAddrs>  http://10.66.0.23:80/onvif/device_service  </XAddrs>" in loose


def test_a_sadp_inquiry_is_answered_by_the_hikvision_devices_only(
    segment: Segment, answers: dict[str, dict[str, str]]
) -> None:
    sadp = answers["sadp"]
    assert set(sadp) == {segment.device_ip("hik-ipc"), segment.device_ip("hik-ipc-patched")}
    assert "<IPv4Address>10.66.0.21</IPv4Address>" in sadp[segment.device_ip("hik-ipc")]


def test_a_dhip_search_is_answered_by_the_dahua_device_only(
    segment: Segment, answers: dict[str, dict[str, str]]
) -> None:
    assert set(answers["dhip"]) == {segment.device_ip("dahua-ipc")}
    assert '"IPAddress":"10.66.0.22"' in answers["dhip"][segment.device_ip("dahua-ipc")]


def test_every_namespace_has_its_own_resolv_conf(segment: Segment) -> None:
    for role in ("switch", "scanner", "hik-ipc"):
        name = segment.ns(role)
        resolv = Path(f"/etc/netns/{name}/resolv.conf")
        assert resolv.read_text() == "nameserver 127.0.0.1\n"


def test_a_crowd_fills_the_segment_and_goes_away() -> None:
    if os.geteuid() != 0:
        pytest.skip("the netns segment needs root")
    with Segment.crowd(12) as seg:
        names = list(seg.devices)
        assert len(names) == 12 and seg.device_ip(names[-1]) == "10.66.0.32"
        assert len({seg.device_mac(n) for n in names}) == 12
        reply = seg.run("scanner", ["ping", "-c", "1", "-W", "2", seg.device_ip(names[-1])])
        assert "1 received" in reply
        made = [seg.ns(n) for n in names]
    listed = os.popen("ip netns list").read()
    assert not any(name in listed for name in made)
