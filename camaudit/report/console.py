"""Console rendering of a report with rich; every cell is plain :class:`Text` (no markup)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from camaudit.model import Direction
from camaudit.report.model import (
    AuditDeviceEntry,
    AuditReport,
    BoundaryFlowEntry,
    DeviceEntry,
    InventoryReport,
    MethodEntry,
    VerifyReport,
)
from camaudit.sanitize import clean_text

_VERDICT_STYLE = {
    "isolated": ("ISOLATED", "bold green"),
    "isolated_with_attempts": ("ISOLATED, WITH ATTEMPTS TO GET OUT", "bold yellow"),
    "not_isolated": ("NOT ISOLATED", "bold red"),
    "inconclusive": ("INCONCLUSIVE", "bold magenta"),
}
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


# The verify part of a report: a verify report, or the same fields inside an audit one.
TrafficReport = VerifyReport | AuditReport

FINDINGS_SHOWN = 25
ROWS_SHOWN = 60


def _short(path: str, captures: int) -> str:
    """File name only when it is unambiguous enough for a table cell; full paths are in JSON."""
    return path.rsplit("/", 1)[-1] if captures else path


def _head(report: TrafficReport) -> Panel:
    word, style = _VERDICT_STYLE[report.verdict]
    closed = report.closed_network
    cidrs = ", ".join(closed.cidrs) + (" (default)" if closed.default else "")
    s = report.summary
    lines = [
        Text.assemble(("Verdict: ", "bold"), (word, style), f"   (exit code {report.exit_code})"),
        Text.assemble(("Closed network: ", "bold"), clean_text(cidrs, 400)),
        Text.assemble(
            ("Policy: ", "bold"),
            clean_text(report.policy.name),
            f"  fail_on={report.policy.fail_on}",
        ),
        Text(
            f"{s.captures} capture(s), {s.packets} packets, {s.flows} flows, "
            f"{s.devices} device(s); {s.outbound} flow(s) across the boundary "
            f"({s.crossed} crossed); {s.external_lookups} outside look-up(s)"
        ),
    ]
    reasons = [_t(f"• {r}") for r in report.reasons]
    title = f"camaudit {report.kind}"
    return Panel(Group(*lines, Text(""), *reasons), title=title, expand=True)


def _table(title: str, columns: Iterable[str], caption: str | None = None) -> Table:
    table = Table(title=title, expand=True, caption=caption)
    for col in columns:
        table.add_column(col, overflow="fold")
    return table


def _inputs(report: TrafficReport) -> Table:
    table = _table("Captures", ("file", "format", "packets", "from", "to", "link", "problems"))
    for item in report.inputs:
        fmt = item.format + ("+gzip" if item.compression else "")
        problems = "; ".join(p.message for p in item.problems) or "-"
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


def _more(total: int, shown: int, what: str) -> str | None:
    return f"{total - shown} more {what} in the JSON report" if total > shown else None


def _outbound(report: TrafficReport) -> Table:
    rows = report.outbound[:ROWS_SHOWN]
    columns = ("device", "remote", "port", "state", "pkts out/in", "names", "label", "frames")
    table = _table(
        "Flows across the boundary", columns, _more(len(report.outbound), len(rows), "flow(s)")
    )
    captures = len(report.inputs)
    for row in rows:
        arrow = "→" if row.direction == Direction.OUTBOUND else "←"
        state = f"{row.state} [{row.conn_state}]"
        if row.allowed_by:
            state += f" (allowed: {row.allowed_basis})"
        port = f"{row.dport}/{row.proto}" if row.proto in ("tcp", "udp") else row.proto
        table.add_row(
            _t(row.device),
            _t(f"{arrow} {row.remote}"),
            _t(port),
            _t(state, "dim" if row.allowed_by else _STATE_STYLE.get(row.state, "")),
            _t(f"{row.packets_out}/{row.packets_in}"),
            _t(", ".join(row.names)),
            _t(row.label or ""),
            _t(_frames(row, captures)),
        )
    return table


def _dns(report: TrafficReport) -> Table:
    external = [row for row in report.dns if row.external]
    table = _table(
        "Look-ups of outside names",
        ("client", "name", "type", "answer", "label", "frame"),
        _more(len(external), ROWS_SHOWN, "look-up(s)"),
    )
    captures = len(report.inputs)
    for row in external[:ROWS_SHOWN]:
        answer = row.rcode or "no answer"
        if row.answers:
            answer += ": " + ", ".join(row.answers)
        frame = row.frame or row.response_frame
        table.add_row(
            _t(row.client),
            _t(row.name),
            _t(row.qtype),
            _t(answer, "red" if row.answered_with_addresses else "yellow"),
            _t(row.label or ""),
            _t(f"{_short(row.capture or '', captures)}#{frame}"),
        )
    return table


def _findings(report: TrafficReport) -> Table:
    shown = report.findings[:FINDINGS_SHOWN]
    more = len(report.findings) - len(shown)
    table = _table(
        "Findings (open the capture in Wireshark with the filter shown)",
        ("rule", "severity", "device", "evidence"),
        f"{more} more finding(s) in the JSON report (--format json)" if more else None,
    )
    captures = len(report.inputs)
    for f in shown:
        evidence = Text("\n").join(
            _t(
                f"{_short(e.capture, captures)} frames {','.join(map(str, e.frames))}: "
                f"{e.display_filter}"
            )
            for e in f.evidence
        )
        style = {"high": "red", "medium": "yellow"}.get(f.severity, "")
        table.add_row(_t(f.rule), _t(f.severity, style), _t(f.device or "-"), evidence)
    return table


def render(report: VerifyReport, console: Console) -> None:
    """Print the report for a person: verdict first, then the evidence behind it."""
    console.print(_head(report))
    console.print(_inputs(report))
    if report.outbound:
        console.print(_outbound(report))
    if any(row.external for row in report.dns):
        console.print(_dns(report))
    if report.findings:
        console.print(_findings(report))
    for p in report.problems:
        console.print(_t(f"problem [{p.code}]: {p.message}", "yellow"))


def _identity_cells(device: DeviceEntry) -> tuple[str, str, str, str]:
    ident = device.identity
    if not ident:
        vendor = device.oui_vendor or ""
        return (f"{vendor} (OUI only)" if vendor else "-", "", "", "")
    vendor = ident.vendor or "unknown"
    if ident.oem_brand:
        vendor = f"{ident.oem_brand} ({vendor})"
    firmware = ident.firmware or "unknown"
    if ident.build_date:
        firmware += f" [{ident.build_date}]"
    return vendor, ident.model or "", firmware, f"{ident.confidence:.2f}"


def _device_row(d: DeviceEntry) -> list[Text]:
    vendor, model, firmware, conf = _identity_cells(d)
    cves = ", ".join(c.cve + (" (KEV)" if c.kev_date_added else "") for c in d.cves)
    if not cves and d.identity and not d.identity.firmware:
        cves = "not assessed: firmware unknown (credentials read it)"
    found = ", ".join(d.found_by) + (" (timed out)" if d.timed_out else "")
    cells = [d.ip or "-", d.mac or "-", found or "fingerprint", vendor, model, firmware, conf]
    return [*map(_t, cells), _t(cves or "-", "red" if d.cves else "")]


def _device_notes(d: DeviceEntry) -> list[Text]:
    """What a reader must know about one device beyond its table row."""
    who = d.ip or d.mac or "?"
    conflicts = d.identity.conflicts if d.identity else ()
    notes = [_t(f"{who}: conflicting evidence: {c}", "yellow") for c in conflicts]
    notes += [_t(f"{who}: {c}", "yellow") for c in d.config_findings]
    notes += [_t(f"{who}: {w}", "red") for w in d.warnings]
    if d.mac_conflicts:
        notes.append(_t(f"{who}: several MACs answered: {', '.join(d.mac_conflicts)}", "yellow"))
    return notes


def _inventory_head(report: InventoryReport) -> Panel:
    inv = report.inventory
    s = inv.summary
    where = ""
    if inv.target:
        where = f" on {', '.join(inv.target.networks)}"
        if inv.target.interface:
            where += f" via {inv.target.interface}"
    text = (
        f"{s.devices} device(s){where}: {s.identified} identified, "
        f"{s.with_cves} with known CVEs ({s.with_kev} in CISA KEV), {s.timed_out} timed out"
    )
    return Panel(Text(text, style="bold"), title="camaudit inventory")


def _methods(attempts: Iterable[MethodEntry]) -> Table:
    table = _table("Discovery methods", ("method", "status", "seconds", "sightings", "note"))
    for a in attempts:
        remark = str(a.error or "")
        if a.timed_out_hosts:
            remark += f" timed out: {', '.join(a.timed_out_hosts)}"
        table.add_row(
            _t(a.method), _t(a.status), _t(f"{a.duration:.1f}"), _t(a.sightings), _t(remark.strip())
        )
    return table


def render_inventory(report: InventoryReport, console: Console) -> None:
    """Print an inventory: every device, who made it, its firmware and advisories."""
    inv = report.inventory
    console.print(_inventory_head(report))
    columns = ("ip", "mac", "found by", "vendor", "model", "firmware", "conf", "CVEs")
    table = _table("Devices", columns, _more(len(inv.devices), ROWS_SHOWN, "device(s)"))
    notes: list[Text] = []
    for d in inv.devices[:ROWS_SHOWN]:
        table.add_row(*_device_row(d))
        notes += _device_notes(d)
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
        console.print(_methods(inv.attempts))


def _audit_row(d: AuditDeviceEntry) -> list[Text]:
    ident = d.identity
    if ident is None:
        vendor, model, firmware = (f"{d.oui_vendor} (OUI only)" if d.oui_vendor else "-"), "", ""
    else:
        vendor = ident.vendor or "unknown"
        if ident.oem_brand:
            vendor = f"{ident.oem_brand} ({vendor})"
        model, firmware = ident.model or "", ident.firmware or "unknown"
    cves = ", ".join(c.cve + (" (KEV)" if c.kev_date_added else "") for c in d.cves)
    word, style = _VERDICT_STYLE[d.verdict.verdict]
    cells = [d.ip or "-", d.mac or "-", "+".join(d.sources), vendor, model, firmware]
    return [*map(_t, cells), _t(cves or "-", "red" if d.cves else ""), _t(word, style)]


def _audit_notes(d: AuditDeviceEntry) -> list[Text]:
    """Why each device got its verdict, and what could not be checked for it."""
    who = d.ip or d.mac or "?"
    notes = [_t(f"{who}: {r}") for r in d.verdict.reasons]
    notes += [_t(f"{who}: {c}", "yellow") for c in d.config_findings]
    notes += [_t(f"{who}: vendor cloud: {label}", "yellow") for label in d.cloud_labels]
    notes += [_t(f"{who}: not checked: {n}", "dim") for n in d.not_checked]
    return notes


def render_audit(report: AuditReport, console: Console) -> None:
    """Print an audit: the overall verdict, then every device with its own verdict."""
    console.print(_head(report))
    a = report.audit
    columns = ("ip", "mac", "seen by", "vendor", "model", "firmware", "CVEs", "verdict")
    table = _table("Devices", columns, _more(len(a.devices), ROWS_SHOWN, "device(s)"))
    notes: list[Text] = []
    for d in a.devices[:ROWS_SHOWN]:
        table.add_row(*_audit_row(d))
        notes += _audit_notes(d)
    console.print(table)
    for note in notes:
        console.print(note)
    if a.recording is not None:
        r = a.recording
        files = f"{len(r.files)} file(s) in {r.directory}"
        console.print(_t(f"recorded {r.interface} for {r.duration:g} s into {files}"))
    console.print(_inputs(report))
    if report.outbound:
        console.print(_outbound(report))
    if report.findings:
        console.print(_findings(report))
    for n in a.not_checked:
        console.print(_t(f"not checked: {n}", "dim"))
    for p in report.problems:
        console.print(_t(f"problem [{p.code}]: {p.message}", "yellow"))
