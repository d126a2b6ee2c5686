"""SARIF 2.1.0 (``--format sarif``): the report for code-scanning pipelines.

One run. ``tool.driver.rules`` holds one rule per finding rule (its translated title as
short description, what it means and how to check it as full description and help, its
default level); each result has the rule, a level from the severity (high: error,
medium: warning, low and info: note), a message, and a location per piece of evidence:
the capture file as ``artifactLocation.uri`` (its SHA-256 in ``run.artifacts``) and a
logical location naming the frames, the Wireshark display filter in the properties. An
inventory's results are its devices' known CVEs and configuration findings, located at
the device. An audit's run is the verify run plus, per device, one result for its own
isolation verdict (rule ``DEVICE-<VERDICT>``: not isolated an error, attempts and
inconclusive a warning, isolated a ``pass`` of level none) located at the device and at
every capture and frames the verdict rests on, then its CVEs and settings.
``invocations`` records the exit code; ``run.properties`` the verdict.

SARIF is JSON: untrusted text is cleaned of control and bidi characters, and its curly
braces are doubled as SARIF 3.11.5 asks of literal braces in a message.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from camaudit.i18n import N_, Translator
from camaudit.messages import FINDING_TITLES, VERDICT_NAMES
from camaudit.model import Evidence, Verdict
from camaudit.phrases import config_text, finding_text, reason_text
from camaudit.report.model import (
    AuditDeviceEntry,
    AuditReport,
    InventoryReport,
    Report,
    VerifyReport,
)
from camaudit.report.render import by_kind
from camaudit.report.table import IdentifiedDevice, TrafficReport
from camaudit.sanitize import clean_text

__all__ = ["SCHEMA_URI", "level", "render"]

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVELS = {"high": "error", "medium": "warning", "low": "note", "info": "note"}
CONFIG_RULE = "DEVICE-CONFIG"
# An audit's device verdicts: one rule per verdict value. Isolated is a ``pass`` result
# (level none), so a pipeline sees every device, and fails only on the others.
DEVICE_VERDICT_RULES = {
    Verdict.NOT_ISOLATED: "DEVICE-NOT-ISOLATED",
    Verdict.ISOLATED_WITH_ATTEMPTS: "DEVICE-ISOLATED-WITH-ATTEMPTS",
    Verdict.INCONCLUSIVE: "DEVICE-INCONCLUSIVE",
    Verdict.ISOLATED: "DEVICE-ISOLATED",
}
_VERDICT_LEVELS = {
    Verdict.NOT_ISOLATED: "error",
    Verdict.ISOLATED_WITH_ATTEMPTS: "warning",
    Verdict.INCONCLUSIVE: "warning",
    Verdict.ISOLATED: "none",
}
DEVICE_VERDICT_MEANINGS = {
    Verdict.NOT_ISOLATED: N_("Traffic of this device crossed the boundary of the closed network."),
    Verdict.ISOLATED_WITH_ATTEMPTS: N_(
        "Nothing of this device crossed the boundary, but it tried to reach the outside."
    ),
    Verdict.INCONCLUSIVE: N_("The captures cannot show whether this device stayed inside."),
    Verdict.ISOLATED: N_(
        "No packet of this device left the closed network, and it looked up no outside name."
    ),
}
MESSAGE_LIMIT = 2000


def level(severity: str) -> str:
    """The SARIF level of a camaudit severity (an unknown severity is a warning)."""
    return _LEVELS.get(severity, "warning")


def _message(value: str) -> dict[str, str]:
    cleaned = clean_text(value, MESSAGE_LIMIT)
    return {"text": cleaned.replace("{", "{{").replace("}", "}}")}


def uri(path: str) -> str:
    """A capture path as a URI reference: relative stays relative, absolute is file://."""
    cleaned = clean_text(path, 4000)
    encoded = quote(cleaned, safe="/")
    return "file://" + encoded if cleaned.startswith("/") else encoded


class _Rules:
    """The driver's rules in order of first use, and each one's index."""

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}

    def add(self, rule_id: str, rule: dict[str, Any]) -> int:
        if rule_id not in self.index:
            self.index[rule_id] = len(self.rules)
            self.rules.append({"id": rule_id, **rule})
        return self.index[rule_id]


def _finding_rule(rule: str, severity: str, t: Translator) -> dict[str, Any]:
    title = t.gettext(FINDING_TITLES[rule]) if rule in FINDING_TITLES else clean_text(rule)
    full = t.gettext(
        "{title}. camaudit found this in the traffic; each result names the capture, "
        "the frames and a Wireshark display filter that shows them.",
        title=title,
    )
    return {
        "shortDescription": _message(title),
        "fullDescription": _message(full),
        "help": _message(
            t.gettext(
                "Open the capture in Wireshark and apply the display filter in the "
                "result's properties (displayFilter) to see the frames."
            )
        ),
        "defaultConfiguration": {"level": level(severity)},
    }


