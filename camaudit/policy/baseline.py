"""A policy written from a capture of a known-good network, to be reviewed, then enforced.

Like ssh-audit's policy maker: what the capture shows becomes a policy file. The internal
services the devices used (NTP, DNS, NVR/VMS, syslog ...) become ``[[allow]]`` entries with a
reason to fill in. Traffic that left the closed network (or tried to) is never allowed
silently: a baseline of a network that leaks would bake the leak in, so each such flow or
outside look-up is written as a commented-out ``[[exception]]`` with a ``TODO`` reason, and
listed in :attr:`Baseline.warnings`. The text is deterministic: no clock, sorted entries.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from camaudit.knowledge import Profiles
from camaudit.model import Assessment, Direction, Flow, FlowCategory, TrafficSummary, Verdict
from camaudit.policy.evaluate import assess
from camaudit.policy.load import Policy, ServiceRule, load_policy, never_leaves_link
from camaudit.sanitize import clean_text

__all__ = ["Baseline", "Crossing", "Service", "make_baseline", "render_policy"]

# A policy file is read back with a 64 KiB bound; a capture of a busy network could list
# thousands of peers, and a reviewer cannot review that many rules anyway.
MAX_ENTRIES = 200
_RULE_PROTOS = ("tcp", "udp", "icmp", "icmpv6")


@dataclass(frozen=True)
class Service:
    """An inside server the devices used: one ``[[allow]]`` entry."""

    host: str
    proto: str
    port: int
    app: str | None
    clients: tuple[str, ...]
    flows: int
    first: str  # "capture#frame" of the first flow, for the reviewer
    # Findings of the baseline capture this entry would accept if allowed: such an entry
    # is written commented out, like a crossing.
    accepts: int = 0


@dataclass(frozen=True)
class Crossing:
    """Traffic to or from the outside (or an outside name looked up): a commented exception."""

    kind: str  # "crossed" | "attempt" | "dns"
    remote: str | None  # outside address; None for a look-up
    proto: str
    port: int | None
    names: tuple[str, ...]  # the outside name looked up ("dns" only)
    devices: tuple[str, ...]
    label: str | None  # phone-home label from the profiles
    flows: int
    first: str


@dataclass(frozen=True)
class Baseline:
    """What a known-good capture shows, ready to be written as a policy."""

    name: str
    closed_network: tuple[str, ...]
    sources: tuple[str, ...]
    verdict: Verdict
    services: tuple[Service, ...]
    crossings: tuple[Crossing, ...]
    warnings: tuple[str, ...]
    omitted: int = 0  # entries left out above MAX_ENTRIES


def make_baseline(
    traffic: TrafficSummary,
    closed_network: Sequence[str],
    profiles: Profiles,
    name: str = "baseline",
    sources: Sequence[str] = (),
) -> Baseline:
    """Summarise ``traffic`` against ``closed_network`` (CIDRs, required) as a baseline.

    The closed network must be stated: the built-in default (every private range) would
    make the baseline say nothing about where this site's boundary is.
    """
    policy = load_policy(None, closed_network)
    if policy.closed_network_is_default:
        from camaudit.errors import UsageError

        raise UsageError("baseline needs --closed-network: the boundary is what it records")
    # every crossing by itself: the baseline lists them, never a summary of them
    assessment = assess(traffic, policy, profiles, detail_limit=None)
    services = _unsafe_marked(_services(traffic.flows, policy), traffic, policy, profiles)
    crossings = _crossings(assessment)
    entries = sorted(services, key=_service_key) + sorted(crossings, key=_crossing_key)
    kept = entries[:MAX_ENTRIES]
    unsafe = sum(1 for s in services if s.accepts)
    warnings = _warnings(assessment, crossings, unsafe, len(entries) - len(kept))
    return Baseline(
        name=name,
        closed_network=policy.closed_network,
        sources=tuple(sources),
        verdict=assessment.verdict,
        services=tuple(e for e in kept if isinstance(e, Service)),
        crossings=tuple(e for e in kept if isinstance(e, Crossing)),
        warnings=warnings,
        omitted=len(entries) - len(kept),
    )


def _where(flow: Flow) -> str:
    return f"{flow.first.capture}#{flow.first.frame}"


def _is_service(flow: Flow, policy: Policy) -> bool:
    if flow.proto not in ("tcp", "udp") or never_leaves_link(flow.resp):
        return False  # multicast discovery and broadcast are not a service on a host
    if not (policy.is_inside(flow.orig) and policy.is_inside(flow.resp)):
        return False
    # An unanswered SYN is a probe or a scan, not a service the devices rely on.
    return flow.proto == "udp" or flow.resp_packets > 0 or flow.category == FlowCategory.ESTABLISHED


def _services(flows: Iterable[Flow], policy: Policy) -> list[Service]:
    grouped: dict[tuple[str, str, int], list[Flow]] = {}
    for flow in flows:
        if _is_service(flow, policy):
            grouped.setdefault((flow.resp, flow.proto, flow.resp_port), []).append(flow)
    out = []
    for (host, proto, port), members in grouped.items():
        apps = sorted({f.app for f in members if f.app})
        out.append(
            Service(
                host=host,
                proto=proto,
                port=port,
                app=apps[0] if len(apps) == 1 else None,
                clients=tuple(sorted({f.orig for f in members}, key=_address_key)),
                flows=len(members),
                first=_where(min(members, key=lambda f: f.first.time)),
            )
        )
    return out


def _rule(item: Service) -> ServiceRule:
    return ServiceRule(
        name=_service_name(item),
        reason="",
        hosts=(_cidr(item.host),),
        ports=(item.port,),
        proto=item.proto,
    )


def _flagged(traffic: TrafficSummary, policy: Policy, profiles: Profiles) -> int:
    return len(assess(traffic, policy, profiles, detail_limit=None).findings)


def _unsafe_marked(
    services: list[Service], traffic: TrafficSummary, policy: Policy, profiles: Profiles
) -> list[Service]:
    """Mark each service whose allow entry would accept a finding of the baseline capture.

    Checked with the evaluator itself, so the baseline can never allow what ``verify``
    would flag: once with every entry, and entry by entry only when that changes anything.
    """
    if not services:
        return services
    bare = _flagged(traffic, policy, profiles)

    def with_rules(*rules: ServiceRule) -> Policy:
        return Policy(name="baseline", path=None, closed_network=policy.closed_network, allow=rules)

    if _flagged(traffic, with_rules(*(_rule(s) for s in services)), profiles) == bare:
        return services
    out = []
    for item in services:
        accepted = bare - _flagged(traffic, with_rules(_rule(item)), profiles)
        out.append(dataclasses.replace(item, accepts=accepted) if accepted else item)
    return out


def _crossings(assessment: Assessment) -> list[Crossing]:
    grouped: dict[tuple[str, str, str, int | None], list[tuple[str, str | None, str]]] = {}
    for item in assessment.outbound:
        flow = item.flow
        port = flow.resp_port if flow.proto in ("tcp", "udp") else None
        kind = "crossed" if item.crossed else "attempt"
        if item.direction == Direction.INBOUND:
            kind = "crossed"
        key = (kind, item.remote, flow.proto, port)
        grouped.setdefault(key, []).append((item.device, item.label, _where(flow)))
    out = [
        Crossing(
            kind=kind,
            remote=remote,
            proto=proto,
            port=port,
            names=(),
            devices=tuple(sorted({d for d, _, _ in seen}, key=_address_key)),
            label=next((label for _, label, _ in seen if label), None),
            flows=len(seen),
            first=seen[0][2],
        )
        for (kind, remote, proto, port), seen in grouped.items()
    ]
    looked_up: dict[str, list[tuple[str, str | None, str]]] = {}
    for entry in assessment.dns:
        if entry.external:
            lookup = entry.lookup
            ref = lookup.query or lookup.response
            where = f"{ref.capture}#{ref.frame}" if ref else "?"
            looked_up.setdefault(lookup.name, []).append((lookup.client, entry.label, where))
    for name, seen in looked_up.items():
        out.append(
            Crossing(
                kind="dns",
                remote=None,
                proto="udp",
                port=53,
                names=(name,),
                devices=tuple(sorted({d for d, _, _ in seen}, key=_address_key)),
                label=next((label for _, label, _ in seen if label), None),
                flows=len(seen),
                first=seen[0][2],
            )
        )
    return out


def _warnings(
    assessment: Assessment, crossings: Sequence[Crossing], unsafe: int, omitted: int
) -> tuple[str, ...]:
    out: list[str] = []
    crossed = sum(1 for c in crossings if c.kind == "crossed")
    tried = len(crossings) - crossed
    if crossed:
        out.append(
            f"{crossed} destination(s) outside the closed network were reached in the baseline "
            "capture; they are written as commented-out exceptions, not allowed"
        )
    if tried:
        out.append(
            f"{tried} unanswered outside destination(s) or outside name look-up(s) are in the "
            "baseline capture; they are written as commented-out exceptions, not allowed"
        )
    if unsafe:
        out.append(
            f"{unsafe} internal service(s) would also accept traffic flagged above if "
            "allowed (a resolver answering outside names); they are written commented out"
        )
    if assessment.verdict == Verdict.INCONCLUSIVE:
        out.append(
            "the baseline capture cannot show isolation (see `camaudit verify`): "
            "review it before trusting this policy"
        )
    if omitted:
        out.append(f"{omitted} more entr(y/ies) left out: the policy lists at most {MAX_ENTRIES}")
    return tuple(out)


def _address_key(ip: str) -> tuple[int, int, str]:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return 9, 0, ip
    return addr.version, int(addr), ""


def _service_key(item: Service) -> tuple[tuple[int, int, str], str, int]:
    return _address_key(item.host), item.proto, item.port


def _crossing_key(item: Crossing) -> tuple[str, tuple[int, int, str], str, str, int]:
    where = _address_key(item.remote) if item.remote else (0, 0, "")
    return item.kind, where, ",".join(item.names), item.proto, item.port or 0


# -- writing -------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A TOML basic string: every control character escaped, so nothing breaks a line."""
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _list(items: Iterable[str | int]) -> str:
    return "[" + ", ".join(_q(i) if isinstance(i, str) else str(i) for i in items) + "]"


