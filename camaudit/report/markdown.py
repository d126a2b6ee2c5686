"""Markdown (``--format markdown``): the report a manager reads, in a ticket or a wiki.

Verdict and reasons first, then the council's inventory table, the outbound flows and
every finding with its evidence (the Wireshark display filter in a code span, ready to
copy). An audit adds each device's own verdict to its table row, and a section per
device: the verdict, its reasons, the frames behind it, and what could not be checked.
All text from the evidence is untrusted: it is cleaned of control and bidi
characters, then the characters Markdown acts on are backslash-escaped (CommonMark
allows that for every ASCII punctuation character): ``\\ ` * _ [ ] ( ) < > # ! | ~ & @ $
{ }`` everywhere, the dot of ``www.`` and the slashes of ``://`` (GitHub's autolinks), and
a ``-``, ``+``, ``=`` or ``1.`` at the start. So no pipe ends a table cell, nothing becomes
a link, an image, a heading, emphasis, maths or a tag, while addresses and names stay
readable in the Markdown text itself. A code span gets a backtick fence longer than any
run of backticks inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from camaudit.i18n import Translator
from camaudit.messages import (
    FINDING_TITLES,
    HEADINGS,
    PLURALS,
    SEVERITIES,
    TERMS,
    VERDICT_EXPLANATIONS,
    VERDICT_NAMES,
)
from camaudit.model import Evidence
from camaudit.phrases import config_text, finding_text, reason_text
from camaudit.report.compliance import report_findings
from camaudit.report.csv_out import closed_network_cell
from camaudit.report.model import (
    AuditDeviceEntry,
    AuditReport,
    InventoryReport,
    Report,
    VerifyReport,
)
from camaudit.report.render import by_kind
from camaudit.report.sections import controls_table, headings, register_table
from camaudit.report.table import (
    IdentifiedDevice,
    TrafficReport,
    council_header,
    council_rows,
    passive_cells,
    passive_lines,
)
from camaudit.sanitize import clean_text

__all__ = ["code", "render", "text"]

_ACTIVE = re.compile(r"([\\`*_\[\]()<>#!|~&@${}])")
_AUTOLINK = re.compile(r"(?i)(?<=www)\.|(?<=:)//")
_LEADING = re.compile(r"^([-+=]|\d{1,9}[.)](?=\s|$))")
ROWS_SHOWN = 200


def text(value: object, limit: int = 512) -> str:
    """Untrusted ``value`` as Markdown that shows exactly its (cleaned) characters."""
    escaped = _ACTIVE.sub(r"\\\1", clean_text(str(value), limit))
    escaped = _AUTOLINK.sub(lambda m: m.group(0).replace(".", "\\.").replace("/", "\\/"), escaped)
    return _LEADING.sub(
        lambda m: (
            "\\" + m.group(0) if m.group(0)[0] in "-+=" else m.group(0)[:-1] + "\\" + m.group(0)[-1]
        ),
        escaped,
    )


def code(value: object, limit: int = 4000) -> str:
    """Untrusted ``value`` as a code span (not for table cells: a pipe there ends the cell)."""
    cleaned = clean_text(str(value), limit)
    runs = [len(r) for r in re.findall(r"`+", cleaned)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if cleaned.startswith("`") or cleaned.endswith("`") or not cleaned.strip() else ""
    return f"{fence}{pad}{cleaned}{pad}{fence}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GFM table; ``header`` is trusted (translated), cells are Markdown already."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _verdict_lines(verdict: str, exit_code: int, t: Translator) -> list[str]:
    return [
        f"**{t.gettext(HEADINGS['verdict'])}: {t.gettext(VERDICT_NAMES[verdict])}** "
        + t.gettext("(exit code {code})", code=exit_code),
        "",
        t.gettext(VERDICT_EXPLANATIONS[verdict]),
        "",
    ]


def _inventory_table(report: Report, t: Translator) -> list[str]:
    rows = council_rows(report)
    header = council_header(t, HEADINGS["closed_network"])
    audit = isinstance(report, AuditReport)
    if audit:  # an audit's devices carry their own verdict: it is named, not only yes/no
        header += headings(t, "device_verdict")
    body = [
        [
            text(r.location),
            text(r.description),
            *map(text, passive_cells(r.make, r.model, t) if r.passive else (r.make, r.model)),
            text(r.firmware),
            text(closed_network_cell(r.verdict, t)),
            text(r.ip),
            text(r.mac),
            text(", ".join(r.cves)),
            *([t.gettext(VERDICT_NAMES[r.verdict])] if audit else []),
        ]
        for r in rows[:ROWS_SHOWN]
    ]
    heading = f"## {t.gettext(HEADINGS['devices'])}"
    return [heading, "", *_table(header, body), *_more_rows(len(rows), t)]


def _more_rows(total: int, t: Translator) -> list[str]:
    if total <= ROWS_SHOWN:
        return []
    return [
        t.gettext("{count} more in the JSON report", count=t.format_number(total - ROWS_SHOWN)),
        "",
    ]


def _traffic_head(report: TrafficReport, t: Translator) -> list[str]:
    """Title, verdict, what the traffic was judged against, and why: a verify report's and
    an audit's opening alike."""
    closed = report.closed_network
    heading = HEADINGS["closed_network_default" if closed.default else "closed_network"]
    lines = [f"# {t.gettext(HEADINGS['report'])}", ""]
    lines += _verdict_lines(report.verdict, report.exit_code, t)
    lines += [
        f"- **{t.gettext(heading)}:** {text(', '.join(closed.cidrs))}",
        f"- **{t.gettext(HEADINGS['policy'])}:** {text(report.policy.name)} "
        f"(fail_on={report.policy.fail_on})",
        f"- **{t.gettext(HEADINGS['captures'])}:** "
        + ", ".join(f"{text(c.path)} (SHA-256 {c.sha256})" for c in report.inputs),
        "",
        f"## {t.gettext(HEADINGS['reasons'])}",
        "",
        *[f"- {text(reason_text(r, t), 2000)}" for r in report.reasons],
        "",
    ]
    return lines


