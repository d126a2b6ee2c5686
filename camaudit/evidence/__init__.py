"""Evidence packs: the frames behind the findings, the report, and a manifest to re-check.

:func:`write_evidence_pack` writes a pack from a verify result; :func:`check_evidence`
re-checks one, as a second auditor would, with nothing but the pack and the captures.
"""

from __future__ import annotations

from camaudit.evidence.check import Check, CheckStatus, check_evidence, read_manifest
from camaudit.evidence.manifest import Manifest, ManifestError
from camaudit.evidence.pack import (
    EvidencePack,
    refuse_evidence_dir,
    scrub_command_line,
    write_evidence_pack,
)

__all__ = [
    "Check",
    "CheckStatus",
    "EvidencePack",
    "Manifest",
    "ManifestError",
    "check_evidence",
    "read_manifest",
    "refuse_evidence_dir",
    "scrub_command_line",
    "write_evidence_pack",
]
