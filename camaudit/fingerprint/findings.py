"""Device settings read with the user's credentials, turned into closed-network findings.

NTP, DNS and default gateway addresses (ONVIF ``ntp``, ``dns``, ``gateway`` facts) that
lie outside the closed network, a default gateway at all on a closed network, and UPnP
or P2P cloud access that a device reports as enabled (``upnp``, ``p2p`` facts).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from camaudit.fingerprint.interface import ProbeAttempt
from camaudit.policy.load import ClosedNetwork

__all__ = ["config_findings"]

_LABELS = {"ntp": "NTP server", "dns": "DNS server", "gateway": "default gateway"}
_ENABLED = {"true", "1", "yes", "on", "enabled", "enable"}
_UNSET = {"0.0.0.0", "::", ""}  # noqa: S104 (an unset address, nothing binds here)


def _address_finding(key: str, value: str, source: str, scope: ClosedNetwork) -> list[str]:
    label = _LABELS[key]
    try:
        address = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        return [f"{label} {value!r} is a name, not an address in the closed network ({source})"]
    out = []
    if key == "gateway":
        out.append(f"a default gateway ({address}) is set on a closed network ({source})")
    if not scope.contains(str(address)):
        out.append(f"{label} {address} is outside the closed network ({source})")
    return out


def config_findings(attempts: Sequence[ProbeAttempt], scope: ClosedNetwork) -> tuple[str, ...]:
    """Findings from configuration facts, addresses checked against ``scope``."""
    found: list[str] = []
    for attempt in attempts:
        for key, value in attempt.facts:
            if key in _LABELS and value.strip() not in _UNSET:
                found += _address_finding(key, value.strip(), attempt.probe, scope)
            elif key == "upnp" and value.strip().lower() in _ENABLED:
                found.append(f"UPnP is enabled ({attempt.probe})")
            elif key == "p2p" and value.strip().lower() in _ENABLED:
                found.append(f"P2P cloud access is enabled ({attempt.probe})")
    return tuple(dict.fromkeys(found))