def _cidr(ip: str) -> str:
    return f"{ip}/128" if ":" in ip else f"{ip}/32"


def _comment(text: str) -> str:
    # Capture names and profile labels are untrusted: one printable line, never a newline.
    return "# " + clean_text(text, 400)


def _service_name(item: Service) -> str:
    what = f"{item.app} " if item.app else ""
    return f"{what}{item.proto}/{item.port} on {item.host}"


def _service_lines(item: Service) -> list[str]:
    clients = ", ".join(item.clients[:8]) + (
        f" and {len(item.clients) - 8} more" if len(item.clients) > 8 else ""
    )
    body = [
        "[[allow]]",
        f"name = {_q(_service_name(item))}",
        f"hosts = {_list([_cidr(item.host)])}",
        f"proto = {_q(item.proto)}",
        f"ports = {_list([item.port])}",
        f"reason = {_q('TODO: why the devices need this service')}",
    ]
    lines = [_comment(f"seen: {item.flows} flow(s) from {clients}; first at {item.first}")]
    if item.accepts:
        lines.append(
            _comment(
                f"NOT allowed: this entry would also accept {item.accepts} finding(s) of "
                "this capture (look-ups of outside names through this resolver)"
            )
        )
        body = [f"# {line}" for line in body]
    return [*lines, *body, ""]


