"""Console rendering of a report with rich; every cell is plain :class:`Text` (no markup)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from camaudit.report.build import Report
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


FINDINGS_SHOWN = 25
ROWS_SHOWN = 60


def _short(path: str, captures: int) -> str:
    """File name only when it is unambiguous enough for a table cell; full paths are in JSON."""
    return path.rsplit("/", 1)[-1] if captures else path


def _head(report: Report) -> Panel:
    word, style = _VERDICT_STYLE[report["verdict"]]
    closed = report["closed_network"]
    cidrs = ", ".join(closed["cidrs"]) + (" (default)" if closed["default"] else "")
    s = report["summary"]
    lines = [
        Text.assemble(
            ("Verdict: ", "bold"), (word, style), f"   (exit code {report['exit_code']})"
        ),
        Text.assemble(("Closed network: ", "bold"), clean_text(cidrs, 400)),
        Text.assemble(
            ("Policy: ", "bold"),
            clean_text(report["policy"]["name"]),
            f"  fail_on={report['policy']['fail_on']}",
        ),
        Text(
            f"{s['captures']} capture(s), {s['packets']} packets, {s['flows']} flows, "
            f"{s['devices']} device(s); {s['outbound']} flow(s) across the boundary "
            f"({s['crossed']} crossed); {s['external_lookups']} outside look-up(s)"
        ),
    ]
    reasons = [_t(f"• {r}") for r in report["reasons"]]
    return Panel(Group(*lines, Text(""), *reasons), title="camaudit verify", expand=True)


def _inputs(report: Report) -> Table:
    table = Table(title="Captures", expand=True)
    for col in ("file", "format", "packets", "from", "to", "link", "problems"):
        table.add_column(col, overflow="fold")
    for item in report["inputs"]:
        fmt = item["format"] + ("+gzip" if item["compression"] else "")
        problems = "; ".join(p["message"] for p in item["problems"]) or "-"
        table.add_row(
            _t(item["path"]),
            _t(fmt),
            _t(item["packets"]),
            _t(_when(item["first_time"])),
            _t(_when(item["last_time"])),
            _t(",".join(item["link_types"])),
            _t(problems, "yellow" if item["problems"] else ""),
        )
    return table


def _frames(row: dict[str, Any], captures: int) -> str:
    first = f"{_short(row['capture'], captures)}#{row['first_frame']}"
    if row["last_capture"] != row["capture"]:
        return f"{first} … {_short(row['last_capture'], captures)}#{row['last_frame']}"
    if row["last_frame"] != row["first_frame"]:
        return f"{first}-{row['last_frame']}"
    return first


def _outbound(report: Report) -> Table:
    rows = report["outbound"][:ROWS_SHOWN]
    more = len(report["outbound"]) - len(rows)
    table = Table(
        title="Flows across the boundary",
        expand=True,
        caption=f"{more} more flow(s) in the JSON report" if more else None,
    )
    for col in ("device", "remote", "port", "state", "pkts out/in", "names", "label", "frames"):
        table.add_column(col, overflow="fold")
    captures = len(report["inputs"])
    for row in rows:
        arrow = "→" if row["direction"] == "outbound" else "←"
        state = row["state"] + (f" [{row['conn_state']}]")
        if row["allowed_by"]:
            state += f" (allowed: {row['allowed_basis']})"
        port = f"{row['dport']}/{row['proto']}" if row["proto"] in ("tcp", "udp") else row["proto"]
        table.add_row(
            _t(row["device"]),
            _t(f"{arrow} {row['remote']}"),
            _t(port),
            _t(state, "dim" if row["allowed_by"] else _STATE_STYLE.get(row["state"], "")),
            _t(f"{row['packets_out']}/{row['packets_in']}"),
            _t(", ".join(row["names"])),
            _t(row["label"] or ""),
            _t(_frames(row, captures)),
        )
    return table


def _dns(report: Report) -> Table:
    table = Table(title="Look-ups of outside names", expand=True)
    for col in ("client", "name", "type", "answer", "label", "frame"):
        table.add_column(col, overflow="fold")
    captures = len(report["inputs"])
    external = [row for row in report["dns"] if row["external"]]
    if len(external) > ROWS_SHOWN:
        table.caption = f"{len(external) - ROWS_SHOWN} more look-up(s) in the JSON report"
    for row in external[:ROWS_SHOWN]:
        answer = row["rcode"] or "no answer"
        if row["answers"]:
            answer += ": " + ", ".join(row["answers"])
        frame = row["frame"] or row["response_frame"]
        table.add_row(
            _t(row["client"]),
            _t(row["name"]),
            _t(row["qtype"]),
            _t(answer, "red" if row["answered_with_addresses"] else "yellow"),
            _t(row["label"] or ""),
            _t(f"{_short(row['capture'] or '', captures)}#{frame}"),
        )
    return table


def _findings(report: Report) -> Table:
    shown = report["findings"][:FINDINGS_SHOWN]
    more = len(report["findings"]) - len(shown)
    title = "Findings (open the capture in Wireshark with the filter shown)"
    table = Table(
        title=title,
        expand=True,
        caption=f"{more} more finding(s) in the JSON report (--format json)" if more else None,
    )
    for col in ("rule", "severity", "device", "evidence"):
        table.add_column(col, overflow="fold")
    captures = len(report["inputs"])
    for f in shown:
        evidence = Text("\n").join(
            _t(
                f"{_short(e['capture'], captures)} frames {','.join(map(str, e['frames']))}: "
                f"{e['display_filter']}"
            )
            for e in f["evidence"]
        )
        style = {"high": "red", "medium": "yellow"}.get(f["severity"], "")
        table.add_row(_t(f["rule"]), _t(f["severity"], style), _t(f["device"] or "-"), evidence)
    return table


def render(report: Report, console: Console) -> None:
    """Print the report for a person: verdict first, then the evidence behind it."""
    console.print(_head(report))
    console.print(_inputs(report))
    if report["outbound"]:
        console.print(_outbound(report))
    if any(row["external"] for row in report["dns"]):
        console.print(_dns(report))
    if report["findings"]:
        console.print(_findings(report))
    if report["problems"]:
        for p in report["problems"]:
            console.print(_t(f"problem [{p['code']}]: {p['message']}", "yellow"))


def _identity_cells(device: dict[str, Any]) -> tuple[str, str, str, str]:
    ident = device["identity"]
    if not ident:
        vendor = device["oui_vendor"] or ""
        return (f"{vendor} (OUI only)" if vendor else "-", "", "", "")
    vendor = ident["vendor"] or "unknown"
    if ident["oem_brand"]:
        vendor = f"{ident['oem_brand']} ({vendor})"
    firmware = ident["firmware"] or "unknown"
    if ident["build_date"]:
        firmware += f" [{ident['build_date']}]"
    return vendor, ident["model"] or "", firmware, f"{ident['confidence']:.2f}"


def render_inventory(report: Report, console: Console) -> None:
    """Print an inventory: every device, who made it, its firmware and advisories."""
    inv = report["inventory"]
    s = inv["summary"]
    target = inv["target"]
    where = ""
    if target:
        where = f" on {', '.join(target['networks'])}"
        if target["interface"]:
            where += f" via {target['interface']}"
    console.print(
        Panel(
            Text(
                f"{s['devices']} device(s){where}: {s['identified']} identified, "
                f"{s['with_cves']} with known CVEs ({s['with_kev']} in CISA KEV), "
                f"{s['timed_out']} timed out",
                style="bold",
            ),
            title="camaudit inventory",
        )
    )
    table = Table(title="Devices", expand=True)
    for col in ("ip", "mac", "found by", "vendor", "model", "firmware", "conf", "CVEs"):
        table.add_column(col, overflow="fold")
    notes: list[Text] = []
    for d in inv["devices"][:ROWS_SHOWN]:
        vendor, model, firmware, conf = _identity_cells(d)
        cves = ", ".join(c["cve"] + (" (KEV)" if c["kev_date_added"] else "") for c in d["cves"])
        if not cves and d["identity"] and not d["identity"]["firmware"]:
            cves = "not assessed: firmware unknown (credentials read it)"
        found = ", ".join(d["found_by"]) + (" (timed out)" if d["timed_out"] else "")
        table.add_row(
            _t(d["ip"] or "-"),
            _t(d["mac"] or "-"),
            _t(found or "fingerprint"),
            _t(vendor),
            _t(model),
            _t(firmware),
            _t(conf),
            _t(cves or "-", "red" if d["cves"] else ""),
        )
        who = d["ip"] or d["mac"] or "?"
        if d["identity"]:
            notes += [
                _t(f"{who}: conflicting evidence: {c}", "yellow")
                for c in d["identity"]["conflicts"]
            ]
        notes += [_t(f"{who}: {c}", "yellow") for c in d["config_findings"]]
        notes += [_t(f"{who}: {w}", "red") for w in d.get("warnings", ())]
        if d["mac_conflicts"]:
            notes.append(
                _t(f"{who}: several MACs answered: {', '.join(d['mac_conflicts'])}", "yellow")
            )
    if len(inv["devices"]) > ROWS_SHOWN:
        table.caption = f"{len(inv['devices']) - ROWS_SHOWN} more device(s) in the JSON report"
    notes += [_t(o["finding"], "red") for o in inv.get("outside_target", ())]
    scope = inv.get("closed_network")
    if scope and scope["default"]:
        notes.append(
            _t(
                "device settings checked against the default closed network "
                f"({', '.join(scope['networks'])}); give --closed-network to name yours"
            )
        )
    console.print(table)
    for note in notes:
        console.print(note)
    if inv["attempts"]:
        methods = Table(title="Discovery methods", expand=True)
        for col in ("method", "status", "seconds", "sightings", "note"):
            methods.add_column(col, overflow="fold")
        for a in inv["attempts"]:
            remark = str(a["error"] or "")
            if a["timed_out_hosts"]:
                remark += f" timed out: {', '.join(a['timed_out_hosts'])}"
            methods.add_row(
                _t(a["method"]),
                _t(a["status"]),
                _t(f"{a['duration']:.1f}"),
                _t(a["sightings"]),
                _t(remark.strip()),
            )
        console.print(methods)