def _evidence_location(e: Evidence, artifacts: dict[str, int], t: Translator) -> dict[str, Any]:
    """The capture file (and its index in ``run.artifacts``) and the frames of one piece
    of evidence, the display filter that shows them in the properties."""
    frames = ",".join(map(str, e.frames))
    artifact: dict[str, Any] = {"uri": uri(e.capture)}
    if e.capture in artifacts:
        artifact["index"] = artifacts[e.capture]
    return {
        "physicalLocation": {"artifactLocation": artifact},
        "logicalLocations": [
            {
                "name": t.gettext("frames {frames}", frames=frames),
                "fullyQualifiedName": clean_text(f"{e.capture}#{frames}", 4000),
                "kind": "frames",
            }
        ],
        "properties": {
            "frames": list(e.frames),
            "displayFilter": clean_text(e.display_filter, 4000),
        },
    }


def _artifacts(report: TrafficReport) -> dict[str, int]:
    return {c.path: i for i, c in enumerate(report.inputs)}


def _finding_results(report: TrafficReport, rules: _Rules, t: Translator) -> list[dict[str, Any]]:
    """One result per finding of the traffic, located at the frames behind it."""
    artifacts = _artifacts(report)
    results = []
    for f in report.findings:
        index = rules.add(f.rule, _finding_rule(f.rule, f.severity, t))
        title = t.gettext(FINDING_TITLES[f.rule]) if f.rule in FINDING_TITLES else f.rule
        result: dict[str, Any] = {
            "ruleId": clean_text(f.rule),
            "ruleIndex": index,
            "level": level(f.severity),
            "message": _message(f"{title}: {finding_text(f, t)}"),
            "locations": [_evidence_location(e, artifacts, t) for e in f.evidence],
            "properties": {
                "severity": clean_text(f.severity),
                "device": clean_text(f.device) if f.device else None,
                "displayFilter": [clean_text(e.display_filter, 4000) for e in f.evidence],
            },
        }
        results.append(result)
    return results


def _traffic_run(report: TrafficReport, rules: _Rules, t: Translator) -> dict[str, Any]:
    """The run of a verify report, and the verify part of an audit's."""
    return {
        "tool": _tool(report, rules),
        "invocations": [_invocation(report)],
        "language": t.lang,
        "artifacts": [
            {"location": {"uri": uri(c.path)}, "hashes": {"sha-256": c.sha256}}
            for c in report.inputs
        ],
        "results": _finding_results(report, rules, t),
        "properties": {
            "kind": report.kind,
            "verdict": str(report.verdict),
            "verdictText": t.gettext(VERDICT_NAMES[report.verdict]),
            "reasons": [clean_text(reason_text(r, t), MESSAGE_LIMIT) for r in report.reasons],
        },
    }


def _verify_run(report: VerifyReport, t: Translator) -> dict[str, Any]:
    return _traffic_run(report, _Rules(), t)


def _device_location(ip: str | None, mac: str | None) -> dict[str, Any]:
    who = clean_text(ip or mac or "?")
    return {"logicalLocations": [{"name": who, "fullyQualifiedName": who, "kind": "device"}]}


def _device_results(d: IdentifiedDevice, rules: _Rules, t: Translator) -> list[dict[str, Any]]:
    """A device's known vulnerabilities and settings that need attention, located at it."""
    where = _device_location(d.ip, d.mac)
    results: list[dict[str, Any]] = []
    for c in d.cves:
        severity = "high" if c.kev_date_added or c.cvss >= 7 else "medium" if c.cvss >= 4 else "low"
        text = t.gettext("Known vulnerability {cve} applies to the firmware", cve=clean_text(c.cve))
        index = rules.add(
            clean_text(c.cve),
            {
                "shortDescription": _message(text),
                "fullDescription": _message(f"{text}: {c.reason}"),
                "help": _message(
                    t.gettext(
                        "Update the firmware to {version} or later.",
                        version=clean_text(c.fixed_in),
                    )
                ),
                "defaultConfiguration": {"level": level(severity)},
            },
        )
        results.append(
            {
                "ruleId": clean_text(c.cve),
                "ruleIndex": index,
                "level": level(severity),
                "message": _message(f"{text}: {c.reason}"),
                "locations": [where],
                "properties": {
                    "cvss": c.cvss,
                    "kev": clean_text(c.kev_date_added) if c.kev_date_added else None,
                    "source": clean_text(c.source, MESSAGE_LIMIT),
                },
            }
        )
    for finding in d.config_findings:
        text = t.gettext("A device setting needs attention")
        index = rules.add(
            CONFIG_RULE,
            {
                "shortDescription": _message(text),
                "fullDescription": _message(text),
                "help": _message(text),
                "defaultConfiguration": {"level": "warning"},
            },
        )
        results.append(
            {
                "ruleId": CONFIG_RULE,
                "ruleIndex": index,
                "level": "warning",
                "message": _message(config_text(finding, t)),
                "locations": [where],
            }
        )
    return results


