"""The verdict stage: traffic + policy + profiles -> findings -> verdict.

Returned, never raised. Every finding carries its evidence: capture, frame
numbers and a Wireshark display filter that shows the packets behind it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from camaudit.addresses import address_text, ipv4_text, ipv6_text, parse_address, whole_family
from camaudit.knowledge.profiles import Profiles
from camaudit.model import (
    AllowBasis,
    Assessment,
    ClassifiedLookup,
    Direction,
    DnsLookup,
    Evidence,
    Finding,
    Flow,
    FlowCategory,
    HostInfo,
    OutboundFlow,
    Phrase,
    Problem,
    TrafficSummary,
    Verdict,
)
from camaudit.phrases import BUILT_IN_LABELS, label_phrase, phrase, problem_phrase
from camaudit.policy import rhythm
from camaudit.policy.load import Policy, ServiceRule, in_networks, networks, never_leaves_link

# Boundary flows listed one by one per device (an outbound entry and a finding each); a
# device's later ones (a scan, a flood, a week of phone-homes) are summarised per
# destination network, state and label in one finding each, citing its first flows.
DETAIL_LIMIT = 1000
SUMMARY_CITED = 3  # flows of a summarised group whose frames its finding cites
# Summarised groups per device; past them (a flood from spoofed addresses, each remote its
# own network) a flow no group holds joins its address family's group (0.0.0.0/0, ::/0),
# so that findings stay bounded too. Every flow is still judged.
GROUP_LIMIT = 1000
# Evidence problems that stop a capture from proving isolation (they never hide a leak).
# flows_spilled: flows counted without their addresses (a flood past flows.NETWORK_LIMIT).
BLOCKING_PROBLEMS = (
    "truncated",
    "corrupt",
    "drops",
    "one_direction",
    "snaplen",
    "undecoded",
    "flows_spilled",
)
_CROSSING = (FlowCategory.ESTABLISHED, FlowCategory.TWO_WAY)
_NO_ANSWER_RCODES = ("NXDOMAIN", "REFUSED", "SERVFAIL", "NOTIMP")
_LOCAL_SUFFIXES = ("local", "home.arpa", "internal", "localhost", "invalid", "test")


class _Judge:
    def __init__(self, policy: Policy, profiles: Profiles, today: date) -> None:
        self.policy = policy
        self.profiles = profiles
        self.today = today

    def inside(self, ip: str) -> bool:
        return self.policy.scope.is_local(ip)

    def direction(self, flow: Flow) -> Direction:
        o, r = self.inside(flow.orig), self.inside(flow.resp)
        if o and r:
            return Direction.INTERNAL
        if o:
            return Direction.OUTBOUND
        if r:
            return Direction.INBOUND
        return Direction.TRANSIT

    def label(self, flow: Flow, outbound: bool) -> tuple[str | None, str | None]:
        """The flow's phone-home label (data: a proper name) and its source, or the
        English of a built-in label (:func:`camaudit.phrases.label_text` translates it)."""
        rule = self.profiles.match_payload(flow.proto, flow.resp_port, flow.payload_orig)
        if rule is None:
            for name in flow.names:
                rule = self.profiles.match_name(name)
                if rule is not None:
                    break
        if rule is None and outbound:
            # Port rules describe vendor services out there, never a camera's own ports.
            rule = self.profiles.match_port(flow.proto, flow.resp_port)
        if rule is not None:
            return rule.label, rule.source
        if flow.app in BUILT_IN_LABELS:
            return phrase(BUILT_IN_LABELS[flow.app]).text, None
        return None, None

    def rule_for(self, query: RuleQuery) -> tuple[ServiceRule | None, AllowBasis | None, bool]:
        """The allow rule or live exception accepting ``query``, on what basis; and whether
        an expired one matched."""
        expired = False
        for kind, rules in (("allow", self.policy.allow), ("exception", self.policy.exceptions)):
            for rule in rules:
                basis = _rule_matches(rule, query)
                if basis is None:
                    continue
                if kind == "exception" and rule.expires is not None and rule.expires < self.today:
                    expired = True
                    continue
                return rule, basis, expired
        return None, None, expired


@dataclass(frozen=True)
class FlowNames:
    """The names a flow goes by, kept apart by who chose them.

    ``resolved``: names the device's own DNS look-up answered with the remote address
    before the flow began. ``claimed``: TLS SNI and HTTP Host, which the device writes
    itself and could set to anything.
    """

    resolved: tuple[str, ...] = ()
    claimed: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleQuery:
    """Traffic a policy rule may accept: its inside device, remote end, destination port
    and protocol, and the names the remote goes by. ``by_name_only``: only a rule's
    ``names`` may accept it (a DNS look-up, whose question is the name itself)."""

    device: str
    remote: str
    port: int
    proto: str
    names: FlowNames
    by_name_only: bool = False


class _Resolutions:
    """Which names each client's look-ups resolved to which address, and when."""

    def __init__(self, lookups: Iterable[DnsLookup]) -> None:
        self.seen: dict[tuple[str, str], list[tuple[float, str]]] = {}
        for lookup in lookups:
            if lookup.response is None or lookup.rcode != "NOERROR" or not lookup.name:
                continue
            if lookup.names_pooled:
                continue  # its answers are for names not kept: they name nothing
            for answer in lookup.answers:
                address = _normal(answer)
                if address is not None:
                    key = (_normal(lookup.client) or lookup.client, address)
                    self.seen.setdefault(key, []).append((lookup.response.time, lookup.name))

    def names(self, device: str, remote: str, before: float) -> tuple[str, ...]:
        """Names ``device`` had resolved to ``remote`` by time ``before``."""
        if not self.seen:  # no look-up answered: nothing to spell (a scan's 200 k remotes)
            return ()
        key = (_normal(device) or device, _normal(remote) or remote)
        found: list[str] = []
        for when, name in sorted(self.seen.get(key, ())):
            if when <= before and name not in found:
                found.append(name)
        return tuple(found)


