"""Map an identity's firmware (version and build date) to advisories from ``profiles/cve.toml``.

A CVE entry applies when its vendor is the device's maker and any of its ranges covers the
firmware. Entries for non-camera products (``applies_to_cameras = false``) are never
matched to a camera. The model is not compared (the CVE data holds product scopes as
text only); each reason says so, with the scope. Why an entry did not apply is kept in
:attr:`CveReport.not_applicable` for debugging.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from camaudit.fingerprint.interface import CveMatch, Identity
from camaudit.knowledge import Knowledge, given_or_default
from camaudit.knowledge.profiles import CveEntry, CveRange
from camaudit.knowledge.signatures import Signatures

__all__ = ["CveReport", "compare_versions", "explain_cves", "match_cves"]

FIRMWARE = "firmware"
_SPLIT = re.compile(r"[.\-_]")


@dataclass(frozen=True)
class CveReport:
    """Matches, and one line per entry that did not apply (why)."""

    matches: tuple[CveMatch, ...]
    not_applicable: tuple[str, ...]


def compare_versions(left: str, right: str) -> int:
    """-1, 0 or 1: dotted versions compared part by part, numerically where both are digits."""
    a = _SPLIT.split(left.strip().lstrip("Vv"))
    b = _SPLIT.split(right.strip().lstrip("Vv"))
    for index in range(max(len(a), len(b))):
        x = a[index] if index < len(a) else "0"
        y = b[index] if index < len(b) else "0"
        if x.isdigit() and y.isdigit():
            nx, ny = int(x), int(y)
            if nx != ny:
                return -1 if nx < ny else 1
        elif x.lower() != y.lower():
            return -1 if x.lower() < y.lower() else 1
    return 0


@dataclass(frozen=True)
class _Firmware:
    text: str
    version: str
    build: dt.date | None


def _compare(fw: _Firmware, version: str, build: dt.date | None) -> int | None:
    """Firmware against a bound; ``None`` when equal versions leave the build undecided."""
    order = compare_versions(fw.version, version)
    if order != 0 or build is None:
        return order
    if fw.build is None:
        return None
    return (fw.build > build) - (fw.build < build)


def _bound(text: str, signatures: Signatures) -> tuple[str, dt.date | None]:
    split = signatures.split_version(text)
    return (split[0], split[1]) if split else (text, None)


def _check_range(fw: _Firmware, rng: CveRange, signatures: Signatures) -> tuple[bool, str]:
    """Whether ``rng`` covers ``fw``, and the comparison made (or why it could not be)."""
    if rng.component != FIRMWARE:
        return False, f"needs the {rng.component} version, which no probe reads"
    if rng.branch and not fw.version.lower().startswith(rng.branch.lower()):
        return False, f"firmware branch is not {rng.branch}"
    said: list[str] = []
    if rng.min_version is not None:
        order = _compare(fw, rng.min_version, rng.min_build)
        shown = rng.min_version + (f" build {rng.min_build}" if rng.min_build else "")
        if order is None or order < 0:
            return False, f"below {shown}" if order is not None else "build date unknown"
        said.append(f">= {shown}")
    if rng.max_version is not None:
        order = _compare(fw, rng.max_version, rng.max_build)
        shown = rng.max_version + (f" build {rng.max_build}" if rng.max_build else "")
        if order is None or order > 0:
            return False, f"above {shown}" if order is not None else "build date unknown"
        said.append(f"<= {shown}")
    if rng.below_version is not None:
        version, build = _bound(rng.below_version, signatures)
        order = _compare(fw, version, build)
        if order is None or order >= 0:
            return False, (
                f"not below {rng.below_version}" if order is not None else "build date unknown"
            )
        said.append(f"< {rng.below_version}")
    for limit, before in ((rng.build_before, True), (rng.build_after, False)):
        if limit is None:
            continue
        if fw.build is None:
            return False, "build date unknown"
        if (fw.build >= limit) if before else (fw.build <= limit):
            return False, f"build {fw.build} not {'before' if before else 'after'} {limit}"
        said.append(f"build {fw.build} {'before' if before else 'after'} {limit}")
    return bool(said), "; ".join(said) or "range has no bound"


def _applies(
    entry: CveEntry, identity: Identity, fw: _Firmware | None, signatures: Signatures
) -> tuple[bool, str]:
    if not entry.applies_to_cameras:
        return False, "not a camera product"
    if identity.vendor != entry.vendor:
        return False, f"vendor is {identity.vendor or 'unknown'}, not {entry.vendor}"
    if fw is None:
        return False, "firmware unknown"
    reasons = []
    for rng in entry.ranges:
        hit, why = _check_range(fw, rng, signatures)
        if hit:
            return True, why
        reasons.append(why)
    return False, "; ".join(reasons)


def explain_cves(
    identity: Identity,
    knowledge: Knowledge | None = None,
) -> CveReport:
    """Every advisory that covers the identity's firmware, and why the others do not."""
    known = given_or_default(knowledge)
    signatures = known.signatures
    fw = None
    if identity.firmware:
        split = signatures.split_version(identity.firmware)
        if split is not None:
            fw = _Firmware(identity.firmware, split[0], identity.build_date or split[1])
    matches: dict[str, CveMatch] = {}
    notes: list[str] = []
    for entry in known.profiles.cves:
        if entry.id in matches:
            continue
        applies, why = _applies(entry, identity, fw, signatures)
        scope = entry.product_scope
        if not applies:
            notes.append(f"{entry.id} ({scope[:60]}): not applicable: {why}")
            continue
        assert fw is not None
        caveat = "" if entry.affected_verified else " (range boundary unverified)"
        matches[entry.id] = CveMatch(
            cve=entry.id,
            cvss=entry.cvss,
            kev_date_added=entry.kev_date_added,
            reason=(
                f"firmware {fw.text!r}: {why}, in affected range {entry.affected!r}"
                f"{caveat}; model not compared with the product scope: {scope}"
            ),
            fixed_in=entry.fixed_in,
            source=entry.source,
        )
    return CveReport(tuple(matches.values()), tuple(notes))


def match_cves(
    identity: Identity,
    knowledge: Knowledge | None = None,
) -> tuple[CveMatch, ...]:
    """The advisories that cover the identity's firmware (one per CVE id)."""
    return explain_cves(identity, knowledge).matches