def _inventory_run(report: InventoryReport, t: Translator) -> dict[str, Any]:
    rules = _Rules()
    results = [r for d in report.inventory.devices for r in _device_results(d, rules, t)]
    return {
        "tool": _tool(report, rules),
        "invocations": [_invocation(report)],
        "language": t.lang,
        "results": results,
        "properties": {"kind": report.kind, "devices": report.inventory.summary.devices},
    }


def _verdict_rule(verdict: Verdict, t: Translator) -> dict[str, Any]:
    name = t.gettext(VERDICT_NAMES[verdict])
    short = t.gettext("Device verdict: {verdict}", verdict=name)
    return {
        "shortDescription": _message(short),
        "fullDescription": _message(f"{short}. {t.gettext(DEVICE_VERDICT_MEANINGS[verdict])}"),
        "help": _message(
            t.gettext(
                "The result lists the device's reasons; each location is a capture and the "
                "frames behind them, with a Wireshark display filter (displayFilter)."
            )
        ),
        "defaultConfiguration": {"level": _VERDICT_LEVELS[verdict]},
    }


def _verdict_result(
    d: AuditDeviceEntry, artifacts: dict[str, int], rules: _Rules, t: Translator
) -> dict[str, Any]:
    """A device's own isolation verdict: ``pass`` when isolated, else a result at the
    device and at every capture and frames its verdict rests on."""
    from camaudit.audit.devices import audit_text  # audits only: verify loads no audit code

    verdict = d.verdict.verdict
    rule_id = DEVICE_VERDICT_RULES[verdict]
    index = rules.add(rule_id, _verdict_rule(verdict, t))
    who = clean_text(d.ip or d.mac or "?")
    reasons = "; ".join(reason_text(r, t) for r in d.verdict.reasons)
    text = t.gettext("{device}: {verdict}", device=who, verdict=t.gettext(VERDICT_NAMES[verdict]))
    return {
        "ruleId": rule_id,
        "ruleIndex": index,
        "kind": "pass" if verdict == Verdict.ISOLATED else "fail",
        "level": _VERDICT_LEVELS[verdict],
        "message": _message(f"{text}: {reasons}" if reasons else text),
        "locations": [
            _device_location(d.ip, d.mac),
            *(_evidence_location(e, artifacts, t) for e in d.verdict.evidence),
        ],
        "properties": {
            "verdict": str(verdict),
            "ip": clean_text(d.ip) if d.ip else None,
            "mac": clean_text(d.mac) if d.mac else None,
            "sources": [clean_text(x) for x in d.sources],
            "reasons": [clean_text(reason_text(r, t), MESSAGE_LIMIT) for r in d.verdict.reasons],
            "notChecked": [clean_text(audit_text(n, t), MESSAGE_LIMIT) for n in d.not_checked],
        },
    }


def _audit_run(report: AuditReport, t: Translator) -> dict[str, Any]:
    """The verify part's run, then one verdict result per device and each device's
    vulnerabilities and settings."""
    from camaudit.audit.devices import audit_text  # audits only: verify loads no audit code

    rules = _Rules()
    run = _traffic_run(report, rules, t)
    artifacts = _artifacts(report)
    for d in report.audit.devices:
        run["results"].append(_verdict_result(d, artifacts, rules, t))
        run["results"] += _device_results(d, rules, t)
    summary = report.audit.summary
    run["properties"]["devices"] = summary.devices
    run["properties"]["notChecked"] = [
        clean_text(audit_text(n, t), MESSAGE_LIMIT) for n in report.audit.not_checked
    ]
    return run


def _tool(report: Report, rules: _Rules) -> dict[str, Any]:
    return {
        "driver": {
            "name": clean_text(report.tool.name),
            "version": clean_text(report.tool.version),
            "rules": rules.rules,
        }
    }


def _invocation(report: Report) -> dict[str, Any]:
    return {"executionSuccessful": True, "exitCode": report.exit_code}


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def render(report: Report, t: Translator) -> str:
    """``report`` as a SARIF 2.1.0 log (JSON text) in the language of ``t``."""
    run = by_kind(report, _verify_run, _inventory_run, _audit_run, t)
    # SARIF has no null for "not known": such a property is left out.
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [_drop_none(run)]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
