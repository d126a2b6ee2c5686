"""Device settings read with the user's credentials, turned into closed-network findings.

NTP, DNS and default gateway addresses (ONVIF ``ntp``, ``dns``, ``gateway`` facts) that
lie outside the closed network, a default gateway at all on a closed network, and UPnP
or P2P cloud access that a device reports as enabled (``upnp``, ``p2p`` facts).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from camaudit.fingerprint.interface import ProbeAttempt
from camaudit.i18n import N_
from camaudit.model import Evidence, Finding, Phrase
from camaudit.policy.load import ClosedNetwork

__all__ = ["MESSAGES", "config_findings"]

# One whole sentence per setting (not a label spliced in), so a translation reads naturally;
# the report keeps the English, renderers translate it (camaudit.phrases.config_text).
_OUTSIDE = {
    "ntp": N_("NTP server {address} is outside the closed network ({source})"),
    "dns": N_("DNS server {address} is outside the closed network ({source})"),
    "gateway": N_("default gateway {address} is outside the closed network ({source})"),
}
_NAME = {
    "ntp": N_("NTP server {value} is a name, not an address in the closed network ({source})"),
    "dns": N_("DNS server {value} is a name, not an address in the closed network ({source})"),
    "gateway": N_(
        "default gateway {value} is a name, not an address in the closed network ({source})"
    ),
}
_GATEWAY_SET = N_("a default gateway ({address}) is set on a closed network ({source})")
_ENABLED = {"true", "1", "yes", "on", "enabled", "enable"}
_UNSET = {"0.0.0.0", "::", ""}  # noqa: S104 (an unset address, nothing binds here)
_SWITCHES = {
    "upnp": ("config-upnp-enabled", "medium", N_("UPnP is enabled ({source})")),
    "p2p": ("config-p2p-enabled", "high", N_("P2P cloud access is enabled ({source})")),
}
MESSAGES = (
    *_OUTSIDE.values(),
    *_NAME.values(),
    _GATEWAY_SET,
    *(what for _, _, what in _SWITCHES.values()),
)


def _evidence(attempt: ProbeAttempt, key: str) -> Evidence:
    """Where the setting was read: the probe's answer (``capture`` names the probe) and a
    display filter that shows that conversation in a capture taken during the scan."""
    port = attempt.probe.rpartition(":")[2]
    host = f"ipv6.addr == {attempt.host}" if ":" in attempt.host else f"ip.addr == {attempt.host}"
    shown = f"{host} && tcp.port == {port}" if port.isdigit() else host
    return Evidence(capture=f"{attempt.probe} {key}", frames=(), display_filter=shown)


def _finding(rule: str, severity: str, summary: str, attempt: ProbeAttempt, key: str) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        device=attempt.host,
        summary=Phrase(summary),  # English only: no message code yet
        evidence=(_evidence(attempt, key),),
    )


def _address_findings(
    key: str, value: str, attempt: ProbeAttempt, scope: ClosedNetwork
) -> list[Finding]:
    source = attempt.probe
    try:
        address = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        text = _NAME[key].format(value=repr(value), source=source)
        return [_finding("config-name-not-address", "medium", text, attempt, key)]
    out = []
    if key == "gateway":
        text = _GATEWAY_SET.format(address=address, source=source)
        out.append(_finding("config-gateway-set", "medium", text, attempt, key))
    if not scope.contains(str(address)):
        text = _OUTSIDE[key].format(address=address, source=source)
        out.append(_finding("config-address-outside", "high", text, attempt, key))
    return out


def config_findings(attempts: Sequence[ProbeAttempt], scope: ClosedNetwork) -> tuple[Finding, ...]:
    """Findings from configuration facts, addresses checked against ``scope``; each with
    the probe answer it was read from as evidence."""
    found: dict[str, Finding] = {}
    for attempt in attempts:
        for key, value in attempt.facts:
            setting = value.strip()
            if key in _OUTSIDE and setting not in _UNSET:
                new = _address_findings(key, setting, attempt, scope)
            elif key in _SWITCHES and setting.lower() in _ENABLED:
                rule, severity, what = _SWITCHES[key]
                text = what.format(source=attempt.probe)
                new = [_finding(rule, severity, text, attempt, key)]
            else:
                continue
            for finding in new:
                found.setdefault(finding.summary.text, finding)
    return tuple(found.values())
