"""Merge every method's sightings into one :class:`InventoryDevice` per device.

Devices are keyed by IP address: a sighting with only an IP joins the device with that
IP, and the MAC that ARP, SADP, DHIP or nmap saw fills it in. When sightings disagree
on the MAC of one IP, the device keeps the MAC of the most trusted method (ARP first)
and every sighting keeps its own, so :func:`mac_conflicts` shows the disagreement. A
sighting without an IP is its own device, keyed by its MAC. Hosts a method gave up on
(``timed_out_hosts``) are devices too, marked ``timed_out``.

The scanning host is not a device of the segment: :func:`leave_out_scanner` drops its own
addresses from what the methods saw while sweeping a network, and notes it on each of them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Sequence, Set

from camaudit.discover.interface import InventoryDevice, MethodAttempt, Sighting
from camaudit.knowledge import Knowledge, given_or_default
from camaudit.knowledge.profiles import Profiles

#: Order in which methods are listed and trusted for a device's MAC.
METHOD_ORDER = ("arp", "sadp", "dhip", "nmap", "wsdiscovery")


def _method_rank(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)


def _ip_key(ip: str) -> tuple[int, int]:
    try:
        return (0, int(ipaddress.ip_address(ip)))
    except ValueError:
        return (1, 0)


def mac_conflicts(device: InventoryDevice) -> tuple[str, ...]:
    """Every MAC the device's sightings report, when there is more than one."""
    macs = sorted({s.mac for s in device.sightings if s.mac})
    return tuple(macs) if len(macs) > 1 else ()


def open_ports(sightings: Iterable[Sighting]) -> tuple[str, ...]:
    """``"554/tcp rtsp"`` for every ``service`` fact, in port order, once each."""
    ports: dict[str, tuple[int, str]] = {}
    for sighting in sightings:
        for key, value in sighting.facts:
            if key != "service":
                continue
            words = value.split()
            if len(words) < 2:
                continue
            short = f"{words[0]} {words[1]}"
            number = words[0].partition("/")[0]
            ports.setdefault(short, (int(number) if number.isdigit() else 65536, short))
    return tuple(short for _, short in sorted(ports.values()))


def leave_out_scanner(
    attempts: Sequence[MethodAttempt],
    networks: Sequence[ipaddress.IPv4Network],
    own: Set[str],
) -> tuple[MethodAttempt, ...]:
    """``attempts`` without this host's own addresses, each attempt that saw one noting it.

    Only addresses swept as part of a larger network are left out: a single address the
    user named (a /32) or loopback was asked for and is kept.
    """
    swept = {
        ip
        for ip in own
        if not ipaddress.IPv4Address(ip).is_loopback
        and any(ipaddress.IPv4Address(ip) in n and n.prefixlen < 32 for n in networks)
    }
    return tuple(_without(attempt, swept) for attempt in attempts)


def _without(attempt: MethodAttempt, own: Set[str]) -> MethodAttempt:
    sighted = {s.ip for s in attempt.sightings if s.ip is not None and s.ip in own}
    seen = sorted(sighted | (set(attempt.timed_out_hosts) & own), key=ipaddress.IPv4Address)
    if not seen:
        return attempt
    note = f"left out {', '.join(seen)}: this scanner's own address"
    return dataclasses.replace(
        attempt,
        sightings=tuple(s for s in attempt.sightings if s.ip not in own),
        timed_out_hosts=tuple(h for h in attempt.timed_out_hosts if h not in own),
        error=f"{attempt.error}; {note}" if attempt.error else note,
    )


def merge(
    attempts: Sequence[MethodAttempt], knowledge: Knowledge | None = None
) -> tuple[InventoryDevice, ...]:
    """One device per IP (or per MAC for IP-less sightings), ordered by IP address."""
    by_ip: dict[str, list[Sighting]] = {}
    by_mac: dict[str, list[Sighting]] = {}
    for attempt in attempts:
        for sighting in attempt.sightings:
            if sighting.ip is not None:
                by_ip.setdefault(sighting.ip, []).append(sighting)
            elif sighting.mac is not None:
                by_mac.setdefault(sighting.mac, []).append(sighting)
    timed_out: dict[str, list[str]] = {}
    for attempt in attempts:
        for host in attempt.timed_out_hosts:
            timed_out.setdefault(host, []).append(attempt.method)
            by_ip.setdefault(host, [])
    known = given_or_default(knowledge).profiles
    devices = [
        _device(ip, None, found, timed_out.get(ip, []), known) for ip, found in by_ip.items()
    ]
    devices += [_device(None, mac, found, [], known) for mac, found in by_mac.items()]
    devices.sort(key=lambda d: (d.ip is None, _ip_key(d.ip or ""), d.mac or ""))
    return tuple(devices)


def ordered_sightings(sightings: Iterable[Sighting]) -> list[Sighting]:
    """Sightings in the order a device lists them: most trusted method first, then by time."""
    return sorted(sightings, key=lambda s: (_method_rank(s.method), s.time))


def _device(
    ip: str | None,
    mac: str | None,
    sightings: list[Sighting],
    timed_out_by: list[str],
    profiles: Profiles,
) -> InventoryDevice:
    ordered = ordered_sightings(sightings)
    if mac is None:
        mac = next((s.mac for s in ordered if s.mac), None)
    entry = profiles.oui_lookup(mac) if mac else None
    methods = sorted({s.method for s in ordered} | set(timed_out_by), key=_method_rank)
    return InventoryDevice(
        ip=ip,
        mac=mac,
        oui_vendor=entry.vendor if entry else None,
        oui_organisation=entry.organisation if entry else None,
        methods=tuple(methods),
        sightings=tuple(ordered),
        open_ports=open_ports(ordered),
        timed_out=bool(timed_out_by),
    )
