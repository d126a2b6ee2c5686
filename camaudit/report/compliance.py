"""The control-by-control section: BIO / BIO2 controls passed, failed or not tested.

The mapping is data (``profiles/bio.toml``, :mod:`camaudit.knowledge.bio`); this module
only applies it to a report. Status logic, per control:

* ``failed`` when any finding mapped to the control is in the report (a finding is
  evidence of a failure whatever else was or was not examined);
* ``passed`` when no mapped finding is present *and* every kind of evidence the control
  names was examined in this report: ``capture`` (traffic judged, verdict not
  ``inconclusive``), ``config`` (every fingerprinted device's settings read),
  ``firmware`` (every fingerprinted device's firmware read), ``inventory`` (a discovery
  sweep of the segment) and ``register`` (the council's register compared);
* ``not_tested`` otherwise, with a one-line reason naming the first evidence missing.

So 8.22 passes only on ``isolated`` or ``isolated_with_attempts`` traffic (the boundary
held: an attempt fails 8.20 and the supplier controls, not segregation), and an
``inconclusive`` verdict leaves it not tested. A finding whose rule ``bio.toml`` does not
name is listed in ``unmapped`` so that it cannot vanish from the compliance view.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

from camaudit.i18n import N_, Translator
from camaudit.knowledge import Knowledge, given_or_default
from camaudit.knowledge.bio import Bio, Control
from camaudit.model import Verdict

if TYPE_CHECKING:  # model.py holds these sections as fields: it imports this module
    from camaudit.report.model import (
        AuditReport,
        DeviceEntry,
        FindingEntry,
        InventoryReport,
        Report,
        VerifyReport,
    )
    from camaudit.report.register import RegisterSection

__all__ = [
    "DATA_REASONS",
    "REASONS",
    "REGISTER_KINDS",
    "STATUS_NAMES",
    "ControlEntry",
    "ControlFinding",
    "ControlsSection",
    "compliance_section",
    "config_rule",
    "with_controls",
]

ControlStatus = Literal["passed", "failed", "not_tested"]
FindingSource = Literal["findings", "devices", "register"]

# The one-line reasons a control is not tested: fixed strings in the catalogue, so a
# renderer shows them translated (``t.gettext(entry.reason)``).
NO_CAPTURE = N_("no capture given")
INCONCLUSIVE = N_("capture inconclusive: no verdict on every frame")
NO_FINGERPRINT = N_("no device fingerprinted")
NO_CONFIG = N_("no credentials: device settings not read")
NO_FIRMWARE = N_("no credentials: firmware not read")
NO_SWEEP = N_("no discovery sweep of the segment")
NO_REGISTER = N_("no register given")
# An audit device without a verdict of its own (it sent nothing, say): the capture does not
# speak for every device, so a control that needs it is not passed (fail closed).
DEVICE_INCONCLUSIVE = N_("a device has no isolation verdict of its own (see the audit's devices)")
# bio.toml's reasons for controls no network audit can test (``evidence = ["never"]``):
# listed here so that the catalogue holds them (a test keeps the two in step).
DATA_REASONS = (
    N_("supplier agreements are documents, not network behaviour"),
    N_("camaudit does not read device logs"),
)
# How a renderer names a status and a register entry kind (``t.gettext(STATUS_NAMES[s])``).
STATUS_NAMES = {
    "passed": N_("passed"),
    "failed": N_("failed"),
    "not_tested": N_("not tested"),
}
REGISTER_KINDS = {
    "matched": N_("as registered"),
    "make_differs": N_("make differs from the register"),
    "not_found": N_("registered but not found"),
    "not_registered": N_("found but not registered"),
}
REASONS = (
    NO_CAPTURE, INCONCLUSIVE, NO_FINGERPRINT, NO_CONFIG, NO_FIRMWARE, NO_SWEEP, NO_REGISTER,
    DEVICE_INCONCLUSIVE,
)  # fmt: skip

# Device setting facts a credentialed ONVIF read gives (fingerprint/findings.py reads these).
_CONFIG_FACTS = frozenset({"ntp", "dns", "gateway", "upnp", "p2p"})

# The inventory keeps a config finding's summary, not its rule: these phrases are how
# fingerprint/findings.py words each rule (tests/report/test_compliance.py holds the two
# together by running findings.py and classifying its output).
_CONFIG_PHRASES = (
    ("UPnP is enabled", "config-upnp-enabled"),
    ("P2P cloud access is enabled", "config-p2p-enabled"),
    ("is a name, not an address", "config-name-not-address"),
    ("is set on a closed network", "config-gateway-set"),
    ("is outside the closed network", "config-address-outside"),
)


@dataclass(frozen=True)
class ControlFinding:
    """A finding behind a control: its rule, device and where it is in the report.

    ``source`` names the report list ``index`` points into: ``findings`` (verify),
    ``devices`` (the inventory's devices) or ``register`` (the register's entries).
    ``detail`` says which of the device's findings (a CVE id, a setting, a discrepancy).
    """

    rule: str
    device: str | None
    source: FindingSource
    index: int
    detail: str


@dataclass(frozen=True)
class ControlEntry:
    """One control as judged on this report.

    The report's own findings behind it are cited by their index (0-based) into the
    report's ``findings`` (``finding_indices``), not copied: a flood's findings would be
    written once per control. ``findings`` holds the rest (a device's, the register's),
    and, in a report saved before findings were cited, every one as a :class:`ControlFinding`.
    """

    id: str
    title_en: str
    title_nl: str
    status: ControlStatus
    reason: str | None  # why not tested (one line); None when passed or failed
    findings: tuple[ControlFinding, ...]
    tests: str
    source: str
    finding_indices: tuple[int, ...] = ()


@dataclass(frozen=True)
class ControlsSection:
    """The control-by-control result (JSON ``controls``)."""

    framework: str
    examined: tuple[str, ...]  # evidence kinds this report examined, in bio.toml's order
    controls: tuple[ControlEntry, ...]
    unmapped: tuple[str, ...]  # rule ids present that bio.toml maps to no control


def config_rule(summary: str) -> str:
    """The rule id of an inventory config finding, from its summary (``config-unknown``)."""
    return next((rule for phrase, rule in _CONFIG_PHRASES if phrase in summary), "config-unknown")


def _device_findings(index: int, device: DeviceEntry) -> Iterator[ControlFinding]:
    name = device.ip or device.mac
    if device.outside_target:
        yield ControlFinding("outside-target", name, "devices", index, "outside --target")
    for summary in device.config_findings:
        yield ControlFinding(config_rule(summary), name, "devices", index, summary)
    for cve in device.cves:
        rule = "cve-kev" if cve.kev_date_added else "cve-applicable"
        yield ControlFinding(rule, name, "devices", index, cve.cve)
    for warning in device.warnings:
        rule = "certificate-changed" if "TLS certificate" in warning else "device-warning"
        yield ControlFinding(rule, name, "devices", index, warning)


def _register_findings(register: RegisterSection | None) -> Iterator[ControlFinding]:
    for index, entry in enumerate(register.entries if register else ()):
        if entry.kind != "matched":
            where = f"register row {entry.row}" if entry.row is not None else "not in register"
            name = entry.ip or entry.mac
            rule = "register-" + entry.kind.replace("_", "-")
            yield ControlFinding(rule, name, "register", index, where)


def _findings(report: Report) -> tuple[ControlFinding, ...]:
    """Every finding of the report: the traffic's (verify, audit: only cited, ``detail``
    left empty), the devices' (inventory, audit) and the register's."""
    from camaudit.report.model import VerifyReport

    found: list[ControlFinding] = [
        ControlFinding(f.rule, f.device, "findings", i, "")
        for i, f in enumerate(report_findings(report))
    ]
    if not isinstance(report, VerifyReport):
        devices = report.inventory.devices
        found += [f for i, d in enumerate(devices) for f in _device_findings(i, d)]
    return (*found, *_register_findings(report.register))


def _probed(devices: Sequence[DeviceEntry]) -> list[DeviceEntry]:
    """The devices that were fingerprinted (in target, answered a probe)."""
    return [d for d in devices if d.probes and not d.outside_target]


def _device_gaps(devices: Sequence[DeviceEntry]) -> dict[str, str]:
    """What fingerprinting left unread: device settings, firmware."""
    probed = _probed(devices)
    if not probed:
        return {"config": NO_FINGERPRINT, "firmware": NO_FINGERPRINT}
    missing: dict[str, str] = {}
    if not all(_CONFIG_FACTS & {k for p in d.probes for k, _ in p.facts} for d in probed):
        missing["config"] = NO_CONFIG
    if not all(d.identity and d.identity.firmware for d in probed):
        missing["firmware"] = NO_FIRMWARE
    return missing


def _missing(report: Report) -> dict[str, str]:
    """Each evidence kind this report did not examine, with the reason why."""
    from camaudit.report.model import AuditReport, InventoryReport, VerifyReport

    missing: dict[str, str] = {}
    if isinstance(report, InventoryReport):
        missing["capture"] = NO_CAPTURE
    elif report.verdict is Verdict.INCONCLUSIVE:
        missing["capture"] = INCONCLUSIVE
    elif isinstance(report, AuditReport) and any(
        d.verdict.verdict is Verdict.INCONCLUSIVE for d in report.audit.devices
    ):
        missing["capture"] = DEVICE_INCONCLUSIVE
    if isinstance(report, VerifyReport):
        missing.update(config=NO_FINGERPRINT, firmware=NO_FINGERPRINT, inventory=NO_SWEEP)
    else:
        missing.update(_device_gaps(report.inventory.devices))
        if report.inventory.target is None:
            missing["inventory"] = NO_SWEEP
    if report.register is None:
        missing["register"] = NO_REGISTER
    return missing


def _entry(
    control: Control, findings: tuple[ControlFinding, ...], missing: dict[str, str], bio: Bio
) -> ControlEntry:
    behind = tuple(f for f in findings if control.id in bio.controls_for(f.rule))
    cited = tuple(f.index for f in behind if f.source == "findings")
    reason: str | None = None
    if behind:
        status: ControlStatus = "failed"
    elif "never" in control.evidence:
        status, reason = "not_tested", control.not_tested_reason
    else:
        gaps = [missing[kind] for kind in control.evidence if kind in missing]
        status, reason = ("not_tested", gaps[0]) if gaps else ("passed", None)
    return ControlEntry(
        control.id,
        control.title_en,
        control.title_nl,
        status,
        reason,
        tuple(f for f in behind if f.source != "findings"),
        control.tests,
        control.source,
        cited,
    )


def compliance_section(report: Report, bio: Bio) -> ControlsSection:
    """The control-by-control section of ``report`` under the mapping ``bio``."""
    findings = _findings(report)
    missing = _missing(report)
    kinds = dict.fromkeys(k for c in bio.controls for k in c.evidence if k != "never")
    unmapped = dict.fromkeys(f.rule for f in findings if not bio.controls_for(f.rule))
    return ControlsSection(
        framework=bio.framework,
        examined=tuple(k for k in kinds if k not in missing),
        controls=tuple(_entry(c, findings, missing, bio) for c in bio.controls),
        unmapped=tuple(unmapped),
    )


R = TypeVar("R", "VerifyReport", "InventoryReport", "AuditReport")


def with_controls(report: R, knowledge: Knowledge | None = None) -> R:
    """``report`` with its control-by-control section (re)computed from its findings."""
    bio = given_or_default(knowledge).bio
    return dataclasses.replace(report, controls=compliance_section(report, bio))


@dataclass(frozen=True)
class ControlRow:
    """One control as a renderer shows it, in the reader's language."""

    id: str
    title: str
    status: ControlStatus
    status_word: str
    behind: tuple[str, ...]  # one line per rule with the devices it names, or why not tested