@lru_cache(maxsize=65536)
def _normal(text: str) -> str | None:
    """An address in one spelling (IPv4-mapped IPv6 as IPv4), or None for a non-address."""
    try:
        address = parse_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return address_text(address)


def _flow_names(flow: Flow, device: str, remote: str, resolutions: _Resolutions) -> FlowNames:
    claimed = tuple(n for n in (flow.sni, flow.http_host) if n)
    return FlowNames(resolutions.names(device, remote, flow.first.time), claimed)


def _name_in(name: str, suffixes: Iterable[str]) -> bool:
    name = name.lower().rstrip(".")
    return any(
        name == s or name.endswith("." + s) for s in (x.lower().strip(".") for x in suffixes)
    )


def _rule_matches(rule: ServiceRule, query: RuleQuery) -> AllowBasis | None:
    names = query.names
    if rule.proto and rule.proto != query.proto:
        return None
    if rule.ports and query.port not in rule.ports:
        return None
    if rule.devices and not in_networks(query.device, networks(rule.devices)):
        return None
    if query.by_name_only:
        return AllowBasis.DNS if any(_name_in(n, rule.names) for n in names.resolved) else None
    if not rule.hosts and not rule.names:
        return AllowBasis.ANY_REMOTE
    if rule.hosts and in_networks(query.remote, networks(rule.hosts)):
        return AllowBasis.ADDRESS
    if rule.names and any(_name_in(n, rule.names) for n in names.resolved):
        return AllowBasis.DNS
    # SNI and Host are the device's own words: a rule must say it takes them.
    if rule.trust_client_names and any(_name_in(n, rule.names) for n in names.claimed):
        return AllowBasis.CLIENT_NAME
    return None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _address_term(ip: str) -> str:
    """Match ``ip`` (or a pooled network, a CIDR) in a display filter. camaudit reads
    IPv4-mapped IPv6 (::ffff:a.b.c.d) as IPv4, so an IPv4 flow may hold IPv6 packets: the
    filter must take both."""
    if ":" in ip:
        return f"ipv6.addr=={ip}"
    address, slash, prefix = ip.partition("/")
    mapped = f"/{96 + int(prefix)}" if slash else ""
    return f"(ip.addr=={ip} || ipv6.addr==::ffff:{address}{mapped})"


def flow_filter(flow: Flow) -> str:
    """Display filter that shows exactly the packets camaudit counted in ``flow``.

    A flow read from a Zeek conn.log gets a zeek-cut/jq-style locator of its row instead.
    """
    if flow.zeek_uid is not None:
        return f"uid == {json.dumps(flow.zeek_uid, ensure_ascii=True)}"
    v6_only = ":" in flow.orig or ":" in flow.resp
    parts = [_address_term(flow.orig), _address_term(flow.resp)]
    if flow.proto in ("tcp", "udp"):
        # ICMP errors quote the flow's header (ports included) but are not its packets.
        no_icmp = "!icmpv6" if v6_only else "!(icmp || icmpv6)"
        if flow.orig_port or flow.resp_port:
            ports = [f"{flow.proto}.port=={flow.orig_port}", f"{flow.proto}.port=={flow.resp_port}"]
        else:  # flows pooled past the traffic stage's limits: their ports were not kept
            ports = [flow.proto]
        return " && ".join([*parts, *ports, no_icmp])
    if flow.proto in ("icmp", "icmpv6"):
        types = (
            sorted({flow.orig_port, flow.resp_port})
            if flow.app != "icmp-error"
            else [flow.orig_port]
        )
        field = f"{flow.proto}.type"
        parts.append("(" + " || ".join(f"{field}=={t}" for t in types) + ")")
        return " && ".join(parts)
    number = flow.proto.removeprefix("ip-")
    if v6_only:
        parts.append(f"ipv6.nxt=={number}")
    else:
        parts.append(f"(ip.proto=={number} || ipv6.nxt=={number})")
    return " && ".join(parts)


