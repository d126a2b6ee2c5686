"""The service scan: the real nmap, always -n, bounded per host and per run."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pytest

from camaudit.discover import MethodAttempt, Sighting, Target
from camaudit.discover.nmapscan import (
    CHUNK_HOSTS,
    NmapServiceScan,
    nmap_arguments,
    parse_nmap_xml,
    version_chunks,
)
from tests.conftest import need_tool

Handler = Callable[[socket.socket], None]


@pytest.fixture
def tcp_listener() -> Iterator[Callable[[Handler], int]]:
    """A TCP server on 127.0.0.1 running ``handler`` per connection; returns its port."""
    servers: list[socket.socket] = []
    stop = threading.Event()

    def start(handler: Handler) -> int:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.settimeout(0.2)
        servers.append(server)

        def serve() -> None:
            while not stop.is_set():
                try:
                    connection, _ = server.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                threading.Thread(target=guarded, args=(connection,), daemon=True).start()

        def guarded(connection: socket.socket) -> None:
            with connection, contextlib.suppress(OSError):
                handler(connection)

        threading.Thread(target=serve, daemon=True).start()
        return int(server.getsockname()[1])

    yield start
    stop.set()
    for server in servers:
        server.close()


def ssh_banner(connection: socket.socket) -> None:
    connection.sendall(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n")
    connection.settimeout(5)
    connection.recv(1024)


def trickle(connection: socket.socket) -> None:
    for _ in range(600):  # one byte every half second, never a complete banner
        connection.sendall(b"A")
        time.sleep(0.5)


@dataclass(frozen=True)
class LocalScan:
    port: int  # the one port scanned, served on 127.0.0.1
    attempt: MethodAttempt
    seconds: float  # how long the scan took


@pytest.fixture
def scan_local(tcp_listener: Callable[[Handler], int]) -> Callable[..., LocalScan]:
    """The real nmap's service scan of one port on 127.0.0.1 that ``handler`` serves."""
    need_tool("nmap")

    def scan(
        handler: Handler, host_timeout: float, timeout: float = 2.0, budget: float = 60
    ) -> LocalScan:
        port = tcp_listener(handler)
        target = Target(networks=("127.0.0.1/32",), ports=(port,), timeout=timeout, budget=budget)
        started = time.monotonic()
        attempt = NmapServiceScan(host_timeout=host_timeout).run(target)
        return LocalScan(port, attempt, time.monotonic() - started)

    return scan


@pytest.mark.parametrize("intensity", [None, 2])
def test_nmap_always_runs_without_reverse_dns_and_with_a_host_timeout(
    intensity: int | None,
) -> None:
    arguments = nmap_arguments(30, "eth0", intensity)
    assert "-n" in arguments
    assert arguments[arguments.index("--host-timeout") + 1] == "30s"
    assert arguments[arguments.index("-e") + 1] == "eth0"
    assert ("-sV" in arguments) == (intensity is not None)


def test_a_local_service_is_named_with_product_and_version(
    scan_local: Callable[..., LocalScan],
) -> None:
    scan = scan_local(ssh_banner, host_timeout=30)
    assert scan.attempt.status == "completed", scan.attempt.error
    (sighting,) = scan.attempt.sightings
    assert sighting.ip == "127.0.0.1"
    service = sighting.fact("service") or ""
    assert service.startswith(f"{scan.port}/tcp ssh OpenSSH 8.9p1")
    assert scan.attempt.timed_out_hosts == ()


def test_a_trickling_device_keeps_its_open_port_from_the_port_scan(
    scan_local: Callable[..., LocalScan],
) -> None:
    scan = scan_local(trickle, host_timeout=4)
    (sighting,) = scan.attempt.sightings
    assert (sighting.fact("service") or "").startswith(f"{scan.port}/tcp ")
    assert scan.attempt.timed_out_hosts == ("127.0.0.1",)


def test_a_trickling_device_ends_at_the_host_timeout_and_is_reported_timed_out(
    scan_local: Callable[..., LocalScan],
) -> None:
    scan = scan_local(trickle, host_timeout=4)
    assert scan.seconds < 20
    assert scan.attempt.status == "completed", scan.attempt.error
    assert scan.attempt.timed_out_hosts == ("127.0.0.1",)


def test_a_run_past_the_budget_is_stopped_and_timed_out(
    scan_local: Callable[..., LocalScan],
) -> None:
    scan = scan_local(trickle, host_timeout=120, timeout=1.0, budget=1.0)
    assert scan.seconds < 15
    # the host timeout is clamped to the budget, so nmap gives up on the host by itself
    assert scan.attempt.status in ("completed", "timed_out")
    assert scan.attempt.status == "timed_out" or scan.attempt.timed_out_hosts == ("127.0.0.1",)


def test_a_missing_nmap_is_an_error_attempt() -> None:
    target = Target(networks=("127.0.0.1/32",), timeout=1.0)
    attempt = NmapServiceScan(nmap_path="/nonexistent/nmap").run(target)
    assert attempt.status == "error"
    assert "nmap is not installed" in (attempt.error or "")