def report_findings(report: Report) -> tuple[FindingEntry, ...]:
    """The report's own findings (a verify's or an audit's traffic; none in an inventory)."""
    from camaudit.report.model import InventoryReport

    return () if isinstance(report, InventoryReport) else report.findings


def control_rows(
    section: ControlsSection, t: Translator, findings: Sequence[FindingEntry]
) -> list[ControlRow]:
    """Every control of ``section`` for a table: title and status translated, the findings
    behind it folded to one line per rule, a not-tested reason in the reader's language
    (a reason a custom bio.toml brings along is shown as written). ``findings``: the
    report's findings, which the controls cite by index."""
    rows = []
    for c in section.controls:
        rules: dict[str, list[str]] = {}
        for i in c.finding_indices:
            rules.setdefault(findings[i].rule, []).append(findings[i].device or "-")
        for f in c.findings:
            rules.setdefault(f.rule, []).append(f.device or "-")
        behind = [f"{rule}: {', '.join(dict.fromkeys(who))}" for rule, who in rules.items()]
        if c.reason is not None:
            known = c.reason in (*REASONS, *DATA_REASONS)
            behind.append(t.gettext(c.reason) if known else c.reason)
        title = c.title_nl if t.lang == "nl" else c.title_en
        word = t.gettext(STATUS_NAMES[c.status])
        rows.append(ControlRow(c.id, title, c.status, word, tuple(behind)))
    return rows