def flow_evidence(flow: Flow) -> tuple[Evidence, ...]:
    """One piece of evidence per capture file the flow shows up in."""
    filt = flow_filter(flow)
    items: list[Evidence] = []
    if flow.first.capture == flow.last.capture:
        frames = tuple(sorted({flow.first.frame, flow.last.frame}))
        items.append(Evidence(flow.first.capture, frames, filt, flow.first.time))
    else:
        items.append(Evidence(flow.first.capture, (flow.first.frame,), filt, flow.first.time))
        items.append(Evidence(flow.last.capture, (flow.last.frame,), filt, flow.last.time))
    if flow.rejected_by is not None:
        ref = flow.rejected_by
        items.append(Evidence(ref.capture, (ref.frame,), f"frame.number=={ref.frame}", ref.time))
    return tuple(items)


# A name whose text reads the same in camaudit and Wireshark (no escapes, no odd bytes).
_PLAIN_NAME = re.compile(r"[a-z0-9_*-]+(\.[a-z0-9_*-]+)*")


def dns_evidence(lookup: DnsLookup) -> tuple[Evidence, ...]:
    """The query and its answer, by frame number and name."""
    by_capture: dict[str, list[int]] = {}
    first_time: dict[str, float] = {}
    for ref in (lookup.query, lookup.response):
        if ref is not None:
            by_capture.setdefault(ref.capture, []).append(ref.frame)
            first_time.setdefault(ref.capture, ref.time)
    items = []
    for capture, frames in by_capture.items():
        # "frame.number in {...}" changed its separator between Wireshark releases; this
        # form reads the same in all of them.
        numbers = " || ".join(f"frame.number=={f}" for f in sorted(frames))
        filt = f"({numbers})"
        if lookup.zeek_uid is not None:  # read from a Zeek dns.log: locate its row
            filt = f"uid == {json.dumps(lookup.zeek_uid, ensure_ascii=True)}"
        elif _PLAIN_NAME.fullmatch(lookup.name):
            # camaudit lower-cases names; Wireshark's == is case-sensitive.
            filt = f"lower(dns.qry.name)=={_quote(lookup.name)} && {filt}"
        items.append(Evidence(capture, tuple(sorted(frames)), filt, first_time[capture]))
    return tuple(items)


def _external_name(name: str, judge: _Judge) -> bool:
    if not name or "." not in name:
        return False  # single-label names are resolved on the site, by search domain
    if _name_in(name, _LOCAL_SUFFIXES) or _name_in(name, judge.policy.internal_domains):
        return False
    for suffix, version in ((".in-addr.arpa", 4), (".ip6.arpa", 6)):
        if name.endswith(suffix):
            return not _reverse_inside(name.removesuffix(suffix), version, judge)
    return True


def _reverse_inside(labels: str, version: int, judge: _Judge) -> bool:
    parts = labels.split(".")[::-1]
    try:
        if version == 4 and len(parts) == 4:
            return judge.inside(".".join(parts))
        if version == 6 and len(parts) == 32:
            text = "".join(parts)
            return judge.inside(":".join(text[i : i + 4] for i in range(0, 32, 4)))
    except ValueError:
        return False
    return True  # a partial reverse zone is the site's own business


_STATES = {category: f"state_{category.value}" for category in FlowCategory}


def _describe(flow: Flow, remote_port: int, label: str | None) -> Phrase:
    names = f" ({', '.join(flow.names)})" if flow.names else ""
    port = f":{remote_port}" if flow.proto in ("tcp", "udp") else ""
    # addresses, port and names read the same in every language: one param (a flood
    # builds one of these per flow; the flow's fields are in the report apart)
    where = f"{flow.orig} → {flow.resp}{port}/{flow.proto}{names}"
    state = phrase(_STATES[flow.category])
    return phrase("flow", flow=where, state=state, label=_label_param(label))


def _label_param(label: str | None) -> Phrase | str:
    """`` — label`` after a sentence, or nothing."""
    return phrase("with_label", label=label_phrase(label)) if label else ""


def tally(phrases: Iterable[Phrase], limit: int | None = None) -> list[Phrase]:
    """Each distinct phrase once, in first-seen order, with its count when it repeats
    (a camera retrying every second is one reason, not hundreds); past ``limit``, one
    line that says how many more."""
    # keyed by the English text: the same words are the same reason (and a str keeps
    # its hash, a phrase would hash its whole tree for each of a flood's flows)
    counts: dict[str, tuple[Phrase, int]] = {}
    for item in phrases:
        first, n = counts.get(item.text, (item, 0))
        counts[item.text] = first, n + 1
    out = [p if n == 1 else phrase("repeated", detail=p, count=n) for p, n in counts.values()]
    if limit is not None and len(out) > limit:
        out = [*out[:limit], phrase("more", count=len(out) - limit)]
    return out


