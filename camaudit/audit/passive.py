"""Passive names joined to the audit's devices: what each device called itself.

The traffic stage reads, per host, the names hosts give themselves in DHCP, mDNS and
SSDP (:class:`~camaudit.model.PassiveHost`). Here they are tied to devices, by MAC first
and then by address, and the knowledge signatures guess a maker and model from them.
The device chose every one of these names: they are shown with their source (passive),
they never allow a flow and never change a verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

from camaudit.discover.interface import Sighting
from camaudit.fingerprint.match import identify
from camaudit.knowledge import Knowledge
from camaudit.model import Evidence, PassiveHost
from camaudit.report.inventory import _identity
from camaudit.report.model import IdentityEntry, PassiveFactEntry

# Which passive fact is which signature fact key (profiles/signatures.toml): protocol
# fields, not vendor knowledge. A TXT model is a "model" fact like a probe's, so the
# model signatures apply to it.
IDENTITY_FACTS = {
    ("dhcp", "host_name"): "dhcp_host_name",
    ("dhcp", "vendor_class"): "dhcp_vendor_class",
    ("mdns", "instance"): "mdns_name",
    ("mdns", "host"): "mdns_name",
    ("mdns", "txt:fn"): "mdns_name",
    ("mdns", "txt:name"): "mdns_name",
    ("mdns", "txt:model"): "model",
    ("mdns", "txt:md"): "model",
    ("mdns", "txt:ty"): "model",
    ("mdns", "txt:usb_mdl"): "model",
    ("mdns", "txt:product"): "model",
    ("mdns", "txt:mf"): "manufacturer",
    ("mdns", "txt:manufacturer"): "manufacturer",
    ("mdns", "txt:vendor"): "manufacturer",
    ("ssdp", "server"): "ssdp_server",
}
SIGHTING = "passive"  # evidence lines read "passive sighting: ..."


class PassiveJoin:
    """Passive hosts handed out to devices: by MAC first, then by address."""

    def __init__(self, hosts: Sequence[PassiveHost]) -> None:
        self.left = list(hosts)

    def by_mac(self, mac: str | None) -> list[PassiveHost]:
        """The hosts that carry this MAC (taken: no other device gets them)."""
        if not mac:
            return []
        return self._take([h for h in self.left if h.mac and h.mac.lower() == mac.lower()])

    def by_address(self, mac: str | None, addresses: Sequence[str]) -> list[PassiveHost]:
        """Hosts seen at these addresses, unless they carry another device's MAC (an
        address that moved to a new device by DHCP names the new one)."""
        mine = [
            h
            for h in self.left
            if h.ip in addresses and not (mac and h.mac and h.mac.lower() != mac.lower())
        ]
        return self._take(mine)

    def _take(self, hosts: list[PassiveHost]) -> list[PassiveHost]:
        self.left = [h for h in self.left if h not in hosts]
        return hosts


def fact_entries(hosts: Sequence[PassiveHost]) -> tuple[PassiveFactEntry, ...]:
    """The facts of these hosts for the report, each with the frame that first said it."""
    return tuple(
        PassiveFactEntry(
            protocol=f.protocol,
            key=f.key,
            value=f.value,
            count=f.count,
            evidence=Evidence(
                f.first.capture, (f.first.frame,), f"frame.number=={f.first.frame}", f.first.time
            ),
        )
        for host in hosts
        for f in host.facts
    )


def guess_identity(
    mac: str | None,
    ip: str | None,
    facts: Sequence[PassiveFactEntry],
    knowledge: Knowledge | None,
) -> IdentityEntry | None:
    """Maker and model the passive names suggest (signatures of ``profiles/``), or
    ``None`` when they name neither. A guess from names the device chose."""
    pairs = tuple(
        (IDENTITY_FACTS[(f.protocol, f.key)], f.value)
        for f in facts
        if (f.protocol, f.key) in IDENTITY_FACTS
    )
    if not pairs:
        return None
    identity = identify((), (Sighting(SIGHTING, ip, mac, pairs),), knowledge)
    if identity.vendor is None and identity.model is None:
        return None
    return _identity(identity)
