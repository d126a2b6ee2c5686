"""Console rendering of a report with rich; every cell is plain :class:`Text` (no markup).

Headings, labels and verdict words go through the translator (``--lang``); the evidence
itself (addresses, names, filters, the policy's reasons) is shown as seen, cleaned.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from camaudit.i18n import N_, Translator, translator
from camaudit.messages import CATEGORIES, HEADINGS, SEVERITIES, TERMS, VERDICT_NAMES
from camaudit.model import Direction, Rhythm
from camaudit.phrases import config_text, label_text, problem_text, reason_text
from camaudit.report.compliance import (
    REGISTER_KINDS,
    ControlsSection,
    control_rows,
    report_findings,
)
from camaudit.report.model import (
    AuditDeviceEntry,
    AuditReport,
    BoundaryFlowEntry,
    DeviceEntry,
    FindingEntry,
    InventoryReport,
    MethodEntry,
    Report,
    VerifyReport,
)
from camaudit.report.register import RegisterSection
from camaudit.report.render import by_kind
from camaudit.report.sections import lookup_name
from camaudit.report.table import IdentifiedDevice, TrafficReport, passive_cells, passive_lines
from camaudit.sanitize import clean_text

_VERDICT_STYLE = {
    "isolated": "bold green",
    "isolated_with_attempts": "bold yellow",
    "not_isolated": "bold red",
    "inconclusive": "bold magenta",
}
# The width of a rendering written to a file (and of the golden files).
TEXT_WIDTH = 120
_STATE_STYLE = {
    "established": "red",
    "two_way": "red",
    "attempted": "yellow",
    "rejected": "yellow",
    "one_way": "yellow",
}


def _t(value: object, style: str = "") -> Text:
    return Text(clean_text(str(value)) if value is not None else "", style=style)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, ValueError, OSError):  # the capture's problems say why
        return f"{epoch:g} (out of range)"


FINDINGS_SHOWN = 25
ROWS_SHOWN = 60


def _short(path: str, captures: int) -> str:
    """File name only when it is unambiguous enough for a table cell; full paths are in JSON."""
    return path.rsplit("/", 1)[-1] if captures else path


def _head(report: TrafficReport, t: Translator) -> Panel:
    style = _VERDICT_STYLE[report.verdict]
    word = t.gettext(VERDICT_NAMES[report.verdict]).upper()
    closed = report.closed_network
    cidrs = ", ".join(closed.cidrs) + (t.gettext(" (default)") if closed.default else "")
    s = report.summary
    n = t.format_number
    lines = [
        Text.assemble(
            (t.gettext(HEADINGS["verdict"]) + ": ", "bold"),
            (word, style),
            "   " + t.gettext("(exit code {code})", code=report.exit_code),
        ),
        Text.assemble(
            (t.gettext(HEADINGS["closed_network"]) + ": ", "bold"), clean_text(cidrs, 400)
        ),
        Text.assemble(
            (t.gettext(HEADINGS["policy"]) + ": ", "bold"),
            clean_text(report.policy.name),
            f"  fail_on={report.policy.fail_on}",
        ),
        Text(
            t.gettext(
                "{captures} capture(s), {packets} packets, {flows} flows, {devices} device(s); "
                "{outbound} flow(s) across the boundary ({crossed} crossed); "
                "{lookups} outside look-up(s)",
                captures=n(s.captures),
                packets=n(s.packets),
                flows=n(s.flows),
                devices=n(s.devices),
                outbound=n(s.outbound),
                crossed=n(s.crossed),
                lookups=n(s.external_lookups),
            )
        ),
    ]
    reasons = [_t(f"• {reason_text(r, t)}") for r in report.reasons]
    title = f"camaudit {report.kind}"
    return Panel(Group(*lines, Text(""), *reasons), title=title, expand=True)


def _table(title: str, columns: Iterable[str], caption: str | None = None) -> Table:
    table = Table(title=title, expand=True, caption=caption)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def _inputs(report: TrafficReport, t: Translator) -> Table:
    columns = (
        t.gettext("file"),
        t.gettext("format"),
        t.gettext("packets"),
        t.gettext("from"),
        t.gettext("to"),
        t.gettext("link"),
        t.gettext("problems"),
    )
    table = _table(t.gettext(HEADINGS["captures"]), columns)
    for item in report.inputs:
        fmt = item.format + ("+gzip" if item.compression else "")
        problems = "; ".join(problem_text(p, t) for p in item.problems) or "-"
        table.add_row(
            _t(item.path),
            _t(fmt),
            _t(item.packets),
            _t(_when(item.first_time)),
            _t(_when(item.last_time)),
            _t(",".join(item.link_types)),
            _t(problems, "yellow" if item.problems else ""),
        )
    return table


def _frames(row: BoundaryFlowEntry, captures: int) -> str:
    first = f"{_short(row.capture, captures)}#{row.first_frame}"
    if row.last_capture != row.capture:
        return f"{first} … {_short(row.last_capture, captures)}#{row.last_frame}"
    if row.last_frame != row.first_frame:
        return f"{first}-{row.last_frame}"
    return first


def _more(total: int, shown: int, t: Translator) -> str | None:
    if total <= shown:
        return None
    return t.gettext("{count} more in the JSON report", count=t.format_number(total - shown))


def _outbound(report: TrafficReport, t: Translator) -> Table:
    rows = report.outbound[:ROWS_SHOWN]
    columns = (
        t.gettext("device"),
        t.gettext("remote"),
        t.gettext("port"),
        t.gettext("state"),
        t.gettext("pkts out/in"),
        t.gettext("names"),
        t.gettext("label"),
        t.gettext("frames"),
    )
    table = _table(
        t.gettext("Flows across the boundary"), columns, _more(len(report.outbound), len(rows), t)
    )
    captures = len(report.inputs)
    for row in rows:
        arrow = "→" if row.direction == Direction.OUTBOUND else "←"
        word = t.gettext(CATEGORIES[row.state]) if row.state in CATEGORIES else row.state
        state = f"{word} [{row.conn_state}]"
        if row.allowed_by:
            state += " " + t.gettext("(allowed: {basis})", basis=row.allowed_basis)
        port = f"{row.dport}/{row.proto}" if row.proto in ("tcp", "udp") else row.proto
        table.add_row(
            _t(row.device),
            _t(f"{arrow} {row.remote}"),
            _t(port),
            _t(state, "dim" if row.allowed_by else _STATE_STYLE.get(row.state, "")),
            _t(f"{row.packets_out}/{row.packets_in}"),
            _t(", ".join(row.names)),
            _t(label_text(row.label, t)),
            _t(_frames(row, captures)),
        )
    return table


def _dns(report: TrafficReport, t: Translator) -> Table:
    external = [row for row in report.dns if row.external]
    columns = (
        t.gettext("client"),
        t.gettext("name"),
        t.gettext("type"),
        t.gettext("answer"),
        t.gettext("label"),
        t.gettext("frame"),
    )
    table = _table(t.gettext(HEADINGS["dns"]), columns, _more(len(external), ROWS_SHOWN, t))
    captures = len(report.inputs)
    for row in external[:ROWS_SHOWN]:
        answer = row.rcode or t.gettext("no answer")
        if row.answers:
            answer += ": " + ", ".join(row.answers)
        frame = row.frame or row.response_frame
        table.add_row(
            _t(row.client),
            _t(lookup_name(row, t)),
            _t(row.qtype),
            _t(answer, "red" if row.answered_with_addresses else "yellow"),
            _t(label_text(row.label, t)),
            _t(f"{_short(row.capture or '', captures)}#{frame}"),
        )
    return table


def _findings(report: TrafficReport, t: Translator) -> Table:
    shown = report.findings[:FINDINGS_SHOWN]
    columns = (t.gettext("rule"), t.gettext("severity"), t.gettext("device"), t.gettext("evidence"))
    table = _table(
        t.gettext("Findings (open the capture in Wireshark with the filter shown)"),
        columns,
        _more(len(report.findings), len(shown), t),
    )
    captures = len(report.inputs)
    for f in shown:
        evidence = Text("\n").join(
            _t(
                t.gettext(
                    "{capture} frames {frames}: {filter}",
                    capture=_short(e.capture, captures),
                    frames=",".join(map(str, e.frames)),
                    filter=e.display_filter,
                )
            )
            for e in f.evidence
        )
        style = {"high": "red", "medium": "yellow"}.get(f.severity, "")
        severity = t.gettext(SEVERITIES[f.severity]) if f.severity in SEVERITIES else f.severity
        table.add_row(_t(f.rule), _t(severity, style), _t(f.device or "-"), evidence)
    return table


def duration(seconds: float, t: Translator) -> str:
    """``2 s``, ``5 min``, ``3 h``, ``2 days`` in the reader's language."""
    if seconds < 120:
        return t.gettext("{value} s", value=t.format_number(round(seconds, 2)))
    if seconds < 2 * 3600:
        return t.gettext("{value} min", value=t.format_number(round(seconds / 60, 1)))
    if seconds < 48 * 3600:
        return t.gettext("{value} h", value=t.format_number(round(seconds / 3600, 1)))
    return t.gettext("{value} days", value=t.format_number(round(seconds / 86400, 1)))