class _Tally:
    """Reasons grouped by what they say, so a thousand retries read as one line."""

    def __init__(self) -> None:
        self.items: list[Phrase] = []

    def add(self, item: Phrase) -> None:
        self.items.append(item)

    def __bool__(self) -> bool:
        return bool(self.items)

    def lines(self, limit: int = 12) -> list[Phrase]:
        return tally(self.items, limit)


@dataclass
class _Tallies:
    """What the judging so far adds up to: the basis of the verdict and its reasons."""

    crossed: _Tally = field(default_factory=_Tally)
    attempts: _Tally = field(default_factory=_Tally)
    transit: int = 0  # flows with neither end inside: not judged
    foreign: dict[str, list[Flow]] = field(default_factory=dict)  # misaddressed neighbours
    accepted: int = 0  # boundary flows a policy rule accepts (listed or summarised)
    summarised: dict[str, int] = field(default_factory=dict)  # per device: flows summarised
    lookups_summarised: dict[str, int] = field(default_factory=dict)  # per device: look-ups
    summarised_crossed: int = 0  # of those, crossings no rule accepts


@dataclass
class _Group:
    """Boundary flows of one device past :data:`DETAIL_LIMIT` that read alike: the same
    direction, outcome, protocol, remote network and label."""

    judged: list[OutboundFlow] = field(default_factory=list)  # the first SUMMARY_CITED
    count: int = 0
    ports: set[int] = field(default_factory=set)
    remotes: set[str] = field(default_factory=set)

    def add(self, judged: OutboundFlow) -> None:
        self.count += 1
        if len(self.judged) < SUMMARY_CITED:
            self.judged.append(judged)
        if len(self.ports) <= 64:  # enough to tell one port from a range
            self.ports.add(judged.flow.resp_port)
        if len(self.remotes) <= 1:
            self.remotes.add(judged.remote)


def assess(
    traffic: TrafficSummary,
    policy: Policy,
    profiles: Profiles,
    today: date | None = None,
    detail_limit: int | None = DETAIL_LIMIT,
) -> Assessment:
    """Judge the traffic against the policy; the verdict comes back in the result.

    Each device's first ``detail_limit`` boundary flows are listed one by one, later ones
    summarised (None: every flow listed). Every flow is judged either way: summarising
    changes how findings are listed, never the verdict.
    """
    judge = _Judge(policy, profiles, today or date.today())
    tallies = _Tallies()
    series = rhythm.Series()
    outbound, findings = _judge_flows(traffic, judge, tallies, series, detail_limit)
    dns = tuple(_classify(lookup, judge) for lookup in traffic.dns)
    findings += _judge_lookups(dns, judge, tallies, detail_limit)
    findings += [_foreign_finding(address, flows) for address, flows in tallies.foreign.items()]
    devices = _devices(traffic, judge, profiles)
    verdict, reasons = decide(
        tallies.crossed.lines(), tallies.attempts.lines(), _blocking(traffic, devices, policy)
    )
    reasons = _explain(verdict, reasons, tallies, policy, detail_limit)
    return Assessment(
        verdict=verdict,
        reasons=tuple(reasons),
        closed_network=policy.closed_network,
        closed_network_is_default=policy.closed_network_is_default,
        fail_on=policy.fail_on,
        outbound=tuple(outbound),
        dns=dns,
        findings=tuple(findings),
        devices=devices,
        policy_name=policy.name,
        policy_path=policy.path,
        rhythms=series.detect(),
        summarised=sum(tallies.summarised.values()),
        summarised_crossed=tallies.summarised_crossed,
    )


def _judge_flows(
    traffic: TrafficSummary,
    judge: _Judge,
    tallies: _Tallies,
    series: rhythm.Series,
    limit: int | None,
) -> tuple[list[OutboundFlow], list[Finding]]:
    """Every flow across the boundary, judged, and the findings it raises, in flow order;
    past ``limit`` flows of a device, one finding per group of alike flows, after them."""
    resolutions = _Resolutions(traffic.dns)
    outbound: list[OutboundFlow] = []
    findings: list[Finding] = []
    listed: dict[str, int] = {}
    groups: dict[tuple[object, ...], _Group] = {}
    made: dict[str, int] = {}  # per device: groups
    for flow in traffic.flows:
        if _foreign_on_link(flow, judge):
            tallies.foreign.setdefault(flow.orig, []).append(flow)
            continue
        direction = judge.direction(flow)
        if direction == Direction.INTERNAL or flow.app == "icmp-error":
            continue
        if direction == Direction.TRANSIT:
            tallies.transit += 1
            continue
        judged, expired = _boundary_flow(flow, direction, judge, resolutions)
        series.add(judged)
        if judged.allowed_by:
            tallies.accepted += 1
        seen = listed.get(judged.device, 0)
        if limit is None or seen < limit:
            listed[judged.device] = seen + 1
            outbound.append(judged)
            findings += _flow_findings(judged, expired, tallies)
        else:
            tallies.summarised[judged.device] = tallies.summarised.get(judged.device, 0) + 1
            tallies.summarised_crossed += judged.crossed and not judged.allowed_by
            alike = (judged.device, _outcome(judged), expired, flow.proto, flow.category)
            _group(groups, made, (*alike, _network(judged.remote), judged.label)).add(judged)
    for key, group in groups.items():
        findings += _group_findings(group, bool(key[2]), str(key[5]), limit or 0, tallies)
    return outbound, findings


