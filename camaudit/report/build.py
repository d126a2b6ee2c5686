"""The verify report: an :class:`Assessment` and its evidence as a :class:`VerifyReport`.

Every output format renders from that one typed model (:mod:`camaudit.report.model`),
whose JSON shape is pinned by ``report.schema.json`` next to this module.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
from camaudit.report.model import (
    SCHEMA_VERSION,
    BoundaryFlowEntry,
    CaptureEntry,
    ClosedNetworkEntry,
    EvidenceEntry,
    FindingEntry,
    HostEntry,
    LookupEntry,
    PolicyEntry,
    ProblemEntry,
    RejectionEntry,
    ToolInfo,
    VerifyReport,
    VerifySummary,
)

TOOL = ToolInfo("camaudit", __version__)


def generated_at(when: datetime | None) -> str:
    """The report's time stamp: ``when``, else now (UTC), to the second."""
    return (when or datetime.now(UTC)).isoformat(timespec="seconds")


def _problem(p: Problem) -> ProblemEntry:
    return ProblemEntry(p.code, p.message, p.capture, p.count)


def _input(i: CaptureInput) -> CaptureEntry:
    problems = tuple(_problem(p) for p in i.problems)
    return CaptureEntry(
        path=i.path,
        sha256=i.sha256,
        format=i.format,
        compression=i.compression,
        packets=i.packets,
        ip_packets=i.ip_packets,
        other_packets=i.other_packets,
        first_time=i.first_time,
        last_time=i.last_time,
        link_types=i.link_types,
        snaplen=i.snaplen,
        problems=problems,
    )


def _outbound(o: OutboundFlow) -> BoundaryFlowEntry:
    f = o.flow
    rejected = None
    if f.rejected_by is not None:
        rejected = RejectionEntry(f.rejected_by.capture, f.rejected_by.frame, f.rejected_from)
    return BoundaryFlowEntry(
        direction=o.direction,
        device=o.device,
        remote=o.remote,
        src=f.orig,
        dst=f.resp,
        proto=f.proto,
        sport=f.orig_port,
        dport=f.resp_port,
        state=f.category,
        conn_state=f.conn_state,
        crossed=o.crossed,
        capture=f.first.capture,
        first_frame=f.first.frame,
        last_capture=f.last.capture,
        last_frame=f.last.frame,
        first_time=f.first.time,
        last_time=f.last.time,
        packets_out=f.orig_packets,
        bytes_out=f.orig_bytes,
        packets_in=f.resp_packets,
        bytes_in=f.resp_bytes,
        names=f.names,
        sni=f.sni,
        http_host=f.http_host,
        app=f.app,
        label=o.label,
        label_source=o.label_source,
        allowed_by=o.allowed_by,
        allowed_basis=o.allowed_basis,
        rejected_by=rejected,
        reply_unseen=f.reply_unseen,
        mid_stream=f.mid_stream,
        vlan=f.vlan,
        device_mac=f.orig_mac if o.device == f.orig else f.resp_mac,
    )


def _dns(c: ClassifiedLookup) -> LookupEntry:
    q = c.lookup
    ref = q.query or q.response
    return LookupEntry(
        name=q.name,
        qtype=q.qtype,
        rcode=q.rcode,
        answers=q.answers,
        client=q.client,
        server=q.server,
        capture=ref.capture if ref else None,
        frame=q.query.frame if q.query else None,
        response_frame=q.response.frame if q.response else None,
        time=ref.time if ref else None,
        external=c.external,
        answered_with_addresses=c.answered_with_addresses,
        label=c.label,
        truncated=q.truncated,
    )


def _evidence(e: Evidence) -> EvidenceEntry:
    return EvidenceEntry(e.capture, e.frames, e.display_filter, e.first_time)


def _finding(f: Finding) -> FindingEntry:
    evidence = tuple(_evidence(e) for e in f.evidence)
    return FindingEntry(f.rule, f.severity, f.device, f.summary, f.label, evidence)


def _summary(assessment: Assessment, traffic: TrafficSummary) -> VerifySummary:
    return VerifySummary(
        captures=len(traffic.inputs),
        packets=traffic.packets,
        flows=len(traffic.flows),
        devices=len(assessment.devices),
        outbound=len(assessment.outbound),
        crossed=sum(1 for o in assessment.outbound if o.crossed and not o.allowed_by),
        dns_lookups=len(assessment.dns),
        external_lookups=sum(1 for d in assessment.dns if d.external),
        findings=len(assessment.findings),
    )


def build_report(
    assessment: Assessment, traffic: TrafficSummary, generated: datetime | None = None
) -> VerifyReport:
    """Everything a security officer, an auditor and a compliance check need, typed."""
    a = assessment
    return VerifyReport(
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
        inputs=tuple(_input(i) for i in traffic.inputs),
        problems=tuple(_problem(p) for p in traffic.problems),
        devices=tuple(HostEntry(h.ip, h.mac, h.oui_vendor) for h in a.devices),
        outbound=tuple(_outbound(o) for o in a.outbound),
        dns=tuple(_dns(c) for c in a.dns),
        findings=tuple(_finding(f) for f in a.findings),
    )
