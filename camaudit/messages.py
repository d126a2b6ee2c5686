"""The vocabulary of the reports, marked for translation (see :mod:`camaudit.i18n`).

Renderers look texts up here by code and translate them where they are shown:
``t.gettext(VERDICT_NAMES[report.verdict])``. Only English source texts live here; the
Dutch ones are in ``locale/nl/LC_MESSAGES/camaudit.po``. The reason and finding templates
mirror the sentences ``policy/evaluate.py`` writes today, with their variable parts as
``{fields}``, so that a report carrying a reason's code and fields can be rendered in
either language.
"""

from __future__ import annotations

from camaudit.i18n import N_, NP_

__all__ = [
    "CATEGORIES",
    "DIRECTIONS",
    "FINDING_TITLES",
    "HEADINGS",
    "PLURALS",
    "REASONS",
    "SEVERITIES",
    "TERMS",
    "VERDICT_EXPLANATIONS",
    "VERDICT_NAMES",
]

VERDICT_NAMES = {
    "isolated": N_("isolated"),
    "isolated_with_attempts": N_("isolated, with attempts"),
    "not_isolated": N_("not isolated"),
    "inconclusive": N_("inconclusive"),
}

VERDICT_EXPLANATIONS = {
    "isolated": N_("No packet left the closed network, and no device looked up a name outside it."),
    "isolated_with_attempts": N_(
        "Nothing crossed the boundary of the closed network, but devices tried to reach "
        "the outside."
    ),
    "not_isolated": N_("Traffic crossed the boundary of the closed network."),
    "inconclusive": N_("The captures cannot show whether the network is isolated."),
}

# Words used inside sentences (lower case).
TERMS = {
    "closed_network": N_("closed network"),
    "device": N_("device"),
    "finding": N_("finding"),
    "outbound_connection": N_("outbound connection"),
    "inbound_connection": N_("inbound connection"),
    "evidence": N_("evidence"),
    "attempt": N_("attempt"),
    "make": N_("make"),
    "model": N_("model"),
    "firmware": N_("firmware"),
    "location": N_("location"),
    "description": N_("description"),
    "capture": N_("capture"),
    "packet": N_("packet"),
    "policy": N_("policy"),
    "exception": N_("exception"),
    "yes": N_("yes"),
    "no": N_("no"),
    "unknown": N_("unknown"),
    "not_checked": N_("not checked"),
    "no_answer": N_("no answer"),
}

# Column and section headings (capitalised as a heading).
HEADINGS = {
    "report": N_("Closed-network audit report"),
    "verdict": N_("Verdict"),
    "reasons": N_("Reasons"),
    "closed_network": N_("Closed network"),
    "closed_network_default": N_("Closed network (default: none was given)"),
    "devices": N_("Devices"),
    "device": N_("Device"),
    "location": N_("Location"),
    "description": N_("Description"),
    "make": N_("Make"),
    "model": N_("Model"),
    "firmware": N_("Firmware"),
    "ip": N_("IP address"),
    "mac": N_("MAC address"),
    "cves": N_("Known vulnerabilities"),
    "findings": N_("Findings"),
    "severity": N_("Severity"),
    "evidence": N_("Evidence"),
    "outbound": N_("Outbound connections"),
    "attempts": N_("Attempts"),
    "dns": N_("Look-ups of outside names"),
    "captures": N_("Captures"),
    "frames": N_("Frames"),
    "display_filter": N_("Display filter"),
    "policy": N_("Policy"),
    "allowed_by": N_("Allowed by"),
    "first_seen": N_("First seen"),
    "date": N_("Date"),
    "not_checked": N_("Could not be checked"),
    "device_verdicts": N_("Verdict per device"),
    "device_verdict": N_("Verdict for this device"),
    "generated_by": N_("Made with camaudit {version}"),
}

SEVERITIES = {"high": N_("high"), "medium": N_("medium"), "low": N_("low")}

