"""Merging sightings: one device per IP, MACs filled in, conflicts kept visible."""

from __future__ import annotations

from camaudit.attempt import AttemptStatus
from camaudit.discover import MethodAttempt, Sighting
from camaudit.discover.inventory import mac_conflicts, merge

HIK_MAC = "44:19:b6:3a:21:01"  # a Hikvision block in profiles/oui.toml
DAHUA_MAC = "3c:ef:8c:3a:24:04"


def attempt(method: str, *sightings: Sighting, timed_out: tuple[str, ...] = ()) -> MethodAttempt:
    return MethodAttempt(method, AttemptStatus.COMPLETED, sightings, timed_out_hosts=timed_out)


def seen(method: str, ip: str | None, mac: str | None = None, *facts: tuple[str, str]) -> Sighting:
    return Sighting(method=method, ip=ip, mac=mac, facts=facts)


def test_a_sighting_with_only_an_ip_joins_the_device_with_that_ip_and_gets_its_mac() -> None:
    (device,) = merge(
        [
            attempt("wsdiscovery", seen("wsdiscovery", "10.66.0.21", None, ("model", "DS-2CD"))),
            attempt("arp", seen("arp", "10.66.0.21", HIK_MAC)),
        ]
    )
    assert (device.ip, device.mac) == ("10.66.0.21", HIK_MAC)
    assert device.methods == ("arp", "wsdiscovery")
    assert [s.method for s in device.sightings] == ["arp", "wsdiscovery"]


def test_the_oui_vendor_comes_from_the_profiles() -> None:
    (hik, dahua) = merge(
        [attempt("arp", seen("arp", "10.66.0.21", HIK_MAC), seen("arp", "10.66.0.22", DAHUA_MAC))]
    )
    assert hik.oui_vendor == "hikvision"
    assert dahua.oui_vendor == "dahua"
    assert hik.oui_organisation


def test_conflicting_macs_for_one_ip_are_kept_not_hidden() -> None:
    (device,) = merge(
        [
            attempt(
                "arp", seen("arp", "10.66.0.21", HIK_MAC), seen("arp", "10.66.0.21", DAHUA_MAC)
            ),
            attempt("sadp", seen("sadp", "10.66.0.21", HIK_MAC)),
        ]
    )
    assert device.mac == HIK_MAC
    assert mac_conflicts(device) == tuple(sorted((HIK_MAC, DAHUA_MAC)))
    assert {s.mac for s in device.sightings} == {HIK_MAC, DAHUA_MAC}


def test_open_ports_come_from_the_service_scan_in_port_order() -> None:
    (device,) = merge(
        [
            attempt(
                "nmap",
                seen(
                    "nmap",
                    "10.66.0.21",
                    HIK_MAC,
                    ("service", "8000/tcp irdmi"),
                    ("service", "554/tcp rtsp Hikvision 1.0"),
                    ("service", "80/tcp http Hikvision-Webs"),
                ),
            )
        ]
    )
    assert device.open_ports == ("80/tcp http", "554/tcp rtsp", "8000/tcp irdmi")


def test_a_host_the_scan_gave_up_on_is_reported_timed_out_not_dropped() -> None:
    devices = merge([attempt("nmap", seen("nmap", "10.66.0.21"), timed_out=("10.66.0.29",))])
    assert [(d.ip, d.timed_out) for d in devices] == [("10.66.0.21", False), ("10.66.0.29", True)]
    assert devices[1].methods == ("nmap",)
    assert devices[1].sightings == ()


def test_devices_are_ordered_by_address_and_ip_less_sightings_key_by_mac() -> None:
    devices = merge(
        [
            attempt(
                "arp",
                seen("arp", "10.66.0.100", HIK_MAC),
                seen("arp", "10.66.0.9", DAHUA_MAC),
            ),
            attempt("sadp", seen("sadp", None, "44:19:b6:00:00:01")),
        ]
    )
    assert [d.ip for d in devices] == ["10.66.0.9", "10.66.0.100", None]
    assert devices[2].mac == "44:19:b6:00:00:01"


def test_nothing_seen_is_an_empty_inventory() -> None:
    assert merge([attempt("arp"), MethodAttempt("sadp", AttemptStatus.ERROR, error="boom")]) == ()


def test_the_scanners_own_address_is_left_out_of_a_swept_network_but_kept_when_named() -> None:
    import ipaddress

    from camaudit.discover.inventory import leave_out_scanner

    seen = MethodAttempt(
        "nmap",
        "completed",
        (Sighting("nmap", "10.66.0.10", None), Sighting("nmap", "10.66.0.21", None)),
    )
    swept = leave_out_scanner([seen], [ipaddress.IPv4Network("10.66.0.0/24")], {"10.66.0.10"})
    assert [s.ip for s in swept[0].sightings] == ["10.66.0.21"]
    assert swept[0].error == "left out 10.66.0.10: this scanner's own address"
    named = leave_out_scanner([seen], [ipaddress.IPv4Network("10.66.0.10/32")], {"10.66.0.10"})
    assert named == (seen,)
