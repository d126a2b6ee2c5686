"""The report as one self-contained HTML page: for a manager to read, an auditor to re-check.

The page fetches nothing when opened: its CSS is inline, the timeline is inline SVG,
there is no script, and a Content-Security-Policy meta forbids every fetch, so that even
markup that escaped into the page could not load anything. Every text of the report that
came from the network (device names, banners, DNS names, paths) is cleaned with
:func:`camaudit.sanitize.clean_text` and HTML-escaped by the template engine
(autoescape); the template itself holds no words, only markup: every text a reader sees
is translated here, through the one gettext catalogue, and numbers and dates are written
the language's way. The same report and language give the same bytes.

An audit's page is the verify page of its traffic part, with the inventory table given a
column for each device's own verdict and, per device, a card with that verdict, its
reasons, the frames behind it and what could not be checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jinja2

from camaudit.i18n import N_, NP_, Translator
from camaudit.messages import (
    CATEGORIES,
    FINDING_TITLES,
    HEADINGS,
    SEVERITIES,
    VERDICT_EXPLANATIONS,
    VERDICT_NAMES,
)
from camaudit.model import Evidence, Problem
from camaudit.phrases import config_text, finding_text, problem_text, reason_text
from camaudit.report.compliance import report_findings
from camaudit.report.model import (
    AuditDeviceEntry,
    AuditReport,
    BoundaryFlowEntry,
    IdentityEntry,
    InventoryReport,
    Report,
)
from camaudit.report.render import by_kind
from camaudit.report.sections import controls_table, headings, lookup_name, register_table
from camaudit.report.table import IdentifiedDevice, TrafficReport, passive_cells, passive_lines
from camaudit.sanitize import clean_text

__all__ = ["render"]

# Untrusted text longer than this is cut (with …): a 64 k banner must not bury the page.
TEXT_LIMIT = 512
# Display filters are evidence a reader copies into Wireshark: never cut silently short
# of what camaudit itself writes, but bounded all the same.
FILTER_LIMIT = 4096
# Addresses in the inventory do not wrap; a longer "address" is not one, and is cut.
_ADDRESS_LIMIT = 64

WORDS = {
    "inventory": N_("Inventory"),
    "timeline": N_("Timeline of outbound connections"),
    "timeline_axis": N_("Time (UTC) from {start} to {end}"),
    "crossed": N_("crossed the boundary"),
    "findings_none": N_("No findings."),
    "devices_none": N_("No device was found."),
    "vendor_oui": N_("Vendor (from the MAC address)"),
    "open_ports": N_("Open ports"),
    "remote": N_("Outside address"),
    "protocol": N_("Protocol"),
    "state": N_("What happened"),
    "file": N_("File"),
    "sha256": N_("SHA-256"),
    "packets": N_("Packets"),
    "from": N_("From"),
    "until": N_("Until"),
    "name": N_("Name"),
    "type": N_("Type"),
    "answers": N_("Answers"),
    "client": N_("Client"),
    "resolver": N_("Resolver"),
    "outside": N_("Outside the closed network"),
    "dns_lookups": N_("DNS look-ups"),
    "problems": N_("Problems with the evidence"),
    "generated": N_("Report date"),
    "exit_code": N_("Exit code"),
    "config_findings": N_("Configuration findings"),
    "copy_hint": N_("Paste the display filter into Wireshark to see exactly these frames."),
    "summary": N_("Summary"),
    "none": N_("none"),
    "yes": N_("yes"),
    "no": N_("no"),
}

PLURAL_WORDS = {
    "devices": NP_("{count} device", "{count} devices"),
    "findings": NP_("{count} finding", "{count} findings"),
    "outbound": NP_("{count} outbound connection", "{count} outbound connections"),
    "packets": NP_("{count} packet", "{count} packets"),
    "captures": NP_("{count} capture", "{count} captures"),
    "lookups": NP_("{count} DNS look-up", "{count} DNS look-ups"),
    "cves": NP_("{count} known vulnerability", "{count} known vulnerabilities"),
}


# Timeline geometry (SVG user units).
_LABEL_W = 190
_PLOT_W = 620
_ROW_H = 26
_LANE_H = 14
_LANE_PAD = 4
_MAX_LANES = 12  # a device with more flows than this reuses its lanes
_TOP = 10
_AXIS_H = 34
_MARK_MIN_W = 8.0


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("camaudit.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(report: Report, t: Translator) -> str:
    """The report as one HTML page in ``t``'s language."""
    page = _page(report, t)
    return _environment().get_template("report.html.j2").render(page=page, w=_words(t))


