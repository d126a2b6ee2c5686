"""Markdown (``--format markdown``): the report a manager reads, in a ticket or a wiki.

Verdict and reasons first, then the council's inventory table, the outbound flows and
every finding with its evidence (the Wireshark display filter in a code span, ready to
copy). All text from the evidence is untrusted: it is cleaned of control and bidi
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
    VERDICT_EXPLANATIONS,
    VERDICT_NAMES,
)
from camaudit.phrases import finding_text, reason_text
from camaudit.report.csv_out import closed_network_cell
from camaudit.report.model import InventoryReport, Report, VerifyReport
from camaudit.report.table import council_rows
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
    header = [
        t.gettext(HEADINGS["location"]),
        t.gettext(HEADINGS["description"]),
        t.gettext(HEADINGS["make"]),
        t.gettext(HEADINGS["model"]),
        t.gettext(HEADINGS["firmware"]),
        t.gettext(HEADINGS["closed_network"]),
        t.gettext(HEADINGS["ip"]),
        t.gettext(HEADINGS["mac"]),
        t.gettext(HEADINGS["cves"]),
    ]
    body = [
        [
            text(r.location),
            text(r.description),
            text(r.make),
            text(r.model),
            text(r.firmware),
            text(closed_network_cell(r.verdict, t)),
            text(r.ip),
            text(r.mac),
            text(", ".join(r.cves)),
        ]
        for r in rows[:ROWS_SHOWN]
    ]
    lines = [f"## {t.gettext(HEADINGS['devices'])}", "", *_table(header, body)]
    if len(rows) > ROWS_SHOWN:
        more = t.gettext(
            "{count} more in the JSON report", count=t.format_number(len(rows) - ROWS_SHOWN)
        )
        lines += [more, ""]
    return lines


def _verify(report: VerifyReport, t: Translator) -> list[str]:
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
    lines += _inventory_table(report, t)
    if report.outbound:
        lines += [f"## {t.gettext(HEADINGS['outbound'])}", ""]
        header = [
            t.gettext(HEADINGS["device"]),
            t.gettext("remote"),
            t.gettext("port"),
            t.gettext("state"),
            t.gettext("names"),
            t.gettext(HEADINGS["allowed_by"]),
            t.gettext(HEADINGS["frames"]),
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
        lines += _table(header, body)
    lines += [f"## {t.gettext(HEADINGS['findings'])}", ""]
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
        for e in f.evidence:
            frames = ", ".join(map(str, e.frames))
            lines += [
                "  - "
                + t.gettext(
                    "{capture} frames {frames}: {filter}",
                    capture=text(e.capture),
                    frames=frames,
                    filter=code(e.display_filter),
                )
            ]
        lines += [""]
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
        for c in d.cves:
            kev = " (CISA KEV)" if c.kev_date_added else ""
            notes.append(
                f"- {who}: {text(c.cve)} (CVSS {t.format_number(c.cvss)}){kev}: "
                + text(c.reason, 1000)
            )
        notes += [f"- {who}: {text(c, 1000)}" for c in d.config_findings]
        notes += [f"- {who}: {text(w, 1000)}" for w in d.warnings]
    notes += [f"- {text(o.finding, 1000)}" for o in inv.outside_target]
    lines += [f"## {t.gettext(HEADINGS['findings'])}", ""]
    lines += [*notes, ""] if notes else [t.gettext("No findings."), ""]
    return lines


def render(report: Report, t: Translator) -> str:
    """``report`` as a Markdown document in the language of ``t``."""
    if isinstance(report, VerifyReport):
        lines = _verify(report, t)
    elif isinstance(report, InventoryReport):
        lines = _inventory(report, t)
    else:  # pragma: no cover - a new report kind must be added here
        raise TypeError(f"no Markdown rendering for {type(report).__name__}")
    lines += [t.gettext(HEADINGS["generated_by"], version=text(report.tool.version))]
    return "\n".join(lines).rstrip("\n") + "\n"