def _group(
    groups: dict[tuple[object, ...], _Group], made: dict[str, int], key: tuple[object, ...]
) -> _Group:
    """The group of summarised flows ``key`` names (device, outcome, expired, protocol,
    state, remote network, label); past :data:`GROUP_LIMIT` groups of its device, a new
    one's flows join the group of the whole address family instead."""
    group = groups.get(key)
    if group is not None:
        return group
    device = str(key[0])
    if GROUP_LIMIT and made.get(device, 0) >= GROUP_LIMIT:
        key = (*key[:5], whole_family(str(key[5])), key[6])
        group = groups.get(key)
        if group is not None:
            return group
    made[device] = made.get(device, 0) + 1
    group = groups[key] = _Group()
    return group


def _outcome(judged: OutboundFlow) -> str:
    """What a boundary flow amounts to: the finding it raises, or the rule accepting it."""
    if judged.allowed_by:
        return "allowed: " + judged.allowed_by
    if judged.crossed:
        return (
            "BOUNDARY-CROSSED-OUT"
            if judged.direction == Direction.OUTBOUND
            else "BOUNDARY-CROSSED-IN"
        )
    return "OUTBOUND-ATTEMPT"


@lru_cache(maxsize=65536)
def _network(address: str) -> str:
    """The network a summarised remote address is counted in: its /24 (IPv4) or /64."""
    try:
        ip = parse_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv4Address):
        return f"{ipv4_text(int(ip) & ~0xFF)}/24"
    if ip.scope_id is None:
        return f"{ipv6_text(int(ip) >> 64 << 64)}/64"
    # ipaddress keeps a zone only on an address that is its network's first: as it did
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _group_findings(
    group: _Group, expired: bool, network: str, limit: int, tallies: _Tallies
) -> list[Finding]:
    """A summarised group's findings, as :func:`_flow_findings` words one flow's, citing the
    frames of its first flows (each by its own filter)."""
    first = group.judged[0]
    flow, device, label = first.flow, first.device, first.label
    evidence = tuple(e for judged in group.judged for e in flow_evidence(judged.flow))
    found: list[Finding] = []
    if expired:
        text = phrase("exception_expired_summarised", count=group.count, limit=limit)
        found.append(Finding("POLICY-EXCEPTION-EXPIRED", "medium", device, text, evidence, label))
    if first.allowed_by:
        return found
    ports = sorted(group.ports)
    if flow.proto not in ("tcp", "udp"):
        port = ""
    elif len(ports) == 1:
        port = f":{ports[0]}"
    else:
        more = "+" if len(ports) > 64 else ""
        port = f":{ports[0]}-{ports[-1]}{more}"
    remote = first.remote if len(group.remotes) == 1 else network
    ends = (device, remote) if first.direction == Direction.OUTBOUND else (remote, device)
    where = f"{ends[0]} → {ends[1]}{port}/{flow.proto}"
    text = phrase(
        "flows_summarised",
        flow=where,
        network=network,  # the group's (watch keys its alert on it: the flow text grows)
        state=phrase(_STATES[flow.category]),
        label=_label_param(label),
        count=group.count,
        limit=limit,
        cited=len(group.judged),
    )
    rule = _outcome(first)
    if first.crossed:
        found.append(Finding(rule, "high", device, text, evidence, label))
        tallies.crossed.add(text)
    else:
        found.append(Finding(rule, "medium", device, text, evidence, label))
        tallies.attempts.add(text)
    return found


def _boundary_flow(
    flow: Flow, direction: Direction, judge: _Judge, resolutions: _Resolutions
) -> tuple[OutboundFlow, bool]:
    """The flow with its inside end, label and the policy rule accepting it; and whether
    only an expired exception would have accepted it."""
    out = direction == Direction.OUTBOUND
    device, remote = (flow.orig, flow.resp) if out else (flow.resp, flow.orig)
    label, source = judge.label(flow, out)
    names = _flow_names(flow, device, remote, resolutions)
    query = RuleQuery(device, remote, flow.resp_port, flow.proto, names)
    rule, basis, expired = judge.rule_for(query)
    allowed = f"{rule.name}: {rule.reason}" if rule else None
    crossed = _crossed(flow, out, judge)
    judged = OutboundFlow(flow, direction, device, remote, crossed, label, source, allowed, basis)
    return judged, expired and rule is None