def describe_rhythm(r: Rhythm, t: Translator) -> str:
    """The rhythm in one sentence: who, what, how often, how many times, from when to when."""
    fields = {
        "device": r.device,
        "destination": r.destination,
        "where": f"{r.proto}/{r.port}" if r.port else r.proto,
        "period": duration(r.period, t),
        "jitter": duration(r.jitter, t),
        "count": t.format_number(r.count),
        "first": t.format_datetime(r.first.time),
        "last": t.format_datetime(r.last.time),
        "crossed": t.format_number(r.crossed),
    }
    if r.crossed:
        return t.gettext(
            "{device} reached {destination} ({where}) every {period} (±{jitter}), {count} "
            "times from {first} to {last}, {crossed} of them across the boundary: a device "
            "configured to reach {destination}.",
            **fields,
        )
    return t.gettext(
        "{device} tried {destination} ({where}) every {period} (±{jitter}), {count} times "
        "from {first} to {last}: a device configured to reach {destination}.",
        **fields,
    )


def _rhythm(report: TrafficReport, t: Translator) -> Table:
    captures = len(report.inputs)
    columns = (t.gettext("repeated connection"), t.gettext("score"), t.gettext("frames"))
    table = _table(
        t.gettext("Phone-home rhythm (regular repeats: score 1 is a perfect timer)"), columns
    )
    for r in report.rhythm:
        frames = f"{_short(r.first.capture, captures)}#{r.first.frame} … "
        frames += f"{_short(r.last.capture, captures)}#{r.last.frame}"
        table.add_row(_t(describe_rhythm(r, t)), _t(t.format_number(r.score)), _t(frames))
    return table