def _crossing_lines(item: Crossing) -> list[str]:
    if item.kind == "dns":
        title = f"look-up of {item.names[0]}"
        heading = f"outside name looked up {item.flows} time(s)"
    else:
        port = f"/{item.port}" if item.port is not None else ""
        title = f"{item.kind} {item.proto}{port} {item.remote}"
        verb = "reached" if item.kind == "crossed" else "tried, not answered from outside"
        heading = f"{verb}: {item.flows} flow(s)"
    label = f" — {item.label}" if item.label else ""
    body = ["[[exception]]", f"name = {_q(title)}"]
    if item.remote:
        body.append(f"hosts = {_list([_cidr(item.remote)])}")
    if item.names:
        body.append(f"names = {_list(item.names)}")
    if item.proto in _RULE_PROTOS:
        body.append(f"proto = {_q(item.proto)}")
    if item.port is not None:
        body.append(f"ports = {_list([item.port])}")
    body.append(f"devices = {_list([_cidr(d) for d in item.devices])}")
    body.append(f"reason = {_q('TODO: who accepted this, and why (ticket)')}")
    body.append("# expires = 2027-01-01")
    return [
        _comment(f"{heading} from {', '.join(item.devices)}; first at {item.first}{label}"),
        *(line if line.startswith("#") else f"# {line}" for line in body),
        "",
    ]


def render_policy(baseline: Baseline) -> str:
    """The policy file's text: loads with :func:`~camaudit.policy.load.load_policy` as is."""
    lines = [
        "# Written by `camaudit baseline` from a capture of a network taken to be good.",
        "# Review every entry and replace every TODO reason before you enforce it with",
        "# `camaudit verify --policy THIS_FILE`. Allowed entries are the services seen inside.",
        "# Traffic that left the closed network (or tried to) is NOT allowed: it is listed",
        "# below as commented-out exceptions, to be accepted one by one or fixed.",
    ]
    lines += [_comment(f"capture: {source}") for source in baseline.sources]
    lines.append(
        _comment(f"verdict of the capture against this closed network: {baseline.verdict.value}")
    )
    lines += [_comment(f"WARNING: {w}") for w in baseline.warnings]
    lines += [
        "schema_version = 1",
        f"name = {_q(baseline.name)}",
        f"closed_network = {_list(baseline.closed_network)}",
        'fail_on = "attempts"',
        "",
    ]
    if baseline.services:
        lines.append("# -- services inside the closed network ---------------------------------")
        lines.append("")
    for service in baseline.services:
        lines += _service_lines(service)
    if baseline.crossings:
        lines.append("# -- outside the closed network: NOT allowed until reviewed -------------")
        lines.append("")
    for crossing in baseline.crossings:
        lines += _crossing_lines(crossing)
    return "\n".join(lines).rstrip("\n") + "\n"