def _flow_findings(judged: OutboundFlow, expired: bool, tallies: _Tallies) -> list[Finding]:
    """A crossing (high) or an attempt (medium) unless the policy allows the flow."""
    flow, device, label = judged.flow, judged.device, judged.label
    evidence = flow_evidence(flow)
    found: list[Finding] = []
    if expired:
        text = phrase("exception_expired")
        found.append(Finding("POLICY-EXCEPTION-EXPIRED", "medium", device, text, evidence, label))
    if judged.allowed_by:
        return found
    text = _describe(flow, flow.resp_port, label)
    if judged.crossed:
        out = judged.direction == Direction.OUTBOUND
        rule_id = "BOUNDARY-CROSSED-OUT" if out else "BOUNDARY-CROSSED-IN"
        found.append(Finding(rule_id, "high", device, text, evidence, label))
        tallies.crossed.add(text)
    else:
        found.append(Finding("OUTBOUND-ATTEMPT", "medium", device, text, evidence, label))
        tallies.attempts.add(text)
    return found


def _judge_lookups(
    dns: Iterable[ClassifiedLookup], judge: _Judge, tallies: _Tallies, limit: int | None
) -> list[Finding]:
    """A finding for each look-up of an outside name the policy does not allow; past
    ``limit`` of a device's, one per resolver, outcome and label (a DNS flood, names made
    up by the hundred thousand), after them."""
    findings: list[Finding] = []
    listed: dict[str, int] = {}
    groups: dict[tuple[str, bool, str, str | None], _LookupGroup] = {}
    for item in dns:
        lookup = item.lookup
        if not item.external or (not lookup.names_pooled and _lookup_allowed(lookup, judge)):
            continue
        client = lookup.client
        seen = listed.get(client, 0)
        if not lookup.pooled and (limit is None or seen < limit):
            listed[client] = seen + 1
            findings.append(_lookup_finding(item, tallies))
            continue
        # past the limit, or counted together by the traffic stage (dnslog.DNS_LIMIT)
        count = tallies.lookups_summarised.get(client, 0) + (lookup.pooled or 1)
        tallies.lookups_summarised[client] = count
        key = (client, item.answered_with_addresses, item.lookup.server, item.label)
        groups.setdefault(key, _LookupGroup()).add(item)
    findings += [group.finding(limit or 0, tallies) for group in groups.values()]
    return findings


@dataclass
class _LookupGroup:
    """Look-ups of one device past :data:`DETAIL_LIMIT` that read alike: the same resolver,
    outcome (answered with outside addresses or not) and label.

    Grouped by resolver, not by registered domain: a flood's names may each be under a
    domain of their own (and telling the registered domain needs the public suffix list),
    while a device asks few resolvers, so the groups stay few whatever the names."""

    cited: list[ClassifiedLookup] = field(default_factory=list)  # the first SUMMARY_CITED
    count: int = 0

    def add(self, item: ClassifiedLookup) -> None:
        self.count += item.lookup.pooled or 1
        if len(self.cited) < SUMMARY_CITED:
            self.cited.append(item)

    def finding(self, limit: int, tallies: _Tallies) -> Finding:
        """One finding for the group, as :func:`_lookup_finding` words one look-up's."""
        first = self.cited[0]
        lookup = first.lookup
        names = ", ".join(dict.fromkeys(item.lookup.name for item in self.cited))
        evidence = tuple(e for item in self.cited for e in dns_evidence(item.lookup))
        code = "dns_resolved_summarised" if first.answered_with_addresses else "dns_summarised"
        text = phrase(
            code,
            client=lookup.client,
            server=lookup.server,
            names=names,
            label=_label_param(first.label),
            count=self.count,
            limit=limit,
            cited=len(self.cited),
        )
        if first.answered_with_addresses:
            tallies.crossed.add(text)
            return Finding(
                "DNS-EXTERNAL-RESOLVED", "high", lookup.client, text, evidence, first.label
            )
        tallies.attempts.add(text)
        return Finding("DNS-EXTERNAL-LOOKUP", "medium", lookup.client, text, evidence, first.label)


def _lookup_allowed(lookup: DnsLookup, judge: _Judge) -> bool:
    """Only a rule that names the name allows looking it up. A rule that accepts the
    resolver by address (the site's own DNS server) accepts the flows to it, not every
    outside name a device asks it for: those look-ups are what a phone-home starts with."""
    # The question is the look-up itself, so its name counts as a DNS name here.
    asked = FlowNames(resolved=(lookup.name,))
    query = RuleQuery(lookup.client, lookup.server, 53, "udp", asked, by_name_only=True)
    rule, _basis, _expired = judge.rule_for(query)
    return rule is not None