def render(report: VerifyReport, console: Console, t: Translator | None = None) -> None:
    """Print the report for a person: verdict first, then the evidence behind it."""
    t = t or translator("en")
    console.print(_head(report, t))
    console.print(_inputs(report, t))
    if report.outbound:
        console.print(_outbound(report, t))
    if any(row.external for row in report.dns):
        console.print(_dns(report, t))
    if report.findings:
        console.print(_findings(report, t))
    if report.rhythm:
        console.print(_rhythm(report, t))
    for p in report.problems:
        label = t.gettext("problem")
        console.print(_t(f"{label} [{p.code}]: {problem_text(p, t)}", "yellow"))


def render_report(report: Report, console: Console, t: Translator | None = None) -> None:
    """Print any report on ``console``: a verify report, an inventory or an audit."""
    by_kind(report, render, render_inventory, render_audit, console, t or translator("en"))


def render_text(report: Report, t: Translator) -> str:
    """The console rendering as plain text: a terminal of TEXT_WIDTH columns, no colour.

    What ``--format console --output FILE`` writes; no escape code, nothing from the
    caller's environment (COLUMNS, NO_COLOR, TERM), so the same report gives the same bytes.
    """
    out = io.StringIO()
    console = Console(file=out, width=TEXT_WIDTH, color_system=None, _environ={})
    render_report(report, console, t)
    return out.getvalue()