def _outbound_table(report: TrafficReport, t: Translator) -> list[str]:
    if not report.outbound:
        return []
    header = [
        *headings(t, "device"),
        t.gettext("remote"),
        t.gettext("port"),
        t.gettext("state"),
        t.gettext("names"),
        *headings(t, "allowed_by", "frames"),
    ]
    body = [
        [
            text(o.device),
            text(o.remote),
            text(f"{o.dport}/{o.proto}" if o.proto in ("tcp", "udp") else o.proto),
            text(o.state),
            text(", ".join(o.names)),
            text(o.allowed_by or ""),
            text(f"{o.capture}#{o.first_frame}-{o.last_frame}"),
        ]
        for o in report.outbound[:ROWS_SHOWN]
    ]
    return [f"## {t.gettext(HEADINGS['outbound'])}", "", *_table(header, body)]


def _evidence_lines(evidence: Iterable[Evidence], t: Translator) -> list[str]:
    """One bullet per piece of evidence: capture, frames, the display filter to copy."""
    return [
        "  - "
        + t.gettext(
            "{capture} frames {frames}: {filter}",
            capture=text(e.capture),
            frames=", ".join(map(str, e.frames)),
            filter=code(e.display_filter),
        )
        for e in evidence
    ]


def _findings(report: TrafficReport, t: Translator) -> list[str]:
    lines = [f"## {t.gettext(HEADINGS['findings'])}", ""]
    if not report.findings:
        lines += [t.gettext("No findings."), ""]
    for f in report.findings:
        title = t.gettext(FINDING_TITLES[f.rule]) if f.rule in FINDING_TITLES else text(f.rule)
        severity = (
            t.gettext(SEVERITIES[f.severity]) if f.severity in SEVERITIES else text(f.severity)
        )
        lines += [f"### {text(f.rule)}: {title}", ""]
        lines += [f"- **{t.gettext(HEADINGS['severity'])}:** {severity}"]
        if f.device:
            lines += [f"- **{t.gettext(HEADINGS['device'])}:** {text(f.device)}"]
        summary = text(finding_text(f, t), 2000)
        lines += [f"- {summary}", f"- **{t.gettext(HEADINGS['evidence'])}:**"]
        lines += [*_evidence_lines(f.evidence, t), ""]
    return lines


def _verify(report: VerifyReport, t: Translator) -> list[str]:
    return [
        *_traffic_head(report, t),
        *_inventory_table(report, t),
        *_outbound_table(report, t),
        *_findings(report, t),
    ]