def _lookup_finding(item: ClassifiedLookup, tallies: _Tallies) -> Finding:
    """An outside address in the answer is a crossing (high); a question alone an attempt."""
    lookup = item.lookup
    asked: dict[str, str | Phrase] = {
        "client": lookup.client,
        "name": lookup.name,
        "qtype": lookup.qtype,
        "label": _label_param(item.label),
    }
    evidence = dns_evidence(lookup)
    if item.answered_with_addresses:
        addresses = [a for a in lookup.answers if _normal(a) is not None]
        text = phrase(
            "dns_resolved",
            server=lookup.server,
            addresses=", ".join(addresses),
            count=len(addresses),
            **asked,
        )
        tallies.crossed.add(text)
        return Finding("DNS-EXTERNAL-RESOLVED", "high", lookup.client, text, evidence, item.label)
    text = phrase("dns_lookup", answer=lookup.rcode or phrase("no_answer"), **asked)
    tallies.attempts.add(text)
    return Finding("DNS-EXTERNAL-LOOKUP", "medium", lookup.client, text, evidence, item.label)


def _explain(
    verdict: Verdict,
    reasons: list[Phrase],
    tallies: _Tallies,
    policy: Policy,
    limit: int | None,
) -> list[Phrase]:
    """The verdict's reasons, plus what a reader must know about how it was reached."""
    if tallies.accepted and verdict == Verdict.ISOLATED:
        reasons = [phrase("allowed", count=tallies.accepted)]
    for device, count in tallies.summarised.items():
        reasons.append(phrase("summarised_device", device=device, count=count, limit=limit or 0))
    for device, count in tallies.lookups_summarised.items():
        reasons.append(phrase("summarised_lookups", device=device, count=count, limit=limit or 0))
    if tallies.foreign:
        hosts = sorted(tallies.foreign, key=_sort_key)
        reasons.append(phrase("foreign_hosts", addresses=", ".join(hosts), count=len(hosts)))
    if tallies.transit:
        reasons.append(phrase("transit", count=tallies.transit))
    if policy.closed_network_is_default:
        reasons.append(phrase("default_network"))
    return reasons


@lru_cache(maxsize=4096)
def link_scoped(ip: str, proto: str) -> bool:
    """True when no router forwards a packet to ``ip``: it stays on the sender's link.

    Limited broadcast, link-local unicast, IPv4 224.0.0.0/24 (Local Network Control
    Block: mDNS, LLMNR, IGMPv3 reports; RFC 5771), IPv6 multicast of interface- or
    link-local scope (ff01::/ff02::, any flags), every IGMP packet (sent with TTL 1 and
    Router Alert to the group itself) and SSDP/WS-Discovery's 239.255.255.250 (RFC 2365
    local scope, sent with TTL 1-4; not forwarded off-link in practice). Other multicast
    groups may be routed, so traffic to them from outside stays a crossing.
    """
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if addr.is_link_local:
        return True
    if isinstance(addr, ipaddress.IPv6Address):
        return addr.is_multicast and (addr.packed[1] & 0x0F) <= 2
    if int(addr) == 0xFFFF_FFFF or addr in _V4_LOCAL_CONTROL or str(addr) == _SSDP_GROUP:
        return True
    return addr.is_multicast and proto == "ip-2"


_V4_LOCAL_CONTROL = ipaddress.ip_network("224.0.0.0/24")
_SSDP_GROUP = "239.255.255.250"


def _foreign_on_link(flow: Flow, judge: _Judge) -> bool:
    """A host outside the closed network talking to a link-scoped group: it sits on the
    segment (nothing routed that packet), so it is a misaddressed neighbour, not a leak."""
    return not judge.inside(flow.orig) and link_scoped(flow.resp, flow.proto)


def _foreign_finding(address: str, flows: list[Flow]) -> Finding:
    macs = sorted({f.orig_mac for f in flows if f.orig_mac})
    targets = sorted({_target(f) for f in flows})
    shown: str | Phrase = ", ".join(targets[:6])
    if len(targets) > 6:
        shown = phrase("and_more", shown=shown, count=len(targets) - 6)
    text = phrase(
        "foreign",
        address=address,
        mac=phrase("foreign_mac", macs=", ".join(macs)) if macs else "",
        count=sum(f.orig_packets for f in flows),
        targets=shown,
    )
    evidence = tuple(e for f in flows for e in flow_evidence(f))
    return Finding("FOREIGN-ADDRESS-ON-SEGMENT", "medium", address, text, evidence)


def _target(flow: Flow) -> str:
    port = f":{flow.resp_port}" if flow.proto in ("tcp", "udp") else ""
    proto = "igmp" if flow.proto == "ip-2" else flow.proto
    return f"{flow.resp}{port}/{proto}"


def _crossed(flow: Flow, out: bool, judge: _Judge) -> bool:
    if not out:
        return True  # a packet from outside was delivered inside the closed network
    if flow.category in _CROSSING:
        return True
    sender = flow.rejected_from
    # An ICMP error from beyond the gateway proves the packet got out.
    return bool(sender and not judge.inside(sender) and sender not in judge.policy.gateways)