def _identity_cells(device: IdentifiedDevice, t: Translator) -> tuple[str, str, str, str]:
    """Vendor, model, firmware and confidence of an inventory's or an audit's device."""
    ident = device.identity
    if not ident:
        vendor = device.oui_vendor or ""
        return (t.gettext("{vendor} (OUI only)", vendor=vendor) if vendor else "-", "", "", "")
    unknown = t.gettext(TERMS["unknown"])
    vendor = ident.vendor or unknown
    if ident.oem_brand:
        vendor = f"{ident.oem_brand} ({vendor})"
    firmware = ident.firmware or unknown
    if ident.build_date:
        firmware += f" [{ident.build_date}]"
    return vendor, ident.model or "", firmware, f"{ident.confidence:.2f}"


def _device_row(d: DeviceEntry, t: Translator) -> list[Text]:
    vendor, model, firmware, conf = _identity_cells(d, t)
    cves = ", ".join(c.cve + (" (KEV)" if c.kev_date_added else "") for c in d.cves)
    if not cves and d.identity and not d.identity.firmware:
        cves = "not assessed: firmware unknown (credentials read it)"
    found = ", ".join(d.found_by) + (" (timed out)" if d.timed_out else "")
    cells = [d.ip or "-", d.mac or "-", found or "fingerprint", vendor, model, firmware, conf]
    return [*map(_t, cells), _t(cves or "-", "red" if d.cves else "")]


def _device_notes(d: DeviceEntry, t: Translator) -> list[Text]:
    """What a reader must know about one device beyond its table row."""
    who = d.ip or d.mac or "?"
    conflicts = d.identity.conflicts if d.identity else ()
    notes = [_t(f"{who}: conflicting evidence: {c}", "yellow") for c in conflicts]
    notes += [_t(f"{who}: {config_text(c, t)}", "yellow") for c in d.config_findings]
    notes += [_t(f"{who}: {w}", "red") for w in d.warnings]
    if d.mac_conflicts:
        notes.append(_t(f"{who}: several MACs answered: {', '.join(d.mac_conflicts)}", "yellow"))
    return notes


def _inventory_head(report: InventoryReport, t: Translator) -> Panel:
    inv = report.inventory
    s = inv.summary
    n = t.format_number
    where = ""
    if inv.target:
        where = t.gettext(" on {networks}", networks=", ".join(inv.target.networks))
        if inv.target.interface:
            where += t.gettext(" via {interface}", interface=inv.target.interface)
    text = t.gettext(
        "{devices} device(s){where}: {identified} identified, {cves} with known CVEs "
        "({kev} in CISA KEV), {timed_out} timed out",
        devices=n(s.devices),
        where=where,
        identified=n(s.identified),
        cves=n(s.with_cves),
        kev=n(s.with_kev),
        timed_out=n(s.timed_out),
    )
    return Panel(_t(text, "bold"), title="camaudit inventory")


def _methods(attempts: Iterable[MethodEntry], t: Translator) -> Table:
    columns = (
        t.gettext("method"),
        t.gettext("status"),
        t.gettext("seconds"),
        t.gettext("sightings"),
        t.gettext("note"),
    )
    table = _table(t.gettext("Discovery methods"), columns)
    for a in attempts:
        remark = str(a.error or "")
        if a.timed_out_hosts:
            remark += f" timed out: {', '.join(a.timed_out_hosts)}"
        table.add_row(
            _t(a.method), _t(a.status), _t(f"{a.duration:.1f}"), _t(a.sightings), _t(remark.strip())
        )
    return table