NMAP_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -n -sV">
<host><status state="up" reason="arp-response"/>
<address addr="10.66.0.21" addrtype="ipv4"/><address addr="44:19:B6:3A:21:01" addrtype="mac"/>
<ports>
<port protocol="tcp" portid="80"><state state="open"/>
<service name="http" product="Hikvision-Webs\\x1b[2J&#x9b;" version="1.0"/></port>
<port protocol="tcp" portid="443"><state state="closed"/><service name="https"/></port>
<port protocol="tcp" portid="8443"><state state="open"/><service name="http" tunnel="ssl"/></port>
</ports></host>
<host><status state="down"/><address addr="10.66.0.30" addrtype="ipv4"/></host>
<host timedout="true"><status state="up"/><address addr="10.66.0.29" addrtype="ipv4"/></host>
</nmaprun>"""


def test_nmap_xml_gives_open_ports_mac_and_timed_out_hosts_sanitised() -> None:
    sightings, timed_out = parse_nmap_xml(NMAP_XML)
    (sighting,) = sightings
    assert (sighting.ip, sighting.mac) == ("10.66.0.21", "44:19:b6:3a:21:01")
    assert [v for k, v in sighting.facts if k == "service"] == [
        "80/tcp http Hikvision-Webs\\x1b[2J\\x9b 1.0",
        "8443/tcp ssl/http",
    ]
    assert timed_out == ["10.66.0.29"]


def test_version_detection_skips_the_ports_camaudits_probes_ask(
    tcp_listener: Callable[[Handler], int],
) -> None:
    need_tool("nmap")
    asked, probed = tcp_listener(ssh_banner), tcp_listener(ssh_banner)
    handed_on: list[Sighting] = []

    def covered(hosts: Sequence[str]) -> dict[str, frozenset[int]]:
        return {host: frozenset({probed}) for host in hosts}

    scan = NmapServiceScan(host_timeout=30, covered=covered)
    scan.sighted = handed_on.extend
    target = Target(networks=("127.0.0.1/32",), ports=(asked, probed), timeout=2.0, budget=60)
    attempt = scan.run(target)
    assert attempt.status == "completed", attempt.error
    (port_scan, version_scan) = [c.split() for c in attempt.commands]
    assert "-sV" not in port_scan and "-sV" in version_scan
    assert version_scan[version_scan.index("-p") + 1] == str(asked)
    (sighting,) = attempt.sightings
    services = {int(v.split("/")[0]): v for k, v in sighting.facts if k == "service"}
    assert services[asked].startswith(f"{asked}/tcp ssh OpenSSH 8.9p1")
    assert not services[probed].startswith(f"{probed}/tcp ssh OpenSSH")  # never version-scanned
    # the port scan was handed on as it ended, before version detection named the service
    (early,) = handed_on
    assert early.ip == "127.0.0.1"
    assert f"{asked}/tcp unknown" in [v for k, v in early.facts if k == "service"]


def test_a_host_whose_open_ports_are_all_covered_is_not_version_scanned() -> None:
    found = [
        Sighting("nmap", f"10.66.0.{i}", None, (("service", "80/tcp http?"),)) for i in range(3)
    ]
    found.append(Sighting("nmap", "10.66.0.9", None, (("service", "8000/tcp irdmi?"),)))
    assert version_chunks(found, lambda hosts: {h: frozenset({80}) for h in hosts}) == [
        (("10.66.0.9",), "8000")
    ]


def test_version_detection_runs_in_chunks_of_hosts_asking_the_same_ports() -> None:
    many = [
        Sighting("nmap", f"10.66.0.{i}", None, (("service", "80/tcp http?"),))
        for i in range(CHUNK_HOSTS + 2)
    ]
    chunks = version_chunks(many, None)
    assert [len(hosts) for hosts, _ in chunks] == [CHUNK_HOSTS, 2]
    assert {ports for _, ports in chunks} == {"80"}


def _open(ip: str, *ports: int) -> Sighting:
    return Sighting("nmap", ip, None, tuple(("service", f"{p}/tcp unknown") for p in ports))


def test_hosts_left_with_other_ports_share_a_version_run_if_none_is_asked_a_covered_one() -> None:
    # a Hikvision host left with 8000 and a Dahua host left with 37777 (80 and 554 covered):
    # one nmap asks both ports of both, since neither has the other's port open
    found = [_open("10.66.0.21", 80, 554, 37777), _open("10.66.0.27", 80, 554, 8000)]
    found.append(_open("10.66.0.22", 80, 37777))
    assert version_chunks(found, lambda hosts: {h: frozenset({80, 554}) for h in hosts}) == [
        (("10.66.0.21", "10.66.0.27", "10.66.0.22"), "8000,37777")
    ]


def test_a_version_run_never_asks_a_host_a_port_its_probes_cover() -> None:
    # 8080 is covered on .31 (it announced ONVIF there) but left to nmap on .32: a run
    # asking 8080 must not include .31, whose 8080 is open
    found = [_open("10.66.0.31", 8000, 8080), _open("10.66.0.32", 8080)]
    covered = {"10.66.0.31": frozenset({8080}), "10.66.0.32": frozenset()}
    chunks = version_chunks(found, lambda hosts: {h: covered[h] for h in hosts})
    assert sorted(chunks) == [(("10.66.0.31",), "8000"), (("10.66.0.32",), "8080")]
    for hosts, ports in chunks:
        for host in hosts:
            assert not covered[host] & {int(p) for p in ports.split(",")}
