"""Service scan: python-nmap driving the real ``nmap`` binary with version detection.

On the wire, in two phases: ``nmap -n -T4`` on the camera ports of the target
networks (host discovery, then a SYN or connect scan), and ``nmap -n -Pn -sV
--version-intensity 2`` on the hosts and ports found open (version probes). Version
detection is what takes minutes (nmap waits out each probe on a silent port), so it
asks only what nobody else will: with a ``covered`` hook, the ports camaudit's own
HTTP/RTSP/ONVIF probes ask a host themselves are left out, a host with nothing left is
not version-scanned at all, and the rest runs in chunks of hosts (one nmap each, a few at
once) within what is left of the budget. Every nmap command line run is kept in the
attempt (``commands``). Always ``-n``: reverse DNS inside a segment makes a /24 crawl.
``--host-timeout`` bounds each host in each run, because a device that trickles bytes
or holds a port silent keeps ``-sV`` busy for minutes; nmap then forgets that host's
results, so the first run's open ports are kept and the host is reported in
``timed_out_hosts``, not dropped. The whole run is bounded by the target's budget (nmap
is killed past it). nmap's XML is read with defusedxml and every product/version string
is sanitised.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml

from camaudit.attempt import AttemptStatus, Facts
from camaudit.discover._common import (
    Outcome,
    guarded_run,
    normal_ipv4,
    normal_mac,
    one_line,
    target_networks,
)
from camaudit.discover.interface import DiscoveryMethod, MethodAttempt, Sighting, Target
from camaudit.sanitize import clean_text

KILL_GRACE = 5.0  # seconds past the budget before nmap is killed
#: ``--version-light``: each probe of a silent port costs seconds, and camera services
#: (HTTP, RTSP) answer the lowest-rarity probes anyway.
VERSION_INTENSITY = 2
#: Hosts per ``-sV`` run and ``-sV`` runs at once. nmap probes the hosts of one run in
#: parallel itself, and each nmap costs ~0.6 s of CPU loading its probe database: on the
#: 2-core bench machine, 17 hosts took 7.7 s in one run and 11.5 s as three runs at once
#: (each waits out the devices' 5 s silence either way). Larger networks still get
#: several runs at once, so one stuck chunk does not hold up the others' hosts.
CHUNK_HOSTS = 32
PARALLEL_CHUNKS = 4

#: ``covered(hosts)``: per host, the ports whose service camaudit's own probes ask
#: themselves (those are not version-scanned again).
Covered = Callable[[Sequence[str]], Mapping[str, frozenset[int]]]
#: ``sighted(sightings)``: the port scan's sightings, handed on before version detection.
Sighted = Callable[[Sequence[Sighting]], None]


def nmap_arguments(
    host_timeout: float, interface: str | None, version_intensity: int | None = None
) -> list[str]:
    """The nmap options of one phase: a port scan, or (with an intensity) version detection.

    Always ``-n``; always a ``--host-timeout``. Ports and hosts are passed separately.
    """
    arguments = ["-n", "-T4", "--max-retries", "2", "--host-timeout", f"{host_timeout:g}s"]
    if version_intensity is not None:
        arguments += ["-Pn", "-sV", "--version-intensity", str(version_intensity)]
    if interface is not None:
        arguments += ["-e", interface]
    return arguments


def parse_nmap_xml(xml: bytes, when: float = 0.0) -> tuple[list[Sighting], list[str]]:
    """Sightings for up hosts (with ``service`` facts per open port) and timed-out hosts."""
    try:
        root: Element = safe_xml.fromstring(xml)
    except ParseError as error:
        raise ValueError(f"nmap wrote unreadable XML: {error}") from None
    sightings: list[Sighting] = []
    timed_out: list[str] = []
    for host in root.iter("host"):
        ip, mac = _addresses(host)
        if ip is None:
            continue
        if host.get("timedout") == "true":
            timed_out.append(ip)
            continue
        status = host.find("status")
        if status is not None and status.get("state") != "up":
            continue
        facts = Facts()
        for port in host.iter("port"):
            state = port.find("state")
            if state is None or state.get("state") != "open":
                continue
            facts.add("service", _service_text(port), limit=200)
        sightings.append(Sighting(method="nmap", ip=ip, mac=mac, facts=facts.items(), time=when))
    return sightings, timed_out


def _addresses(host: Element) -> tuple[str | None, str | None]:
    ip = mac = None
    for address in host.iter("address"):
        kind, value = address.get("addrtype"), address.get("addr")
        if kind == "ipv4":
            ip = normal_ipv4(value)
        elif kind == "mac":
            mac = normal_mac(value)
    return ip, mac


def _service_text(port: Element) -> str:
    """``554/tcp rtsp <product> <version>`` (absent parts left out)."""
    service = port.find("service")
    number = f"{port.get('portid', '?')}/{port.get('protocol', 'tcp')}"
    if service is None:
        return f"{number} unknown"
    name = service.get("name") or "unknown"
    if service.get("tunnel") == "ssl":
        name = f"ssl/{name}"
    if service.get("method") == "table":
        name += "?"  # nmap's guess from the port number, not what the device said
    parts = [number, name]
    for key in ("product", "version", "extrainfo"):
        value = service.get(key)
        if value:
            parts.append(f"({value})" if key == "extrainfo" else value)
    return clean_text(" ".join(" ".join(parts).split()), 200)


class NmapServiceScan(DiscoveryMethod):
    """Open camera ports and their services, as nmap's version detection names them.

    TCP only: UDP 3702 and 37778 are covered by the WS-Discovery and DHIP methods rather
    than a slow ``-sU``. ``covered`` and ``sighted`` are set by a caller that probes the
    devices itself (see the module docstring); without them every open port is
    version-scanned.
    """

    name = "nmap"

    def __init__(
        self,
        allow_public: bool = False,
        host_timeout: float | None = None,
        nmap_path: str | None = None,
        version_intensity: int | None = VERSION_INTENSITY,
        covered: Covered | None = None,
        sighted: Sighted | None = None,
    ) -> None:
        self.allow_public = allow_public
        self.host_timeout = host_timeout
        self.nmap_path = nmap_path
        self.version_intensity = version_intensity
        self.covered = covered
        self.sighted = sighted

    def run(self, target: Target) -> MethodAttempt:
        """Scan; never raises. A run past the budget is ``timed_out``."""
        commands: list[str] = []
        attempt = guarded_run(self.name, lambda: self._run(target, commands))
        return dataclasses.replace(attempt, commands=tuple(commands))

    def _host_timeout(self, target: Target, left: float) -> float:
        wanted = self.host_timeout if self.host_timeout else max(60.0, 10 * target.timeout)
        return max(1.0, min(wanted, left))

    def _scanner(self) -> Any:
        import nmap

        paths = (self.nmap_path,) if self.nmap_path else ("nmap", "/usr/bin/nmap")
        return nmap.PortScanner(nmap_search_path=paths)

    def _run(self, target: Target, commands: list[str]) -> Outcome:
        networks = target_networks(target, self.allow_public)
        import nmap

        try:
            self._scanner()
        except nmap.PortScannerError:
            return Outcome([], AttemptStatus.ERROR, "nmap is not installed (apt-get install nmap)")
        deadline = time.monotonic() + target.budget
        if not target.ports:
            return Outcome(
                [], AttemptStatus.ERROR, "no ports to scan (profiles/ports.toml lists none)"
            )
        ports = ",".join(str(p) for p in target.ports)
        hosts = " ".join(str(n) for n in networks)
        try:
            found, timed_out = self._phase(hosts, ports, target, deadline, None, commands)
        except nmap.PortScannerTimeout:
            return Outcome(
                [],
                AttemptStatus.TIMED_OUT,
                f"nmap did not finish within the {target.budget:g} s budget and was stopped",
            )
        except nmap.PortScannerError as error:
            return Outcome(
                [], AttemptStatus.ERROR, f"nmap failed: {clean_text(str(error).strip(), 200)}"
            )
        if self.sighted is not None and found:
            self.sighted(found)
        if self.version_intensity is None:
            return Outcome(found, timed_out_hosts=tuple(timed_out))
        return self._versions(found, timed_out, target, deadline, commands)

    def _versions(
        self,
        found: list[Sighting],
        timed_out: list[str],
        target: Target,
        deadline: float,
        commands: list[str],
    ) -> Outcome:
        """Version detection of the open ports nobody else asks, in parallel chunks."""
        chunks = version_chunks(found, self.covered)
        if not chunks:
            return Outcome(found, timed_out_hosts=tuple(dict.fromkeys(timed_out)))

        def one(chunk: tuple[tuple[str, ...], str]) -> tuple[list[Sighting], list[str], str]:
            hosts, ports = chunk
            try:
                versioned, late = self._phase(
                    " ".join(hosts), ports, target, deadline, self.version_intensity, commands
                )
            except Exception as error:  # this chunk's hosts keep their port-scan results
                return [], [], one_line(error)
            return versioned, late, ""

        with ThreadPoolExecutor(min(PARALLEL_CHUNKS, len(chunks)), "camaudit-nmap") as pool:
            results = list(pool.map(one, chunks))
        versioned = [s for got, _, _ in results for s in got]
        timed_out += [h for _, late, _ in results for h in late]
        failed = [
            (hosts, why) for (hosts, _), (_, _, why) in zip(chunks, results, strict=True) if why
        ]
        if not failed:
            return Outcome(
                _prefer(versioned, found), timed_out_hosts=tuple(dict.fromkeys(timed_out))
            )
        hosts_failed = sum(len(hosts) for hosts, _ in failed)
        return Outcome(
            _prefer(versioned, found),
            AttemptStatus.TIMED_OUT if deadline <= time.monotonic() else AttemptStatus.ERROR,
            f"version detection of {hosts_failed} host(s) stopped: {failed[0][1]}",
            tuple(dict.fromkeys(timed_out)),
        )

    def _phase(
        self,
        hosts: str,
        ports: str,
        target: Target,
        deadline: float,
        intensity: int | None,
        commands: list[str],
    ) -> tuple[list[Sighting], list[str]]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _budget_spent()
        arguments = nmap_arguments(self._host_timeout(target, left), target.interface, intensity)
        scanner = self._scanner()  # one per run: a PortScanner keeps the last run's output
        commands.append(clean_text(f"nmap -oX - -p {ports} {' '.join(arguments)} {hosts}", 4000))
        scanner.scan(
            hosts=hosts,
            ports=ports,
            arguments=" ".join(arguments),
            timeout=max(1, round(left + KILL_GRACE)),
        )
        return parse_nmap_xml(scanner.get_nmap_last_output(), time.time())


def version_chunks(
    found: Sequence[Sighting], covered: Covered | None
) -> list[tuple[tuple[str, ...], str]]:
    """``(hosts, ports)`` per ``-sV`` run: each host's open ports less the ``covered`` ones.

    A host whose open ports are all covered is not version-scanned. Hosts share a run,
    at most :data:`CHUNK_HOSTS` to one, whenever the run's ports ask none of them a port
    it should not be asked (open and covered): a Hikvision host left with 8000 and a
    Dahua host left with 37777 share ``-p 8000,37777``, since neither has the other's
    port open. A host is never version-scanned on a covered port.
    """
    open_by_host = {
        s.ip: {_port_of(v) for k, v in s.facts if k == "service"} for s in found if s.ip
    }
    open_by_host = {ip: ports for ip, ports in open_by_host.items() if ports}
    skip = covered(list(open_by_host)) if covered is not None and open_by_host else {}
    # per run: its ports, its hosts, and the ports it must not ask (open and covered on
    # one of its hosts: nmap version-scans every listed port that is open on each host)
    runs: list[tuple[set[int], list[str], set[int]]] = []
    for ip, ports in open_by_host.items():
        left = ports - skip.get(ip, frozenset())
        if not left:
            continue
        forbidden = ports - left
        for run_ports, hosts, run_forbidden in runs:
            if not (left & run_forbidden or run_ports & forbidden):
                run_ports |= left
                run_forbidden |= forbidden
                hosts.append(ip)
                break
        else:
            runs.append((set(left), [ip], set(forbidden)))
    return [
        (tuple(hosts[i : i + CHUNK_HOSTS]), ",".join(map(str, sorted(ports))))
        for ports, hosts, _ in runs
        for i in range(0, len(hosts), CHUNK_HOSTS)
    ]


def _budget_spent() -> Exception:
    import nmap

    return nmap.PortScannerTimeout("budget spent")  # type: ignore[no-any-return]


def _port_of(service: str) -> int:
    return int(service.partition("/")[0])


def _prefer(versioned: list[Sighting], scanned: list[Sighting]) -> list[Sighting]:
    """Each port-scan sighting with the version scan's word for every port it asked.

    Ports that were not version-scanned keep the port scan's guess (``http?``).
    """
    by_ip = {s.ip: s for s in versioned}
    merged = []
    for sighting in scanned:
        better = by_ip.get(sighting.ip)
        if better is None:
            merged.append(sighting)
            continue
        named = {_port_of(v): (k, v) for k, v in better.facts if k == "service"}
        facts = tuple(
            named.get(_port_of(v), (k, v)) if k == "service" else (k, v) for k, v in sighting.facts
        )
        merged.append(dataclasses.replace(sighting, facts=facts, mac=better.mac or sighting.mac))
    return merged