def render_inventory(
    report: InventoryReport, console: Console, t: Translator | None = None
) -> None:
    """Print an inventory: every device, who made it, its firmware and advisories."""
    t = t or translator("en")
    inv = report.inventory
    console.print(_inventory_head(report, t))
    columns = (
        "ip",
        "mac",
        t.gettext("found by"),
        t.gettext("vendor"),
        t.gettext("model"),
        t.gettext("firmware"),
        t.gettext("conf"),
        "CVEs",
    )
    table = _table(t.gettext(HEADINGS["devices"]), columns, _more(len(inv.devices), ROWS_SHOWN, t))
    notes: list[Text] = []
    for d in inv.devices[:ROWS_SHOWN]:
        table.add_row(*_device_row(d, t))
        notes += _device_notes(d, t)
    notes += [_t(o.finding, "red") for o in inv.outside_target]
    if inv.closed_network.default:
        notes.append(
            _t(
                "device settings checked against the default closed network "
                f"({', '.join(inv.closed_network.networks)}); give --closed-network to name yours"
            )
        )
    console.print(table)
    for note in notes:
        console.print(note)
    if inv.attempts:
        console.print(_methods(inv.attempts, t))
    _sections(report, console, t)


# Where an audit found a device: by discovery (swept and probed), in the traffic, or both.
SOURCES = {"discovery": N_("discovery"), "traffic": N_("traffic")}


def _audit_row(d: AuditDeviceEntry, t: Translator) -> list[Text]:
    vendor, model, firmware, _confidence = _identity_cells(d, t)
    guess = d.passive_identity
    if d.identity is None and guess is not None:  # names the device chose: marked as such
        vendor, model = passive_cells(guess.oem_brand or guess.vendor or "", guess.model or "", t)
    cves = ", ".join(c.cve + (" (KEV)" if c.kev_date_added else "") for c in d.cves)
    style = _VERDICT_STYLE[d.verdict.verdict]
    word = t.gettext(VERDICT_NAMES[d.verdict.verdict]).upper()
    seen = "+".join(t.gettext(SOURCES[s]) if s in SOURCES else s for s in d.sources)
    cells = [d.ip or "-", d.mac or "-", seen, vendor, model, firmware]
    return [*map(_t, cells), _t(cves or "-", "red" if d.cves else ""), _t(word, style)]


def _audit_notes(d: AuditDeviceEntry, t: Translator) -> list[Text]:
    """Why each device got its verdict, and what could not be checked for it."""
    from camaudit.audit.devices import audit_text  # audits only: verify loads no audit code

    who = d.ip or d.mac or "?"
    cloud, not_checked = t.gettext("vendor cloud"), t.gettext(TERMS["not_checked"])
    notes = [_t(f"{who}: {reason_text(r, t)}") for r in d.verdict.reasons]
    notes += [_t(f"{who}: {config_text(c, t)}", "yellow") for c in d.config_findings]
    notes += [_t(f"{who}: {cloud}: {label}", "yellow") for label in d.cloud_labels]
    notes += [_t(f"{who}: {line}", "dim") for line in passive_lines(d, t)]
    notes += [_t(f"{who}: {not_checked}: {audit_text(n, t)}", "dim") for n in d.not_checked]
    return notes


def _words(t: Translator, *messages: str) -> tuple[str, ...]:
    """Column headings (catalogue messages) in the reader's language."""
    return tuple(t.gettext(m) for m in messages)