# ---- words ------------------------------------------------------------------------------


def _words(t: Translator) -> dict[str, str]:
    words = {key: t.gettext(text) for key, text in WORDS.items()}
    words.update({f"h_{key}": t.gettext(text) for key, text in HEADINGS.items()})
    return words


def _text(value: object, limit: int = TEXT_LIMIT) -> str:
    """Untrusted text made printable and bounded; the template escapes it."""
    return "" if value is None else clean_text(str(value), limit=limit)


def _num(t: Translator, value: int | float) -> str:
    return t.format_number(value)


def _when(t: Translator, value: float | None) -> str:
    return "" if value is None else t.format_datetime(value)


def _generated(t: Translator, value: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return _text(value)
    return t.format_datetime(moment) if moment.tzinfo else _text(value)


def _plural(t: Translator, key: str, count: int) -> str:
    singular, plural = PLURAL_WORDS[key]
    return t.ngettext(singular, plural, count)


def _verdict(t: Translator, verdict: str) -> dict[str, str]:
    """A verdict as words (never colour alone) and the CSS class that colours it."""
    return {
        "code": verdict,
        "name": t.gettext(VERDICT_NAMES[verdict]),
        "explanation": t.gettext(VERDICT_EXPLANATIONS[verdict]),
    }


# ---- the page ---------------------------------------------------------------------------


def _page(report: Report, t: Translator) -> dict[str, Any]:
    page: dict[str, Any] = {
        "lang": t.lang,
        "title": t.gettext(HEADINGS["report"]),
        "tool": t.gettext(HEADINGS["generated_by"], version=_text(report.tool.version)),
        "generated": _generated(t, report.generated),
        "exit_code": _num(t, report.exit_code),
        "verdict": None,
        "reasons": [],
        "summary": [],
        "closed_network": [],
        "devices": [],
        "device_columns": [],
        "timeline": None,
        "outbound": [],
        "findings": [],
        "captures": [],
        "dns": [],
        "problems": [],
        "device_verdicts": [],
        "not_checked": [],
        "register": None,
        "controls": None,
    }
    page.update(by_kind(report, _verify, _inventory, _audit, t))
    return page


def _verify(report: TrafficReport, t: Translator) -> dict[str, Any]:
    s = report.summary
    counts = Counter(flow.device for flow in report.outbound)
    findings_by = Counter(finding.device for finding in report.findings)
    devices = [
        {
            "cells": [
                _text(d.ip, _ADDRESS_LIMIT),
                _text(d.mac, _ADDRESS_LIMIT),
                _text(d.oui_vendor),
                _num(t, counts[d.ip]),
                _num(t, findings_by[d.ip]),
            ],
            "verdict": None,
        }
        for d in report.devices
    ]
    return {
        "verdict": _verdict(t, report.verdict.value),
        "reasons": [_text(reason_text(r, t), 2048) for r in report.reasons],
        "summary": [
            _plural(t, "captures", s.captures),
            _plural(t, "packets", s.packets),
            _plural(t, "devices", len(_devices(report))),
            _plural(t, "outbound", s.outbound),
            _plural(t, "lookups", s.dns_lookups),
            _plural(t, "findings", s.findings),
        ],
        "closed_network": [_text(c) for c in report.closed_network.cidrs],
        "closed_network_heading": t.gettext(
            HEADINGS[
                "closed_network_default" if report.closed_network.default else "closed_network"
            ]
        ),
        "device_columns": [
            *headings(t, "ip", "mac"),
            t.gettext(WORDS["vendor_oui"]),
            *headings(t, "outbound", "findings"),
        ],
        "devices": devices,
        "timeline": _timeline(report.outbound, [d.ip for d in report.devices], t),
        "outbound": [_flow_row(f, t) for f in report.outbound],
        "findings": [
            _finding(f.rule, f.severity, f.device, finding_text(f, t), f.evidence, t)
            for f in report.findings
        ],
        "captures": [
            [
                _text(c.path),
                _text(c.sha256),
                _num(t, c.packets),
                _when(t, c.first_time),
                _when(t, c.last_time),
            ]
            for c in report.inputs
        ],
        "dns": [
            [
                _text(lookup_name(d, t)),
                _text(d.qtype),
                _text(", ".join(d.answers) or (d.rcode or "")),
                _text(d.client),
                _text(d.server),
                t.gettext(WORDS["yes" if d.external else "no"]),
            ]
            for d in report.dns
        ],
        "problems": _problems(report.problems, t),
    }


def _devices(report: TrafficReport) -> Sequence[object]:
    """The devices a reader counts: an audit's (discovered and seen), else those seen."""
    return report.audit.devices if isinstance(report, AuditReport) else report.devices


def _inventory(report: InventoryReport, t: Translator) -> dict[str, Any]:
    inv = report.inventory
    s = inv.summary
    return {
        "summary": [
            _plural(t, "devices", s.devices),
            _plural(t, "cves", sum(len(d.cves) for d in inv.devices)),
        ],
        "closed_network": [_text(c) for c in inv.closed_network.networks],
        "closed_network_heading": t.gettext(
            HEADINGS["closed_network_default" if inv.closed_network.default else "closed_network"]
        ),
        "device_columns": _device_columns(t),
        "devices": [
            {"cells": _device_cells(d, d.open_ports, t), "verdict": None} for d in inv.devices
        ],
        "findings": _config_findings(inv.devices, t),
        **_sections(report, t),
    }


def _audit(report: AuditReport, t: Translator) -> dict[str, Any]:
    """The verify part as ``verify`` shows it, the inventory with each device's own
    verdict, and per device the reasons and the frames behind that verdict."""
    from camaudit.audit.devices import audit_text  # audits only: verify loads no audit code

    page = _verify(report, t)
    audit = report.audit
    counts = audit.summary
    page["summary"] = [
        *page["summary"],
        *(f"{t.gettext(VERDICT_NAMES[v])}: {_num(t, getattr(counts, v))}" for v in VERDICT_NAMES),
    ]
    page["device_columns"] = [*_device_columns(t), *headings(t, "device_verdict")]
    page["devices"] = [
        {
            "cells": _device_cells(d, _open_ports(report, d.inventory_index), t),
            "verdict": _verdict(t, d.verdict.verdict.value),
        }
        for d in audit.devices
    ]
    page["timeline"] = _timeline(report.outbound, [d.ip for d in audit.devices if d.ip], t)
    page["findings"] = [*page["findings"], *_config_findings(audit.devices, t)]
    page["device_verdicts"] = [_device_verdict(d, t) for d in audit.devices]
    page["not_checked"] = [_text(audit_text(n, t), 2048) for n in audit.not_checked]
    page.update(_sections(report, t))
    return page


def _sections(report: InventoryReport | AuditReport, t: Translator) -> dict[str, Any]:
    """The register reconciliation and the BIO/BIO2 controls, where the report has them:
    the columns and words of the Markdown report (report/sections.py)."""
    sections: dict[str, Any] = {"register": None, "controls": None}
    if report.register is not None:
        header, rows = register_table(report.register, t, _text)
        sections["register"] = {"title": t.gettext("Register"), "columns": header, "rows": rows}
    if report.controls is not None:
        cited = report_findings(report)
        title, header, controls = controls_table(report.controls, t, _text, cited)
        sections["controls"] = {
            "title": title,
            "columns": header,
            "rows": [{"status": status, "cells": cells} for status, cells in controls],
        }
    return sections


def _open_ports(report: AuditReport, index: int | None) -> tuple[str, ...]:
    """The open ports discovery found on a device (none for one seen only in traffic)."""
    devices = report.inventory.devices
    return devices[index].open_ports if index is not None and 0 <= index < len(devices) else ()


def _device_verdict(d: AuditDeviceEntry, t: Translator) -> dict[str, Any]:
    """One device's verdict card: who, the verdict in words, why, and the evidence."""
    from camaudit.audit.devices import audit_text  # audits only: verify loads no audit code

    who = _text(d.ip or d.mac or "?", _ADDRESS_LIMIT)
    if d.ip and d.mac:
        who += f" ({_text(d.mac, _ADDRESS_LIMIT)})"
    return {
        "device": who,
        "verdict": _verdict(t, d.verdict.verdict.value),
        "reasons": [_text(reason_text(r, t), 2048) for r in d.verdict.reasons],
        "evidence": _evidence_rows(d.verdict.evidence, t),
        "passive": [_text(line, 2048) for line in passive_lines(d, t)],
        "not_checked": [_text(audit_text(n, t), 2048) for n in d.not_checked],
    }


def _config_findings(devices: Iterable[IdentifiedDevice], t: Translator) -> list[dict[str, Any]]:
    """Each device's settings that need attention, as findings located at the device."""
    return [
        _finding("CONFIG", "medium", d.ip, config_text(c, t), (), t)
        for d in devices
        for c in d.config_findings
    ]


def _device_columns(t: Translator) -> list[str]:
    return [
        *headings(t, "ip", "mac", "make", "model", "firmware", "cves"),
        t.gettext(WORDS["open_ports"]),
    ]


def _device_cells(d: IdentifiedDevice, open_ports: Sequence[str], t: Translator) -> list[str]:
    identity: IdentityEntry | None = d.identity
    make = (identity.vendor if identity else None) or d.oui_vendor
    model = identity.model if identity else None
    guess = d.passive_identity if isinstance(d, AuditDeviceEntry) else None
    if identity is None and guess is not None:  # names the device chose: marked as such
        make, model = passive_cells(guess.oem_brand or guess.vendor or "", guess.model or "", t)
    cves = ", ".join(c.cve for c in d.cves) or t.gettext(WORDS["none"])
    return [
        _text(d.ip, _ADDRESS_LIMIT),
        _text(d.mac, _ADDRESS_LIMIT),
        _text(make),
        _text(model),
        _text(identity.firmware if identity else None),
        _text(cves),
        _text(", ".join(open_ports)),
    ]


def _problems(problems: Iterable[Problem], t: Translator) -> list[str]:
    return [
        _text(f"{p.capture + ': ' if p.capture else ''}{problem_text(p, t)}", 2048)
        for p in problems
    ]


def _category(flow: BoundaryFlowEntry) -> str:
    """crossed / rejected / attempted: what the timeline colours a flow by."""
    if flow.crossed:
        return "crossed"
    if flow.state.value == "rejected" or flow.rejected_by is not None:
        return "rejected"
    return "attempted"


def _category_words(t: Translator) -> dict[str, str]:
    return {
        "crossed": t.gettext(WORDS["crossed"]),
        "attempted": t.gettext(CATEGORIES["attempted"]),
        "rejected": t.gettext(CATEGORIES["rejected"]),
    }


def _flow_row(flow: BoundaryFlowEntry, t: Translator) -> dict[str, Any]:
    name = flow.sni or flow.http_host or (flow.names[0] if flow.names else None)
    remote = f"{flow.remote} ({name})" if name else flow.remote
    return {
        "category": _category(flow),
        "cells": [
            _text(flow.device),
            _text(remote),
            _text(f"{flow.proto}/{flow.dport}"),
            _what_happened(flow, t),
            _when(t, flow.first_time),
            _text(f"{flow.capture} #{flow.first_frame}"),
        ],
    }


def _what_happened(flow: BoundaryFlowEntry, t: Translator) -> str:
    """Crossed flows say how (both ways, established ...); the others are their category."""
    category = _category(flow)
    word = _category_words(t)[category]
    if category == "crossed":
        return f"{word} · {t.gettext(CATEGORIES[flow.state.value])}"
    return word


def _finding(
    rule: str,
    severity: str,
    device: str | None,
    summary: str,
    evidence: Sequence[Evidence],
    t: Translator,
) -> dict[str, Any]:
    title = FINDING_TITLES.get(rule)
    return {
        "rule": _text(rule),
        "title": t.gettext(title) if title else _config_title(rule, t),
        "severity": severity if severity in SEVERITIES else "info",
        "severity_name": t.gettext(SEVERITIES[severity]) if severity in SEVERITIES else "",
        "device": _text(device),
        "summary": _text(summary, 2048),
        "evidence": _evidence_rows(evidence, t),
    }


def _evidence_rows(evidence: Iterable[Evidence], t: Translator) -> list[dict[str, str]]:
    """Capture, frames and display filter of each piece of evidence, for the table."""
    return [
        {
            "capture": _text(e.capture),
            "frames": ", ".join(_num(t, f) for f in e.frames[:50])
            + (" …" if len(e.frames) > 50 else ""),
            "filter": _text(e.display_filter, FILTER_LIMIT),
        }
        for e in evidence
    ]


def _config_title(rule: str, t: Translator) -> str:
    return t.gettext(WORDS["config_findings"]) if rule == "CONFIG" else _text(rule)


# ---- the timeline -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    x: str
    y: str
    width: str
    height: str
    category: str
    title: str


def _fmt(value: float) -> str:
    """SVG coordinates with two decimals: the same bytes on every machine."""
    return f"{value:.2f}"


def _timeline(
    flows: Sequence[BoundaryFlowEntry], devices: Sequence[str], t: Translator
) -> dict[str, Any] | None:
    """One row per device with outbound flows, a mark per flow from its first to its last
    frame, coloured (and titled) by what happened: crossed, rejected or attempted. Each
    flow of a device has its own lane in the device's row, so that no mark hides another."""
    outbound = [f for f in flows if f.direction.value == "outbound"]
    if not outbound:
        return None
    start = min(f.first_time for f in outbound)
    end = max(f.last_time for f in outbound)
    span = max(end - start, 1e-9)
    known = [d for d in devices if any(f.device == d for f in outbound)]
    rows = known + sorted({f.device for f in outbound} - set(known))
    lanes = {d: min(sum(1 for f in outbound if f.device == d), _MAX_LANES) for d in rows}
    tops: dict[str, float] = {}
    y = float(_TOP)
    for d in rows:
        tops[d] = y
        y += max(_ROW_H, 2 * _LANE_PAD + lanes[d] * _LANE_H)
    bottom = y
    words = _category_words(t)
    marks: list[_Mark] = []
    used: dict[str, int] = {}
    for flow in outbound:
        lane = used.get(flow.device, 0) % _MAX_LANES
        used[flow.device] = lane + 1
        x0 = _LABEL_W + (flow.first_time - start) / span * _PLOT_W
        x1 = _LABEL_W + (flow.last_time - start) / span * _PLOT_W
        width = max(x1 - x0, _MARK_MIN_W)
        x0 = min(x0, _LABEL_W + _PLOT_W - width)
        category = _category(flow)
        title = (
            f"{_text(flow.device)} → {_text(flow.remote)} {_text(flow.proto)}/{flow.dport}: "
            f"{words[category]}; {_when(t, flow.first_time)}; "
            f"{_text(flow.capture)} #{flow.first_frame}"
        )
        marks.append(
            _Mark(
                x=_fmt(x0),
                y=_fmt(tops[flow.device] + _LANE_PAD + lane * _LANE_H + 1),
                width=_fmt(width),
                height=_fmt(_LANE_H - 2),
                category=category,
                title=title,
            )
        )
    return {
        "width": _LABEL_W + _PLOT_W + 10,
        "height": int(bottom) + _AXIS_H,
        "rows": [{"label": _text(d, 40), "y": _fmt(tops[d] + 17)} for d in rows],
        "row_lines": [_fmt(v) for v in (*tops.values(), bottom)],
        "plot_x0": _LABEL_W,
        "plot_x1": _LABEL_W + _PLOT_W,
        "axis_y": _fmt(bottom + 20),
        "start": _when(t, start),
        "end": _when(t, end),
        "caption": t.gettext(WORDS["timeline_axis"], start=_when(t, start), end=_when(t, end)),
        "marks": marks,
        "legend": [{"category": k, "name": v} for k, v in words.items()],
    }
