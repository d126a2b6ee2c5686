"""Discovery without --interface, and the scanner's own address, in a netns segment (root).

The scanner namespace has one veth (eth0) into the segment 10.66.0.0/24 and no default
route. `camaudit discover` runs there as a user would, with no --interface: the route to
the target picks eth0 for ARP, a target behind a gateway is not swept with ARP (and says
why), and the scanner's own address 10.66.0.10 (which nmap reports as up) is left out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.netns import need_root

pytestmark = pytest.mark.netns

BEHIND_GATEWAY = "10.67.0.0/24"  # a lab range, only ever routed inside the segment
SECOND_LINK = "10.77.0.0/24"  # a veth pair inside the scanner namespace: no other host on it


def _attempt(report: dict[str, Any], method: str) -> dict[str, Any]:
    return next(a for a in report["inventory"]["attempts"] if a["method"] == method)


@pytest.fixture(scope="module")
def segment() -> Iterator[Any]:
    need_root("the netns segment", "ip", "nmap")
    from lab.segment import Segment

    with Segment(["printer"]) as seg:
        # a network reached through a device on the segment: the route exists, ARP is pointless
        seg.ip("scanner", "route", "add", BEHIND_GATEWAY, "via", seg.device_ip("printer"))
        seg.ip("scanner", "link", "add", "v77a", "type", "veth", "peer", "name", "v77b")
        seg.ip("scanner", "addr", "add", "10.77.0.1/24", "dev", "v77a")
        seg.ip("scanner", "link", "set", "v77a", "up")
        seg.ip("scanner", "link", "set", "v77b", "up")
        yield seg


STDERR: dict[str, str] = {}  # target -> what the CLI printed on stderr


def _discover(seg: Any, target: str, methods: str, *more: str) -> dict[str, Any]:
    done = subprocess.run(
        seg.exec_argv(
            "scanner",
            [
                sys.executable,
                "-m",
                "camaudit",
                "discover",
                "--target",
                target,
                *more,
                "--methods",
                methods,
                "--ports",
                "80",
                "--timeout",
                "2",
                "--no-fingerprint",
                "--format",
                "json",
            ],
        ),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    STDERR[target] = done.stderr
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def on_link(segment: Any) -> dict[str, Any]:
    return _discover(segment, "10.66.0.0/24", "arp,nmap")


def test_arp_without_interface_sweeps_on_the_interface_that_routes_to_the_target(
    segment: Any, on_link: dict[str, Any]
) -> None:
    printer = next(d for d in on_link["inventory"]["devices"] if d["ip"] == "10.66.0.21")
    assert "arp" in printer["found_by"]
    assert printer["mac"] == segment.device_mac("printer")
    arp = _attempt(on_link, "arp")
    assert arp["status"] == "completed"
    assert "eth0" in arp["error"] and "directly connected" in arp["error"]


def test_the_report_and_the_console_name_the_interface_the_route_picked(
    on_link: dict[str, Any],
) -> None:
    assert on_link["inventory"]["target"]["interface"] == "eth0"
    assert (
        "camaudit: no --interface given: eth0 chosen by the route to 10.66.0.0/24 "
        "(directly connected)" in STDERR["10.66.0.0/24"]
    )


def test_arp_is_not_run_for_a_target_behind_a_gateway_and_says_why(segment: Any) -> None:
    report = _discover(segment, BEHIND_GATEWAY, "arp")
    arp = _attempt(report, "arp")
    assert arp["status"] == "not_scheduled"
    assert "gateway 10.66.0.21" in arp["error"] and "not on this link" in arp["error"]
    assert report["inventory"]["target"]["interface"] is None
    assert report["inventory"]["devices"] == []


@pytest.fixture(scope="module")
def two_links(segment: Any) -> dict[str, Any]:
    # two targets on two interfaces: no single interface fits, so nmap runs without -e and
    # (as in the issue) reports the scanner's own addresses as up hosts
    return _discover(segment, "10.66.0.0/24", "nmap", "--target", SECOND_LINK)


def test_the_scanner_is_left_out_of_its_own_inventory_and_the_report_says_so(
    two_links: dict[str, Any],
) -> None:
    ips = [d["ip"] for d in two_links["inventory"]["devices"]]
    assert ips == ["10.66.0.21"]
    nmap = _attempt(two_links, "nmap")
    assert nmap["error"] == "left out 10.66.0.10, 10.77.0.1: this scanner's own address"


def test_targets_on_two_interfaces_get_no_guessed_interface(two_links: dict[str, Any]) -> None:
    assert two_links["inventory"]["target"]["interface"] is None


ARP_AND_OWN = """
import json, sys
from camaudit.discover.arp import ArpSweep
from camaudit.discover.interface import Target
from camaudit.discover.local import own_addresses
attempt = ArpSweep().run(Target(networks=("10.66.0.0/24",), interface="eth0", timeout=1.0))
print(json.dumps({
    "status": attempt.status,
    "seen": sorted([s.ip, s.mac] for s in attempt.sightings),
    "own": sorted(own_addresses()),
    "scapy": sorted(m for m in sys.modules if m.split(".")[0] == "scapy"),
}))
"""


def test_the_arp_sweep_and_the_scanners_own_addresses_are_read_without_scapy(
    segment: Any,
) -> None:
    # scapy cost a second to import and, on a loaded machine, doubled the sweep's time
    got = json.loads(segment.python("scanner", ARP_AND_OWN).strip().splitlines()[-1])
    assert got["status"] == "completed"
    assert got["seen"] == [[segment.device_ip("printer"), segment.device_mac("printer")]]
    assert got["own"] == ["10.66.0.10", "10.77.0.1", "127.0.0.1"]
    assert got["scapy"] == []
