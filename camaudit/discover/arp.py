"""ARP sweep: who answers ARP for each target address on the given interface.

On the wire: one broadcast ARP who-has per target host (scapy ``srp``, Ethernet
broadcast, out of ``target.interface`` only), then a bounded wait of ``target.timeout``.
Every reply is a sighting with the replying MAC; several MACs answering for one address
are all kept (``multi``), so an address conflict shows. Needs root (raw sockets) and an
interface: without one, the interface whose route reaches the target directly is used
(:func:`~camaudit.discover.local.choose_interface`); a target behind a gateway is not on
this link, so the sweep is not run and the attempt says why. Loopback has no ARP. scapy is
imported on first use (it costs about a second).
"""

from __future__ import annotations

import time

from camaudit.attempt import AttemptStatus, Facts
from camaudit.discover._common import (
    Outcome,
    guarded_run,
    normal_ipv4,
    normal_mac,
    target_hosts,
    target_networks,
)
from camaudit.discover.interface import DiscoveryMethod, MethodAttempt, Sighting, Target
from camaudit.discover.local import choose_interface


class ArpSweep(DiscoveryMethod):
    """Every host that answers ARP on the target interface."""

    name = "arp"

    def __init__(self, allow_public: bool = False, retry: int = 1) -> None:
        self.allow_public = allow_public
        self.retry = retry

    def run(self, target: Target) -> MethodAttempt:
        """Sweep the target networks; never raises."""
        return guarded_run(self.name, lambda: self._run(target))

    def _run(self, target: Target) -> Outcome:
        networks = target_networks(target, self.allow_public)
        hosts = target_hosts(networks)
        interface, note = target.interface, target.interface_note or None
        if interface is None and note is None:
            choice = choose_interface(networks)
            interface, note = choice.interface, choice.reason
        if interface is None:
            return Outcome([], AttemptStatus.NOT_SCHEDULED, f"ARP sweep not run: {note}")
        if interface == "lo":
            return Outcome(
                [], AttemptStatus.ERROR, "loopback has no ARP; give the segment's interface"
            )
        from scapy.layers.l2 import ARP, Ether
        from scapy.sendrecv import srp

        answered, _unanswered = srp(
            Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=list(hosts)),
            iface=interface,
            timeout=min(target.timeout, target.budget),
            retry=self.retry,
            multi=True,
            verbose=False,
            # the kernel drops every other frame: the devices' probes run meanwhile, and
            # scapy dissecting their traffic in Python slowed the sweep down several times
            filter="arp",
        )
        sightings: dict[tuple[str, str], Sighting] = {}
        for _request, reply in answered:
            ip = normal_ipv4(str(reply[ARP].psrc))
            mac = normal_mac(str(reply[ARP].hwsrc))
            if ip is None or mac is None or (ip, mac) in sightings:
                continue
            facts = Facts()
            ether_source = normal_mac(str(reply[Ether].src))
            if ether_source is not None and ether_source != mac:
                facts.add("ether_source", ether_source)
            sightings[(ip, mac)] = Sighting(
                method=self.name,
                ip=ip,
                mac=mac,
                facts=facts.items(),
                raw_excerpt=f"{ip} is-at {mac}",
                time=float(getattr(reply, "time", time.time())),
            )
        return Outcome(list(sightings.values()), error=note)