def _classify(lookup: DnsLookup, judge: _Judge) -> ClassifiedLookup:
    # look-ups pooled without their names (a DNS flood): outside names, no label (fail closed)
    external = lookup.names_pooled or _external_name(lookup.name, judge)
    named = lookup.name and not lookup.names_pooled
    rule = judge.profiles.match_name(lookup.name) if named else None
    outside = [
        a
        for a in lookup.answers
        if ("/" in a and not judge.inside(a))  # a network such an entry kept: all inside?
        or (
            _normal(a) is not None
            and not judge.inside(a)
            and not ipaddress.ip_address(a).is_unspecified
        )
    ]
    answered = external and lookup.rcode == "NOERROR" and bool(outside)
    return ClassifiedLookup(lookup, external, rule.label if rule else None, answered)


def _devices(traffic: TrafficSummary, judge: _Judge, profiles: Profiles) -> tuple[HostInfo, ...]:
    macs = {h.ip: h.mac for h in traffic.hosts}
    seen: set[str] = set()
    for flow in traffic.flows:
        if flow.orig_packets:
            seen.add(flow.orig)
        if flow.resp_packets:
            seen.add(flow.resp)
    seen = {ip for ip in seen if "/" not in ip}  # a network a scan was pooled to is no device
    chosen = sorted(
        (ip for ip in seen if judge.policy.scope.contains(ip) and not never_leaves_link(ip)),
        key=_sort_key,
    )
    if judge.policy.devices:
        chosen = [ip for ip in chosen if in_networks(ip, networks(judge.policy.devices))]
    hosts = []
    for ip in chosen:
        mac = macs.get(ip)
        entry = profiles.oui_lookup(mac) if mac else None
        hosts.append(HostInfo(ip, mac, entry.organisation if entry else None))
    return tuple(hosts)


def _sort_key(ip: str) -> tuple[int, int]:
    addr = ipaddress.ip_address(ip)
    return addr.version, int(addr)


def _blocking(
    traffic: TrafficSummary, devices: tuple[HostInfo, ...], policy: Policy
) -> list[Phrase]:
    reasons: list[Phrase] = []
    if traffic.packets == 0:
        reasons.append(phrase("no_packets"))
    elif not devices:
        reasons.append(phrase("no_device_packets" if policy.devices else "no_inside_packets"))
    problems: list[Problem] = list(traffic.problems)
    for item in traffic.inputs:
        problems.extend(item.problems)
    return reasons + blocking_problems(problems)


def blocking_problems(problems: Iterable[Problem]) -> list[Phrase]:
    """The problems that stop the captures from proving isolation, one phrase each."""
    return [_problem(p) for p in problems if p.code in BLOCKING_PROBLEMS]


def _problem(problem: Problem) -> Phrase:
    message = problem_phrase(problem)
    if problem.capture:
        return phrase("capture_problem", capture=problem.capture, problem=message)
    return message


@dataclass(frozen=True)
class VerdictWords:
    """The phrase keys a verdict speaks with: the whole evidence's, or one device's."""

    crossed: str
    tried: str
    nothing_out: str


WHOLE = VerdictWords("crossed", "tried", "nothing_out")
DEVICE = VerdictWords("device_crossed", "device_tried", "device_nothing_out")


def decide(
    crossed: Sequence[Phrase],
    attempts: Sequence[Phrase],
    blocking: Sequence[Phrase],
    words: VerdictWords = WHOLE,
    *,
    unseen: Phrase | None = None,
    inherited: Sequence[Phrase] = (),
) -> tuple[Verdict, list[Phrase]]:
    """The one fail-closed order of verdicts, for the whole evidence and for each device.

    A crossing makes it not_isolated; then whatever the evidence cannot show (the device
    never ``unseen`` in it, ``blocking`` problems) makes it inconclusive; then attempts make
    it isolated_with_attempts; a verdict ``inherited`` as inconclusive stays so; only then
    isolated.
    """
    if crossed:
        return Verdict.NOT_ISOLATED, [phrase(words.crossed, detail=c) for c in crossed]
    if unseen is not None:
        return Verdict.INCONCLUSIVE, [unseen]
    if blocking:
        reasons = [phrase("cannot_show", detail=b) for b in blocking]
        reasons += [phrase("attempt", detail=a) for a in attempts]
        return Verdict.INCONCLUSIVE, reasons
    if attempts:
        return Verdict.ISOLATED_WITH_ATTEMPTS, [phrase(words.tried, detail=a) for a in attempts]
    if inherited:
        # The whole verdict could not be reached for a reason this device shares.
        return Verdict.INCONCLUSIVE, [phrase("whole_inconclusive", detail=r) for r in inherited]
    return Verdict.ISOLATED, [phrase(words.nothing_out)]
