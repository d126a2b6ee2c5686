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
    "REASON_PLURALS",
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
    # a make or model guessed from names the device chose (DHCP, mDNS, SSDP): marked so
    "passive_mark": N_("{value} (passive)"),
    "passive_names": N_("passive {protocol} (names the device chose, frame {frame}): {names}"),
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

# The verdict reasons and finding texts, by code: ``policy/evaluate.py`` and
# ``audit/devices.py`` write them as :class:`~camaudit.model.Phrase` (code + params) and
# :mod:`camaudit.phrases` renders them. The English texts are the ones camaudit wrote before
# phrases had codes (a report's English must not change); ``{label}``, ``{mac}``,
# ``{port}`` and ``{names}`` are suffixes that are empty when there is nothing to add.
REASONS = {
    "crossed": N_("traffic crossed the boundary: {detail}"),
    "cannot_show": N_("the evidence cannot show isolation: {detail}"),
    "attempt": N_("attempt: {detail}"),
    "tried": N_("nothing crossed, but devices tried: {detail}"),
    "nothing_out": N_("no packet was addressed outside and no outside name was looked up"),
    "default_network": N_(
        "no closed network was given: the default (RFC 1918, 100.64/10, link-local, ULA) was used"
    ),
    "no_packets": N_("the captures hold no packets"),
    "no_device_packets": N_("no packet from the audited devices is in the captures"),
    "no_inside_packets": N_("no packet from any host inside the closed network is in the captures"),
    "capture_problem": N_("{capture}: {problem}"),
    "more": N_("… and {count} more (see the findings)"),
    "repeated": N_("{detail} (×{count})"),
    "exception_expired": N_("a policy exception matched this flow but has expired"),
    "dns_lookup": N_("{client} looked up {name} ({qtype}): {answer}{label}"),
    "no_answer": N_("no answer"),
    # TRANSLATORS: "device → remote:port/protocol (names)", the flow's state,
    # " — label" (or nothing).
    "flow": N_("{flow}: {state}{label}"),
    "with_label": N_(" — {label}"),
    "foreign_mac": N_(" (MAC {macs})"),
    "and_more": N_("{shown} and {count} more"),
    "label_ntp": N_("NTP time sync to an outside server"),
    "label_dns": N_("DNS to an outside resolver"),
    # A flow's state as the reasons name it (the report's ``state`` codes).
    "state_established": N_("established"),
    # TRANSLATORS: a flow's state: a TCP SYN or ICMP echo nobody answered.
    "state_attempted": N_("attempted"),
    "state_rejected": N_("rejected"),
    # TRANSLATORS: a flow's state: packets in one direction only.
    "state_one_way": N_("one_way"),
    # TRANSLATORS: a flow's state: packets in both directions.
    "state_two_way": N_("two_way"),
    # One device's verdict (camaudit audit).
    "device_crossed": N_("crossed: {detail}"),
    "device_flow_crossed": N_("{device} -> {remote} crossed the boundary"),
    "device_tried": N_("tried: {detail}"),
    "device_no_traffic": N_("no traffic from this device in the evidence"),
    "device_only_announced": N_(
        "only DHCP, mDNS or SSDP announcements from this device, no flow of its own inside "
        "the closed network: no verdict for it"
    ),
    "device_nothing_out": N_(
        "no packet from this device was addressed outside and it looked up no outside name"
    ),
    "whole_inconclusive": N_("the evidence as a whole is inconclusive: {detail}"),
    # What is wrong with a capture (traffic/): ``{error}`` is a library's own words.
    "problem_compressed": N_("compressed data ends early or is damaged: {error}"),
    "problem_gzip_bomb": N_(
        "gzip data inflates more than {ratio}x ({consumed} bytes to {inflated}): not read "
        "past that point (a compression bomb?)"
    ),
    "problem_record_claims": N_(
        "record after frame {frame} claims {count} bytes; the rest of the file was not read"
    ),
    "problem_stopped": N_("{detail}; the rest of the file was not read"),
    "problem_bad_magic": N_("section header at byte offset {offset} has a bad byte-order magic"),
    "problem_bad_length": N_("block at frame {frame} has an impossible length {length}"),
    "problem_block_overrun": N_("frame {frame}: captured length exceeds its block"),
    "problem_zeek_damaged": N_("the file is damaged after line {line} ({error})"),
    # TRANSLATORS: how many frames could not be decoded, and why (a list of these three).
    "undecoded_unknown_link": N_("{count} on an unknown link type"),
    "undecoded_not_understood": N_("{count} with a protocol not understood"),
    "undecoded_malformed": N_("{count} with malformed headers"),
}