def _device_verdict(d: AuditDeviceEntry, t: Translator) -> list[str]:
    """One device of an audit: its own verdict, why, the frames behind it, what it runs
    and what could not be checked."""
    from camaudit.audit.devices import audit_text  # audits only: verify loads no audit code

    verdict = t.gettext(VERDICT_NAMES[d.verdict.verdict])
    who = text(d.ip or d.mac or "?") + (f" ({text(d.mac)})" if d.ip and d.mac else "")
    lines = [f"### {who}: {verdict}", ""]
    lines += [f"- {text(reason_text(r, t), 2000)}" for r in d.verdict.reasons]
    if d.verdict.evidence:
        lines += [
            f"- **{t.gettext(HEADINGS['evidence'])}:**",
            *_evidence_lines(d.verdict.evidence, t),
        ]
    lines += [f"- {text(line, 1000)}" for line in passive_lines(d, t)]
    lines += _device_notes(d, (), t, "- ")
    lines += [
        f"- {t.gettext(TERMS['not_checked'])}: {text(audit_text(n, t), 1000)}"
        for n in d.not_checked
    ]
    return [*lines, ""]


def _device_notes(
    d: IdentifiedDevice, warnings: Sequence[str], t: Translator, prefix: str
) -> list[str]:
    """A device's known vulnerabilities, settings that need attention and warnings."""
    notes = []
    for c in d.cves:
        kev = " (CISA KEV)" if c.kev_date_added else ""
        notes.append(
            f"{prefix}{text(c.cve)} (CVSS {t.format_number(c.cvss)}){kev}: " + text(c.reason, 1000)
        )
    notes += [f"{prefix}{text(config_text(c, t), 1000)}" for c in d.config_findings]
    notes += [f"{prefix}{text(w, 1000)}" for w in warnings]
    return notes


def _audit(report: AuditReport, t: Translator) -> list[str]:
    from camaudit.audit.devices import audit_text  # audits only: verify loads no audit code

    a = report.audit
    lines = _traffic_head(report, t)
    lines += _inventory_table(report, t)
    lines += [f"## {t.gettext(HEADINGS['device_verdicts'])}", ""]
    for d in a.devices[:ROWS_SHOWN]:
        lines += _device_verdict(d, t)
    lines += _more_rows(len(a.devices), t)
    lines += _outbound_table(report, t)
    lines += _findings(report, t)
    if a.not_checked:
        lines += [f"## {t.gettext(HEADINGS['not_checked'])}", ""]
        lines += [*(f"- {text(audit_text(n, t), 1000)}" for n in a.not_checked), ""]
    return lines + _sections(report, t)


def _sections(report: InventoryReport | AuditReport, t: Translator) -> list[str]:
    """The register reconciliation and the BIO/BIO2 controls, where the report has them."""
    lines: list[str] = []
    if report.register is not None:
        header, rows = register_table(report.register, t, text)
        lines += [f"## {t.gettext('Register')}", "", *_table(header, rows)]
    if report.controls is not None:
        cited = report_findings(report)
        title, header, controls = controls_table(report.controls, t, text, cited)
        lines += [f"## {title}", "", *_table(header, [cells for _, cells in controls])]
    return lines


def _inventory(report: InventoryReport, t: Translator) -> list[str]:
    inv = report.inventory
    s = inv.summary
    lines = [f"# {t.gettext(HEADINGS['report'])}", ""]
    lines += [
        t.ngettext(*PLURALS["devices"], s.devices)
        + "; "
        + t.gettext(
            "{identified} identified, {cves} with known CVEs ({kev} in CISA KEV)",
            identified=t.format_number(s.identified),
            cves=t.format_number(s.with_cves),
            kev=t.format_number(s.with_kev),
        ),
        "",
    ]
    if inv.target:
        target = t.gettext("Target")
        lines += [f"- **{target}:** {text(', '.join(inv.target.networks))}"]
    lines += [
        f"- **{t.gettext(HEADINGS['closed_network'])}:** "
        + text(", ".join(inv.closed_network.networks)),
        "",
    ]
    lines += _inventory_table(report, t)
    notes: list[str] = []
    for d in inv.devices:
        who = text(d.ip or d.mac or "?")
        notes += _device_notes(d, d.warnings, t, f"- {who}: ")
    notes += [f"- {text(o.finding, 1000)}" for o in inv.outside_target]
    lines += [f"## {t.gettext(HEADINGS['findings'])}", ""]
    lines += [*notes, ""] if notes else [t.gettext("No findings."), ""]
    return lines + _sections(report, t)


def render(report: Report, t: Translator) -> str:
    """``report`` as a Markdown document in the language of ``t``."""
    lines = by_kind(report, _verify, _inventory, _audit, t)
    lines += [t.gettext(HEADINGS["generated_by"], version=text(report.tool.version))]
    return "\n".join(lines).rstrip("\n") + "\n"
