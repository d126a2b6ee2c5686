"""Device settings read with the user's credentials, turned into closed-network findings.

NTP, DNS and default gateway addresses (ONVIF ``ntp``, ``dns``, ``gateway`` facts) that
lie outside the closed network, a default gateway at all on a closed network, and UPnP
or P2P cloud access that a device reports as enabled (``upnp``, ``p2p`` facts).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from camaudit.errors import UsageError
from camaudit.fingerprint.interface import ProbeAttempt

__all__ = ["config_findings", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_LABELS = {"ntp": "NTP server", "dns": "DNS server", "gateway": "default gateway"}
_ENABLED = {"true", "1", "yes", "on", "enabled", "enable"}
_UNSET = {"0.0.0.0", "::", ""}  # noqa: S104 (an unset address, nothing binds here)


def parse_networks(closed_network: Sequence[str]) -> tuple[Network, ...]:
    """The closed network's CIDRs; a malformed one is a :class:`UsageError`."""
    networks: list[Network] = []
    for text in closed_network:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise UsageError(
                f"--closed-network {text!r} is not a CIDR such as 10.0.0.0/8"
            ) from None
    return tuple(networks)


def _address_finding(key: str, value: str, source: str, networks: Sequence[Network]) -> list[str]:
    label = _LABELS[key]
    try:
        address = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return [f"{label} {value!r} is a name, not an address in the closed network ({source})"]
    out = []
    if key == "gateway":
        out.append(f"a default gateway ({address}) is set on a closed network ({source})")
    if not any(address in net for net in networks if net.version == address.version):
        out.append(f"{label} {address} is outside the closed network ({source})")
    return out


def config_findings(
    attempts: Sequence[ProbeAttempt], closed_network: Sequence[str] = ()
) -> tuple[str, ...]:
    """Findings from configuration facts; address checks need ``closed_network``."""
    networks = parse_networks(closed_network)
    found: list[str] = []
    for attempt in attempts:
        for key, value in attempt.facts:
            if key in _LABELS and networks and value.strip() not in _UNSET:
                found += _address_finding(key, value.strip(), attempt.probe, networks)
            elif key == "upnp" and value.strip().lower() in _ENABLED:
                found.append(f"UPnP is enabled ({attempt.probe})")
            elif key == "p2p" and value.strip().lower() in _ENABLED:
                found.append(f"P2P cloud access is enabled ({attempt.probe})")
    return tuple(dict.fromkeys(found))
