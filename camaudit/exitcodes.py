"""Exit codes, in one place (the CLI and the docs read them from here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from camaudit.model import Verdict

if TYPE_CHECKING:
    from camaudit.model import Assessment

ISOLATED = 0  # also: any command that succeeded
NOT_ISOLATED = 1  # traffic crossed, or attempts were seen and the policy fails on attempts
USAGE = 2
INPUT_ERROR = 3
INCONCLUSIVE = 4
# A bug in camaudit, not a verdict (sysexits' EX_SOFTWARE): far from 0/1/4 so that no
# script reads a crash as "isolated" or "not isolated".
INTERNAL_ERROR = 70
# check-evidence: a hash or a packet of the pack does not match (3: the pack is unreadable)
EVIDENCE_MISMATCH = 1


def for_assessment(assessment: Assessment) -> int:
    """The exit code a verdict maps to, honouring the policy's ``fail_on``."""
    verdict = assessment.verdict
    if verdict == Verdict.NOT_ISOLATED:
        return NOT_ISOLATED
    if verdict == Verdict.INCONCLUSIVE:
        return INCONCLUSIVE
    if verdict == Verdict.ISOLATED_WITH_ATTEMPTS and assessment.fail_on == "attempts":
        return NOT_ISOLATED
    return ISOLATED
