"""Write an evidence pack: the frames behind the findings, the report, and a manifest.

The pack is deterministic: the same captures, policy, profiles and command line give
the same bytes. No wall clock is written unless asked for (``timestamp``); the report's
``generated`` field then holds the time of the last packet read, the moment the evidence
speaks for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from camaudit import __version__
from camaudit.errors import OutputError, UsageError
from camaudit.evidence.frames import CopiedFrame, FlowKey, copy_frames, select
from camaudit.evidence.manifest import (
    MANIFEST,
    MANIFEST_SCHEMA,
    PCAPNG,
    REPORT,
    FlowCoverage,
    InputRecord,
    Manifest,
    PackedPacket,
    sha256_file,
    sha256_tree,
)
from camaudit.evidence.pcapng import write_pcapng
from camaudit.knowledge import default_profiles_dir
from camaudit.report.build import build_report, generated_at
from camaudit.report.model import AuditReport, Report, write_json
from camaudit.report.output import refuse_evidence_as_output

if TYPE_CHECKING:
    from camaudit.api import VerifyResult
    from camaudit.fingerprint.interface import Credentials

__all__ = ["EvidencePack", "refuse_evidence_dir", "scrub_command_line", "write_evidence_pack"]

HIDDEN = "<hidden>"
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_SECRET_OPTION = re.compile(r"^(--?[\w-]*(?:password|passwd|secret|token)[\w-]*)=.*$", re.I)


@dataclass(frozen=True)
class EvidencePack:
    """Where the pack was written and its manifest."""

    directory: Path
    manifest: Manifest


def scrub_command_line(argv: Sequence[str], credentials: Credentials | None) -> tuple[str, ...]:
    """``argv`` without secrets: the user's password (any form), URL user info, and the
    value of any option named like a password, whether given as ``--x=V`` or ``--x V``."""
    from camaudit.attempt import hide_secrets
    from camaudit.fingerprint._attempt import secret_forms  # loads the probe stack

    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(HIDDEN)
            hide_next = False
            continue
        text = hide_secrets(arg, secret_forms(credentials))
        text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{HIDDEN}@", text)
        if _SECRET_OPTION.match(text):
            text = _SECRET_OPTION.sub(lambda m: f"{m[1]}={HIDDEN}", text)
        elif re.fullmatch(r"--?[\w-]*(password|passwd|secret|token)[\w-]*", text, re.I):
            hide_next = True
        out.append(text)
    return tuple(out)


def _refuse_overlap(directory: Path, inputs: Sequence[Path]) -> None:
    """The pack may not be an input, lie inside one, or hold one (it would be replaced)."""
    try:
        refuse_evidence_as_output(directory, inputs)
        for item in inputs:
            refuse_evidence_as_output(item, [directory], "evidence directory")
    except UsageError:
        raise UsageError(
            f"--evidence {directory}: is, lies inside or contains an input capture; "
            "the pack would overwrite the evidence it cites; choose another directory"
        ) from None


def refuse_evidence_dir(directory: Path, inputs: Sequence[Path], force: bool = False) -> None:
    """Raise :class:`UsageError` unless a pack may be written into ``directory``.

    ``inputs`` are the captures as given (files or directories): the pack may not be one,
    lie inside one (a later run over that directory would read the pack as evidence), or
    hold one. A non-empty directory needs ``force``. Call it before the analysis, so that
    a long run does not end in a refusal.
    """
    _refuse_overlap(directory, inputs)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--evidence {directory}: exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise UsageError(
            f"--evidence {directory}: directory is not empty; give --force to write over it"
        )


def _prepare(directory: Path, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--evidence {directory}: exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise UsageError(
            f"--evidence {directory}: directory is not empty; give --force to write over it"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(str(directory), exc) from None


def _write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through a temporary file moved into place: no half-written pack file."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as handle:
            write(handle)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, OSError):
            raise OutputError(str(path), exc) from None
        raise


def _generated(result: VerifyResult, timestamp: datetime | None) -> datetime:
    if timestamp is not None:
        return timestamp
    times = [i.last_time for i in result.traffic.inputs if i.last_time is not None]
    return datetime.fromtimestamp(int(max(times)) if times else 0, UTC)


def write_evidence_pack(
    result: VerifyResult,
    directory: Path,
    command: Sequence[str],
    *,
    policy: Path | None = None,
    profiles: Path | None = None,
    credentials: Credentials | None = None,
    force: bool = False,
    timestamp: datetime | None = None,
    given: Sequence[Path] = (),
    report: AuditReport | None = None,
) -> EvidencePack:
    """Write ``evidence.pcapng``, ``report.json`` and ``manifest.json`` into ``directory``.

    Refuses (:class:`UsageError`) a directory that is, lies inside or contains an input,
    and a non-empty directory unless ``force``; ``given`` are the capture arguments as
    typed (directories too). ``timestamp`` (a wall clock the caller
    chose to record) goes into the manifest and the report; without it both are the
    same bytes on every run over the same inputs.

    ``report``: the audit report ``result`` is the verify part of; the pack then holds
    it (kind ``audit``) instead of the verify report. Every device's verdict cites only
    the verify part's findings, so the frames copied are the same.
    """
    inputs = result.traffic.inputs
    refuse_evidence_dir(directory, [*given, *(Path(i.path) for i in inputs)], force)
    _prepare(directory, force)
    chosen = select(result.assessment.findings, result.traffic.flows)
    found: dict[FlowKey, int] = {}
    packets: list[PackedPacket] = []

    def frames() -> Iterator[CopiedFrame]:
        for info in inputs:
            cited = chosen.frames.get(info.path, frozenset())
            if cited or chosen.flows:
                for frame in copy_frames(Path(info.path), info.path, cited, chosen.flows, found):
                    digest = hashlib.sha256(frame.data).hexdigest()
                    packets.append(
                        PackedPacket(len(packets) + 1, frame.capture, frame.frame, digest)
                    )
                    yield frame

    _write(directory / PCAPNG, lambda handle: write_pcapng(handle, frames()))
    moment = _generated(result, timestamp)
    written: Report = (
        build_report(result.assessment, result.traffic, moment)
        if report is None
        else dataclasses.replace(report, generated=generated_at(moment))
    )
    text = io.StringIO()
    write_json(written, text)
    _write(directory / REPORT, lambda handle: handle.write(text.getvalue().encode("utf-8")))
    profiles_dir = profiles or default_profiles_dir()
    manifest = Manifest(
        schema=MANIFEST_SCHEMA,
        tool="camaudit",
        tool_version=__version__,
        command=scrub_command_line(command, credentials),
        verdict=result.assessment.verdict.value,
        exit_code=written.exit_code,
        policy_name=result.assessment.policy_name,
        policy_path=str(policy) if policy else None,
        policy_sha256=sha256_file(policy) if policy else None,
        profiles_path=str(profiles_dir),
        profiles_sha256=sha256_tree(profiles_dir),
        inputs=tuple(InputRecord(i.path, i.sha256, i.packets) for i in inputs),
        files={name: sha256_file(directory / name) for name in (PCAPNG, REPORT)},
        packets=tuple(packets),
        flows=tuple(
            FlowCoverage(
                f"{flow.proto} {flow.orig}:{flow.orig_port} -> {flow.resp}:{flow.resp_port}",
                flow.orig_packets + flow.resp_packets,
                found.get(key, 0),
            )
            for key, flow in sorted(
                chosen.flows.items(), key=lambda kv: (kv[1].first.capture, kv[1].first.frame)
            )
        ),
        created=timestamp.isoformat(timespec="seconds") if timestamp else None,
    )
    _write(directory / MANIFEST, lambda handle: handle.write(manifest.to_json().encode("utf-8")))
    return EvidencePack(directory, manifest)