def _controls(section: ControlsSection, t: Translator, findings: Sequence[FindingEntry]) -> Table:
    """The control-by-control section: each control's status and the findings behind it,
    one line per rule with the devices it names."""
    columns = _words(
        t, N_("control"), N_("title"), N_("status"), N_("findings behind it, or why not tested")
    )
    # the framework's short name: its long form is English data (bio.toml)
    name = clean_text(section.framework.split(" (", 1)[0])
    table = _table(t.gettext("{framework} controls", framework=name), columns)
    style = {"passed": "green", "failed": "red", "not_tested": "dim"}
    for row in control_rows(section, t, findings):
        table.add_row(
            _t(row.id),
            _t(row.title),
            _t(row.status_word, style[row.status]),
            Text("\n").join(_t(line) for line in row.behind),
        )
    return table


def _register(section: RegisterSection, t: Translator) -> Table:
    """The register reconciliation: every row and every unregistered device, with what
    differs."""
    columns = _words(
        t, N_("row"), N_("result"), HEADINGS["location"], HEADINGS["description"],
        HEADINGS["device"], N_("expected make"), N_("found make"),
    )  # fmt: skip
    caption = t.gettext("{path}: {rows} row(s)", path=section.path, rows=section.rows)
    table = _table(t.gettext("Register"), columns, caption)
    for e in section.entries:
        style = "" if e.kind == "matched" else "yellow"
        table.add_row(
            _t(e.row if e.row is not None else "-"),
            _t(t.gettext(REGISTER_KINDS[e.kind]), style),
            _t(e.location or "-"),
            _t(e.description or "-"),
            _t(" ".join(a for a in (e.ip, e.mac) if a) or "-"),
            _t(e.expected_make or "-"),
            _t(e.found_make or "-"),
        )
    return table


def _sections(report: InventoryReport | AuditReport, console: Console, t: Translator) -> None:
    """The register reconciliation and the BIO/BIO2 controls, where the report has them."""
    if report.register is not None:
        console.print(_register(report.register, t))
    if report.controls is not None:
        console.print(_controls(report.controls, t, report_findings(report)))
        if report.controls.unmapped:
            unmapped = ", ".join(report.controls.unmapped)
            console.print(_t(t.gettext("rules mapped to no control: {rules}", rules=unmapped)))


def render_audit(report: AuditReport, console: Console, t: Translator) -> None:
    """Print an audit: the overall verdict, then every device with its own verdict, the
    register and the BIO/BIO2 controls."""
    from camaudit.audit.devices import audit_text  # audits only: verify loads no audit code

    console.print(_head(report, t))
    a = report.audit
    columns = _words(
        t, HEADINGS["ip"], HEADINGS["mac"], N_("seen by"), N_("vendor"), N_("model"),
        N_("firmware"), N_("CVEs"), HEADINGS["verdict"],
    )  # fmt: skip
    table = _table(t.gettext(HEADINGS["devices"]), columns, _more(len(a.devices), ROWS_SHOWN, t))
    notes: list[Text] = []
    for d in a.devices[:ROWS_SHOWN]:
        table.add_row(*_audit_row(d, t))
        notes += _audit_notes(d, t)
    console.print(table)
    for note in notes:
        console.print(note)
    if a.recording is not None:
        r = a.recording
        recorded = t.gettext(
            "recorded {interface} for {seconds} s into {count} file(s) in {directory}",
            interface=r.interface,
            seconds=t.format_number(r.duration),
            count=t.format_number(len(r.files)),
            directory=r.directory,
        )
        console.print(_t(recorded))
    console.print(_inputs(report, t))
    if report.outbound:
        console.print(_outbound(report, t))
    if report.findings:
        console.print(_findings(report, t))
    if report.rhythm:
        console.print(_rhythm(report, t))
    _sections(report, console, t)
    not_checked, problem = t.gettext(TERMS["not_checked"]), t.gettext("problem")
    for n in a.not_checked:
        console.print(_t(f"{not_checked}: {audit_text(n, t)}", "dim"))
    for p in report.problems:
        console.print(_t(f"{problem} [{p.code}]: {problem_text(p, t)}", "yellow"))
