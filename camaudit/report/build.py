"""The one report model: an :class:`Assessment` and its evidence as JSON-ready data.

Every output format (JSON, console) renders from this dict, and its shape is
pinned by ``report.schema.json`` next to this module.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any, TextIO

from camaudit import __version__, exitcodes
from camaudit.model import (
    Assessment,
    CaptureInput,
    ClassifiedLookup,
    Evidence,
    Finding,
    OutboundFlow,
    Problem,
    TrafficSummary,
)

SCHEMA_VERSION = 1
Report = dict[str, Any]


def schema() -> dict[str, Any]:
    """The committed JSON Schema every report validates against."""
    text = resources.files("camaudit.report").joinpath("report.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _problem(p: Problem) -> dict[str, Any]:
    return {"code": p.code, "message": p.message, "capture": p.capture, "count": p.count}


def _input(i: CaptureInput) -> dict[str, Any]:
    return {
        "path": i.path,
        "sha256": i.sha256,
        "format": i.format,
        "compression": i.compression,
        "packets": i.packets,
        "ip_packets": i.ip_packets,
        "other_packets": i.other_packets,
        "first_time": i.first_time,
        "last_time": i.last_time,
        "link_types": list(i.link_types),
        "snaplen": i.snaplen,
        "problems": [_problem(p) for p in i.problems],
    }


def _outbound(o: OutboundFlow) -> dict[str, Any]:
    f = o.flow
    rejected = None
    if f.rejected_by is not None:
        rejected = {
            "capture": f.rejected_by.capture,
            "frame": f.rejected_by.frame,
            "from": f.rejected_from,
        }
    return {
        "direction": o.direction.value,
        "device": o.device,
        "remote": o.remote,
        "src": f.orig,
        "dst": f.resp,
        "proto": f.proto,
        "sport": f.orig_port,
        "dport": f.resp_port,
        "state": f.category.value,
        "conn_state": f.conn_state,
        "crossed": o.crossed,
        "capture": f.first.capture,
        "first_frame": f.first.frame,
        "last_capture": f.last.capture,
        "last_frame": f.last.frame,
        "first_time": f.first.time,
        "last_time": f.last.time,
        "packets_out": f.orig_packets,
        "bytes_out": f.orig_bytes,
        "packets_in": f.resp_packets,
        "bytes_in": f.resp_bytes,
        "names": list(f.names),
        "sni": f.sni,
        "http_host": f.http_host,
        "app": f.app,
        "label": o.label,
        "label_source": o.label_source,
        "allowed_by": o.allowed_by,
        "allowed_basis": o.allowed_basis.value if o.allowed_basis else None,
        "rejected_by": rejected,
        "reply_unseen": f.reply_unseen,
        "mid_stream": f.mid_stream,
        "vlan": f.vlan,
        "device_mac": f.orig_mac if o.device == f.orig else f.resp_mac,
    }


def _dns(c: ClassifiedLookup) -> dict[str, Any]:
    q = c.lookup
    ref = q.query or q.response
    return {
        "name": q.name,
        "qtype": q.qtype,
        "rcode": q.rcode,
        "answers": list(q.answers),
        "client": q.client,
        "server": q.server,
        "capture": ref.capture if ref else None,
        "frame": q.query.frame if q.query else None,
        "response_frame": q.response.frame if q.response else None,
        "time": ref.time if ref else None,
        "external": c.external,
        "answered_with_addresses": c.answered_with_addresses,
        "label": c.label,
        "truncated": q.truncated,
    }


def _evidence(e: Evidence) -> dict[str, Any]:
    return {
        "capture": e.capture,
        "frames": list(e.frames),
        "display_filter": e.display_filter,
        "first_time": e.first_time,
    }


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule,
        "severity": f.severity,
        "device": f.device,
        "summary": f.summary,
        "label": f.label,
        "evidence": [_evidence(e) for e in f.evidence],
    }


def build_report(
    assessment: Assessment, traffic: TrafficSummary, generated: datetime | None = None
) -> Report:
    """Everything a security officer, an auditor and a compliance check need, as plain data."""
    crossed = sum(1 for o in assessment.outbound if o.crossed and not o.allowed_by)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "verify",
        "tool": {"name": "camaudit", "version": __version__},
        "generated": (generated or datetime.now(UTC)).isoformat(timespec="seconds"),
        "verdict": assessment.verdict.value,
        "exit_code": exitcodes.for_assessment(assessment),
        "reasons": list(assessment.reasons),
        "closed_network": {
            "cidrs": list(assessment.closed_network),
            "default": assessment.closed_network_is_default,
        },
        "policy": {
            "name": assessment.policy_name,
            "path": assessment.policy_path,
            "fail_on": assessment.fail_on,
        },
        "summary": {
            "captures": len(traffic.inputs),
            "packets": traffic.packets,
            "flows": len(traffic.flows),
            "devices": len(assessment.devices),
            "outbound": len(assessment.outbound),
            "crossed": crossed,
            "dns_lookups": len(assessment.dns),
            "external_lookups": sum(1 for d in assessment.dns if d.external),
            "findings": len(assessment.findings),
        },
        "inputs": [_input(i) for i in traffic.inputs],
        "problems": [_problem(p) for p in traffic.problems],
        "devices": [
            {"ip": h.ip, "mac": h.mac, "oui_vendor": h.oui_vendor} for h in assessment.devices
        ],
        "outbound": [_outbound(o) for o in assessment.outbound],
        "dns": [_dns(c) for c in assessment.dns],
        "findings": [_finding(f) for f in assessment.findings],
    }


def to_json(report: Report) -> str:
    """The report as pretty JSON text."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def write_json(report: Report, handle: TextIO) -> None:
    """Stream the report as pretty JSON (no second copy of a large report in memory)."""
    json.dump(report, handle, indent=2, ensure_ascii=False)
    handle.write("\n")