CATEGORIES = {
    "established": N_("established"),
    "attempted": N_("attempted, no answer"),
    "rejected": N_("rejected"),
    "one_way": N_("one way only"),
    "two_way": N_("both ways"),
}

DIRECTIONS = {"outbound": N_("outbound"), "inbound": N_("inbound")}

FINDING_TITLES = {
    "BOUNDARY-CROSSED-OUT": N_("An outbound connection crossed the boundary"),
    "BOUNDARY-CROSSED-IN": N_("A connection from outside reached a device"),
    "OUTBOUND-ATTEMPT": N_("A device tried to reach the outside"),
    "DNS-EXTERNAL-RESOLVED": N_("An outside name was resolved to an outside address"),
    "DNS-EXTERNAL-LOOKUP": N_("A device looked up an outside name"),
    "FOREIGN-ADDRESS-ON-SEGMENT": N_("A host on the segment has an address from elsewhere"),
    "POLICY-EXCEPTION-EXPIRED": N_("A policy exception has expired"),
}

# The verdict reasons and finding texts of policy/evaluate.py, by proposed code.
REASONS = {
    "crossed": N_("traffic crossed the boundary: {detail}"),
    "cannot_show": N_("the evidence cannot show isolation: {detail}"),
    "attempt": N_("attempt: {detail}"),
    "tried": N_("nothing crossed, but devices tried: {detail}"),
    "nothing_out": N_("no packet was addressed outside and no outside name was looked up"),
    "default_network": N_(
        "no closed network was given: the default (RFC 1918, 100.64/10, link-local, ULA) was used"
    ),
    "foreign_hosts": N_(
        "hosts on the segment send link-local multicast or broadcast from an address "
        "outside the closed network: {addresses} (not a crossing; see "
        "FOREIGN-ADDRESS-ON-SEGMENT)"
    ),
    "no_packets": N_("the captures hold no packets"),
    "no_device_packets": N_("no packet from the audited devices is in the captures"),
    "no_inside_packets": N_("no packet from any host inside the closed network is in the captures"),
    "capture_problem": N_("{capture}: {problem}"),
    "more": N_("… and {count} more (see the findings)"),
    "repeated": N_("{detail} (×{count})"),
    "exception_expired": N_("a policy exception matched this flow but has expired"),
    "dns_resolved": N_(
        "resolver {server} answered {client}'s look-up of {name} ({qtype}) with outside "
        "addresses {addresses}{label}"
    ),
    "dns_lookup": N_("{client} looked up {name} ({qtype}): {answer}{label}"),
    "foreign_mac": N_("(MAC {macs})"),
    "and_more": N_("{shown} and {count} more"),
    "label_ntp": N_("NTP time sync to an outside server"),
    "label_dns": N_("DNS to an outside resolver"),
}

# (singular, plural) pairs for ``t.ngettext(*PLURALS[key], n)``; ``{count}`` is the number.
PLURALS = {
    "devices": NP_("{count} device", "{count} devices"),
    "findings": NP_("{count} finding", "{count} findings"),
    "attempts": NP_("{count} attempt", "{count} attempts"),
    "outbound": NP_("{count} outbound connection", "{count} outbound connections"),
    "packets": NP_("{count} packet", "{count} packets"),
    "allowed": NP_(
        "nothing crossed but what the policy allows ({count} flow)",
        "nothing crossed but what the policy allows ({count} flows)",
    ),
    "transit": NP_(
        "{count} flow had neither end inside the closed network and was not judged "
        "(check --closed-network)",
        "{count} flows had neither end inside the closed network and were not judged "
        "(check --closed-network)",
    ),
    "foreign": NP_(
        "{address} {mac} is on the segment with an address outside the closed network: "
        "{count} packet to link-scoped {targets}. No router forwarded it, so it does not "
        "break isolation, but the host is set up for another network",
        "{address} {mac} is on the segment with an address outside the closed network: "
        "{count} packets to link-scoped {targets}. No router forwarded them, so they do "
        "not break isolation, but the host is set up for another network",
    ),
}
