"""The verify report: an :class:`Assessment` and its evidence as a :class:`VerifyReport`.

Every output format renders from that one typed model (:mod:`camaudit.report.model`),
whose JSON shape is pinned by ``report.schema.json`` next to this module.
"""

from __future__ import annotations

from datetime import UTC, datetime

from camaudit import __version__, exitcodes
from camaudit.knowledge import Knowledge
from camaudit.model import (
    Assessment,
    ClassifiedLookup,
    Finding,
    OutboundFlow,
    TrafficSummary,
)
from camaudit.report.model import (
    SCHEMA_VERSION,
    BoundaryFlowEntry,
    ClosedNetworkEntry,
    FindingEntry,
    LookupEntry,
    PolicyEntry,
    RejectionEntry,
    ToolInfo,
    VerifyReport,
    VerifySummary,
    copy_fields,
)

TOOL = ToolInfo("camaudit", __version__)


def generated_at(when: datetime | None) -> str:
    """The report's time stamp: ``when``, else now (UTC), to the second."""
    return (when or datetime.now(UTC)).isoformat(timespec="seconds")


# Report column <- Flow attribute, where the report names it from the device's side.
_FLOW_COLUMNS = {
    "src": "orig",
    "dst": "resp",
    "sport": "orig_port",
    "dport": "resp_port",
    "state": "category",
    "packets_out": "orig_packets",
    "bytes_out": "orig_bytes",
    "packets_in": "resp_packets",
    "bytes_in": "resp_bytes",
}


def _outbound(o: OutboundFlow) -> BoundaryFlowEntry:
    f = o.flow
    rejected = None
    if f.rejected_by is not None:
        rejected = RejectionEntry(f.rejected_by.capture, f.rejected_by.frame, f.rejected_from)
    renamed = {column: getattr(f, attr) for column, attr in _FLOW_COLUMNS.items()}
    return copy_fields(
        BoundaryFlowEntry,
        f,
        **renamed,
        direction=o.direction,
        device=o.device,
        remote=o.remote,
        crossed=o.crossed,
        capture=f.first.capture,
        first_frame=f.first.frame,
        last_capture=f.last.capture,
        last_frame=f.last.frame,
        first_time=f.first.time,
        last_time=f.last.time,
        label=o.label,
        label_source=o.label_source,
        allowed_by=o.allowed_by,
        allowed_basis=o.allowed_basis,
        rejected_by=rejected,
        device_mac=f.orig_mac if o.device == f.orig else f.resp_mac,
    )


def _dns(c: ClassifiedLookup) -> LookupEntry:
    q = c.lookup
    ref = q.query or q.response
    return copy_fields(
        LookupEntry,
        q,
        capture=ref.capture if ref else None,
        frame=q.query.frame if q.query else None,
        response_frame=q.response.frame if q.response else None,
        time=ref.time if ref else None,
        external=c.external,
        answered_with_addresses=c.answered_with_addresses,
        label=c.label,
    )


def _finding(f: Finding) -> FindingEntry:
    text = f.summary
    return FindingEntry(
        f.rule, f.severity, f.device, text.text, f.label, f.evidence, text.code, text.params
    )


def _summary(assessment: Assessment, traffic: TrafficSummary) -> VerifySummary:
    return VerifySummary(
        captures=len(traffic.inputs),
        packets=traffic.packets,
        flows=len(traffic.flows),
        devices=len(assessment.devices),
        # flows summarised past a device's detail limit count too (see the reasons)
        outbound=len(assessment.outbound) + assessment.summarised,
        crossed=sum(1 for o in assessment.outbound if o.crossed and not o.allowed_by)
        + assessment.summarised_crossed,
        dns_lookups=sum(d.lookup.pooled or 1 for d in assessment.dns),
        external_lookups=sum(d.lookup.pooled or 1 for d in assessment.dns if d.external),
        findings=len(assessment.findings),
    )


def build_report(
    assessment: Assessment,
    traffic: TrafficSummary,
    generated: datetime | None = None,
    knowledge: Knowledge | None = None,
) -> VerifyReport:
    """Everything a security officer, an auditor and a compliance check need, typed.

    The BIO/BIO2 controls come from ``knowledge`` (default: the default profiles)."""
    from camaudit.report.compliance import with_controls

    a = assessment
    report = VerifyReport(
        schema_version=SCHEMA_VERSION,
        kind="verify",
        tool=TOOL,
        generated=generated_at(generated),
        verdict=a.verdict,
        exit_code=exitcodes.for_assessment(a),
        reasons=a.reasons,
        closed_network=ClosedNetworkEntry(a.closed_network, a.closed_network_is_default),
        policy=PolicyEntry(a.policy_name, a.policy_path, a.fail_on),
        summary=_summary(a, traffic),
        inputs=traffic.inputs,
        problems=traffic.problems,
        devices=a.devices,
        outbound=tuple(_outbound(o) for o in a.outbound),
        dns=tuple(_dns(c) for c in a.dns),
        findings=tuple(_finding(f) for f in a.findings),
        rhythm=a.rhythms,
    )
    return with_controls(report, knowledge)
