"""The library's front door: one call per job, each returning plain results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from camaudit.model import Assessment, TrafficSummary
from camaudit.policy.evaluate import assess
from camaudit.policy.load import load_policy
from camaudit.profiles import load_profiles
from camaudit.report.build import Report, build_report
from camaudit.traffic.engine import Progress, analyse


@dataclass(frozen=True)
class VerifyResult:
    """What ``verify`` found: the traffic, the judgement, and the report built from them."""

    traffic: TrafficSummary
    assessment: Assessment
    report: Report


def verify(
    captures: Sequence[str | Path],
    closed_network: Sequence[str] = (),
    policy: str | Path | None = None,
    profiles: str | Path | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> VerifyResult:
    """Prove or refute a closed-network claim from packet captures.

    Raises :class:`camaudit.errors.CamauditError` (with a one-line message) for input
    that cannot be used; the verdict itself is returned in the result, never raised.
    """
    loaded_policy = load_policy(Path(policy) if policy else None, closed_network)
    loaded_profiles = load_profiles(Path(profiles) if profiles else None)
    traffic = analyse(captures, progress=progress)
    assessment = assess(traffic, loaded_policy, loaded_profiles, today=today)
    return VerifyResult(traffic, assessment, build_report(assessment, traffic))