# Reasons and finding texts with a number in them, by code: (singular, plural) for
# ``ngettext`` with the phrase's ``count``. The English keeps its "(s)" in both forms.
REASON_PLURALS = {
    "allowed": NP_(
        "nothing crossed but what the policy allows ({count} flow(s))",
        "nothing crossed but what the policy allows ({count} flow(s))",
    ),
    "transit": NP_(
        "{count} flow(s) had neither end inside the closed network and were not judged "
        "(check --closed-network)",
        "{count} flow(s) had neither end inside the closed network and were not judged "
        "(check --closed-network)",
    ),
    # count: how many flows past the first {limit} of {device} (policy/evaluate.py DETAIL_LIMIT)
    "summarised_device": NP_(
        "{device}: {count} boundary flow(s) past its first {limit} are summarised per "
        "destination network, state and label (see the findings marked summarised)",
        "{device}: {count} boundary flow(s) past its first {limit} are summarised per "
        "destination network, state and label (see the findings marked summarised)",
    ),
    # TRANSLATORS: as "flow" ("device → network:ports/protocol", state, " — label"); count:
    # how many alike flows past the device's first {limit}; cited: how many are cited by frame
    "flows_summarised": NP_(
        "{flow}: {state}{label} — summarised: {count} flow(s) past the device's first {limit}, "
        "the first {cited} cited by frame",
        "{flow}: {state}{label} — summarised: {count} flow(s) past the device's first {limit}, "
        "the first {cited} cited by frame",
    ),
    # TRANSLATORS: a device's look-ups of outside names past its first {limit}, one line
    # per resolver: {names} are the first {cited} names, each cited by frame.
    "dns_summarised": NP_(
        "{client} looked up {count} outside name(s) at {server}{label} — summarised: past the "
        "device's first {limit} look-ups; the first {cited} ({names}) cited by frame",
        "{client} looked up {count} outside name(s) at {server}{label} — summarised: past the "
        "device's first {limit} look-ups; the first {cited} ({names}) cited by frame",
    ),
    "dns_resolved_summarised": NP_(
        "resolver {server} gave outside addresses in answer to {count} look-up(s) of outside "
        "names by {client}{label} — summarised: past the device's first {limit} look-ups; the "
        "first {cited} ({names}) cited by frame",
        "resolver {server} gave outside addresses in answer to {count} look-up(s) of outside "
        "names by {client}{label} — summarised: past the device's first {limit} look-ups; the "
        "first {cited} ({names}) cited by frame",
    ),
    "summarised_lookups": NP_(
        "{device}: {count} look-up(s) of outside names past its first {limit} are summarised "
        "per resolver, outcome and label (see the findings marked summarised)",
        "{device}: {count} look-up(s) of outside names past its first {limit} are summarised "
        "per resolver, outcome and label (see the findings marked summarised)",
    ),
    "exception_expired_summarised": NP_(
        "a policy exception matched these flows but has expired — summarised: {count} flow(s) "
        "past the device's first {limit}",
        "a policy exception matched these flows but has expired — summarised: {count} flow(s) "
        "past the device's first {limit}",
    ),
    # count: how many hosts
    "foreign_hosts": NP_(
        "host(s) on the segment send link-local multicast/broadcast from an address outside "
        "the closed network: {addresses} (not a crossing; see FOREIGN-ADDRESS-ON-SEGMENT)",
        "host(s) on the segment send link-local multicast/broadcast from an address outside "
        "the closed network: {addresses} (not a crossing; see FOREIGN-ADDRESS-ON-SEGMENT)",
    ),
    # count: how many packets
    "foreign": NP_(
        "{address}{mac} is on the segment with an address outside the closed network: "
        "{count} packet(s) to link-scoped {targets}. No router forwarded them, so they do "
        "not break isolation, but the host is set up for another network",
        "{address}{mac} is on the segment with an address outside the closed network: "
        "{count} packet(s) to link-scoped {targets}. No router forwarded them, so they do "
        "not break isolation, but the host is set up for another network",
    ),
    # count: how many outside addresses
    "dns_resolved": NP_(
        "resolver {server} answered {client}'s look-up of {name} ({qtype}) with outside "
        "address(es) {addresses}{label}",
        "resolver {server} answered {client}'s look-up of {name} ({qtype}) with outside "
        "address(es) {addresses}{label}",
    ),
    # What is wrong with a capture (traffic/), by how many packets, bytes, rows ...
    "problem_drops": NP_(
        "the capture reports {count} dropped packet(s)",
        "the capture reports {count} dropped packet(s)",
    ),
    "problem_last_record": NP_(
        "the last record (after frame {frame}) is cut short: {count} byte(s) of it are in the file",
        "the last record (after frame {frame}) is cut short: {count} byte(s) of it are in the file",
    ),
    "problem_last_block": NP_(
        "the last block (after frame {frame}) is cut short: {count} byte(s) of it are in the file",
        "the last block (after frame {frame}) is cut short: {count} byte(s) of it are in the file",
    ),
    "problem_snaplen": NP_(
        "{count} packet(s) were cut by the snapshot length before their headers ended",
        "{count} packet(s) were cut by the snapshot length before their headers ended",
    ),
    "problem_snaplen_dns": NP_(
        "{count} DNS packet(s) were cut by the snapshot length",
        "{count} DNS packet(s) were cut by the snapshot length",
    ),
    "problem_one_direction": NP_(
        "the capture holds one direction of traffic only: {count} TCP connection(s) were "
        "acknowledged by replies it does not contain",
        "the capture holds one direction of traffic only: {count} TCP connection(s) were "
        "acknowledged by replies it does not contain",
    ),
    # TRANSLATORS: {why} lists how many frames each reason kept undecoded; {frames} are
    # the first frame numbers, {more} is ", ..." when there are more.
    "problem_undecoded": NP_(
        "{count} frame(s) could not be decoded ({why}), so no statement covers them; "
        "frame(s) {frames}{more}",
        "{count} frame(s) could not be decoded ({why}), so no statement covers them; "
        "frame(s) {frames}{more}",
    ),
    "problem_rows_read": NP_(
        "{detail}; {count} row(s) were read, the rest is lost",
        "{detail}; {count} row(s) were read, the rest is lost",
    ),
    "problem_fragments": NP_(
        "{count} fragment(s) arrived without their first fragment; counted without ports",
        "{count} fragment(s) arrived without their first fragment; counted without ports",
    ),
    "problem_dns_undecodable": NP_(
        "{count} packet(s) on port 53 are not decodable DNS",
        "{count} packet(s) on port 53 are not decodable DNS",
    ),
    "problem_flows_summarised": NP_(
        "more than {limit} flows in one part of the input (a scan or a flood?): "
        "{count} packet(s) of later flows are counted per address pair, without ports or payload",
        "more than {limit} flows in one part of the input (a scan or a flood?): "
        "{count} packet(s) of later flows are counted per address pair, without ports or payload",
    ),
    # TRANSLATORS: {frames} are the first frames of the first networks, {more} is ", ..."
    # when there are more networks.
    "problem_flows_networks": NP_(
        "more than {pairs} address pairs past the flow limit too (a scan of many addresses?): "
        "{count} packet(s) to or from {networks} network(s) are counted per source address "
        "and destination network (/24, IPv6 /64), without the addresses, ports or payload; "
        "the networks' first frame(s) {frames}{more}",
        "more than {pairs} address pairs past the flow limit too (a scan of many addresses?): "
        "{count} packet(s) to or from {networks} network(s) are counted per source address "
        "and destination network (/24, IPv6 /64), without the addresses, ports or payload; "
        "the networks' first frame(s) {frames}{more}",
    ),
    # TRANSLATORS: {frames} are the first frames of the spilled entries (one per protocol
    # and address family), {more} is ", ..." when there are more.
    "problem_flows_spilled": NP_(
        "more than {limit} source-and-network entries past the address pair limit too (a "
        "flood from spoofed addresses?): {count} packet(s) are counted in one entry per "
        "protocol and address family (0.0.0.0/0, ::/0), without addresses, ports or payload, "
        "so no statement says which device sent or received them; the entries' first "
        "frame(s) {frames}{more}",
        "more than {limit} source-and-network entries past the address pair limit too (a "
        "flood from spoofed addresses?): {count} packet(s) are counted in one entry per "
        "protocol and address family (0.0.0.0/0, ::/0), without addresses, ports or payload, "
        "so no statement says which device sent or received them; the entries' first "
        "frame(s) {frames}{more}",
    ),
    # TRANSLATORS: {frames} are the first frames from addresses past the limit, {more} is
    # ", ..." when there are more.
    "problem_hosts_bounded": NP_(
        "more than {limit} source addresses (spoofed senders, or a scan answered from every "
        "address?): the MAC address of {count} frame(s) from later addresses is not kept, so "
        "their flows show none; first frame(s) {frames}{more}",
        "more than {limit} source addresses (spoofed senders, or a scan answered from every "
        "address?): the MAC address of {count} frame(s) from later addresses is not kept, so "
        "their flows show none; first frame(s) {frames}{more}",
    ),
    # TRANSLATORS: {frames} are the first frames of the first counted groups, {more} is
    # ", ..." when there are more.
    "problem_dns_pooled": NP_(
        "more than {limit} DNS look-ups of one client at one resolver (a DNS flood?): "
        "{count} later look-up(s) are counted per name, type and answer, past {names} such "
        "groups without the names ({unnamed}: judged as outside names no rule allows); "
        "the groups' first frame(s) {frames}{more}",
        "more than {limit} DNS look-ups of one client at one resolver (a DNS flood?): "
        "{count} later look-up(s) are counted per name, type and answer, past {names} such "
        "groups without the names ({unnamed}: judged as outside names no rule allows); "
        "the groups' first frame(s) {frames}{more}",
    ),
    "problem_asymmetric": NP_(
        "{count} TCP connection(s) show only the originator's side "
        "(asymmetric routing or capture point)",
        "{count} TCP connection(s) show only the originator's side "
        "(asymmetric routing or capture point)",
    ),
    "problem_unknown_linktype": NP_(
        "{count} packet(s) on link type {linktype} were not decoded",
        "{count} packet(s) on link type {linktype} were not decoded",
    ),
    "problem_passive_undecodable": NP_(
        "{count} {protocol} packet(s) did not decode: names they may carry were not read",
        "{count} {protocol} packet(s) did not decode: names they may carry were not read",
    ),
    "problem_passive_bounded": NP_(
        "{count} DHCP/mDNS/SSDP name(s) past the limit of {hosts} hosts "
        "or {names} names per host were not kept",
        "{count} DHCP/mDNS/SSDP name(s) past the limit of {hosts} hosts "
        "or {names} names per host were not kept",
    ),
    "problem_timestamp": NP_(
        "{count} packet(s) carry a timestamp outside the years 1-9999 "
        "(first: frame {frame}); the capture's clock or timestamp resolution is wrong",
        "{count} packet(s) carry a timestamp outside the years 1-9999 "
        "(first: frame {frame}); the capture's clock or timestamp resolution is wrong",
    ),
    "problem_skipped_captures": NP_(
        "{path}: {count} file(s) are not captures and were not read: {files}{more}",
        "{path}: {count} file(s) are not captures and were not read: {files}{more}",
    ),
    "problem_skipped_zeek": NP_(
        "{path}: {count} other Zeek log(s) not used (only {wanted})",
        "{path}: {count} other Zeek log(s) not used (only {wanted})",
    ),
    "problem_zeek_summarised": NP_(
        "more than {limit} conn rows: {count} later row(s) ({packets} packet(s)) are "
        "counted per address pair, without ports or names from ssl/http logs",
        "more than {limit} conn rows: {count} later row(s) ({packets} packet(s)) are "
        "counted per address pair, without ports or names from ssl/http logs",
    ),
    "problem_zeek_no_ts": NP_(
        "{count} log row(s) have no usable ts (redacted or unset); their times are shown "
        "as 0 and DNS answers are matched to flows regardless of order",
        "{count} log row(s) have no usable ts (redacted or unset); their times are shown "
        "as 0 and DNS answers are matched to flows regardless of order",
    ),
    "problem_bad_rows": NP_(
        "{count} line(s) could not be read as {kind} log rows, so no statement covers them; "
        "first at line {line}",
        "{count} line(s) could not be read as {kind} log rows, so no statement covers them; "
        "first at line {line}",
    ),
}

# (singular, plural) pairs for ``t.ngettext(*PLURALS[key], n)``; ``{count}`` is the number.
PLURALS = {
    "devices": NP_("{count} device", "{count} devices"),
    "findings": NP_("{count} finding", "{count} findings"),
    "attempts": NP_("{count} attempt", "{count} attempts"),
    "outbound": NP_("{count} outbound connection", "{count} outbound connections"),
    "packets": NP_("{count} packet", "{count} packets"),
}
