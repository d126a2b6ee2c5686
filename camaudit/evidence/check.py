"""Re-check an evidence pack: every hash, every packet, against the files present.

Each check yields one :class:`Check`; the pack holds when none failed. An input capture
that cannot be found is reported as not checked (the pack itself can still be
verified); one that is found must match its hash and the frames copied from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from camaudit.errors import CamauditError, InputError
from camaudit.evidence.frames import stored_time_ns
from camaudit.evidence.manifest import (
    MANIFEST,
    PCAPNG,
    REPORT,
    Manifest,
    ManifestError,
    sha256_file,
    sha256_tree,
)
from camaudit.traffic.capfile import CaptureFile

__all__ = ["Check", "CheckStatus", "check_evidence", "read_manifest"]


class CheckStatus(StrEnum):
    """Outcome of one check."""

    OK = "ok"
    FAILED = "FAILED"
    NOT_CHECKED = "not checked"
    INCOMPLETE = "incomplete"  # a cited flow of which not every frame was found


@dataclass(frozen=True)
class Check:
    """One line of the check-evidence output."""

    status: CheckStatus
    what: str
    detail: str = ""


def read_manifest(directory: Path) -> Manifest:
    """The pack's manifest; :class:`InputError` when it is missing or unreadable."""
    path = directory / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the manifest: {exc}") from None
    try:
        return Manifest.from_json(text)
    except ManifestError as exc:
        raise InputError(f"{path}: {exc}") from None


def _frames(
    path: Path, display: str, numbers: set[int] | None = None
) -> dict[int, tuple[str, int]]:
    """(SHA-256 of the bytes, stored time in ns) of a capture's frames by number:
    ``numbers``, or all of them (hashes, so that memory does not grow with the bytes)."""
    found: dict[int, tuple[str, int]] = {}
    capture = CaptureFile(path, display)
    try:
        for batch in capture.batches():
            for i, frame in enumerate(batch.frame.tolist()):
                if numbers is None or frame in numbers:
                    start = int(batch.off[i])
                    data = bytes(batch.data[start : start + int(batch.caplen[i])])
                    digest = hashlib.sha256(data).hexdigest()
                    found[frame] = (digest, stored_time_ns(batch, i, capture.format))
    finally:
        capture.close()
    return found


def _files(directory: Path, manifest: Manifest) -> Iterator[Check]:
    for name, expected in sorted(manifest.files.items()):
        path = directory / name
        if not path.is_file():
            yield Check(CheckStatus.FAILED, f"file {name}", "missing from the pack")
            continue
        got = sha256_file(path)
        status = CheckStatus.OK if got == expected else CheckStatus.FAILED
        yield Check(
            status,
            f"file {name}",
            f"sha256 {got}" + ("" if got == expected else f", manifest says {expected}"),
        )
    listed = {*manifest.files, MANIFEST}
    for extra in sorted(p.name for p in directory.iterdir() if p.name not in listed):
        yield Check(CheckStatus.FAILED, f"file {extra}", "in the pack but not in the manifest")


def _locate(record_path: str, sha256: str, given: Sequence[Path]) -> Path | None:
    """Where to find an input: a file with its hash (the recorded path, else one of
    ``given``); else the file at the recorded path or given under the same name, which
    then fails its hash check."""
    recorded = Path(record_path)
    candidates = [p for p in (recorded, *given) if p.is_file()]
    for path in candidates:
        if sha256_file(path) == sha256:
            return path
    for path in candidates:
        if path.name == recorded.name:
            return path
    return None


def _packets(directory: Path, manifest: Manifest, originals: dict[str, Path]) -> Iterator[Check]:
    pcap = directory / PCAPNG
    if PCAPNG not in manifest.files or not pcap.is_file():
        return
    try:
        packed = _frames(pcap, PCAPNG)
    except CamauditError as exc:
        yield Check(CheckStatus.FAILED, PCAPNG, f"unreadable: {exc}")
        return
    count_ok = len(packed) == len(manifest.packets)
    yield Check(
        CheckStatus.OK if count_ok else CheckStatus.FAILED,
        f"{PCAPNG} packets",
        f"{len(packed)} in the file, {len(manifest.packets)} in the manifest",
    )
    by_capture: dict[str, set[int]] = {}
    for entry in manifest.packets:
        by_capture.setdefault(entry.capture, set()).add(entry.frame)
    original: dict[str, dict[int, tuple[str, int]]] = {}
    for capture, numbers in sorted(by_capture.items()):
        if capture in originals:
            original[capture] = _frames(originals[capture], capture, numbers)
    for entry in manifest.packets:
        what = f"packet {entry.index} ({entry.capture} frame {entry.frame})"
        copy = packed.get(entry.index)
        if copy is None or copy[0] != entry.sha256:
            yield Check(CheckStatus.FAILED, what, "differs from the manifest's hash")
        elif entry.capture not in original:
            yield Check(CheckStatus.NOT_CHECKED, what, "original capture not available")
        elif original[entry.capture].get(entry.frame) != copy:
            yield Check(CheckStatus.FAILED, what, "differs from the original frame (bytes or time)")
        else:
            yield Check(CheckStatus.OK, what, "equals the original frame")


def check_evidence(directory: Path, captures: Sequence[Path] = ()) -> tuple[Check, ...]:
    """Every check of the pack in ``directory``; raises :class:`InputError` when the
    directory or its manifest cannot be read at all."""
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory")
    manifest = read_manifest(directory)
    checks = list(_files(directory, manifest))
    originals: dict[str, Path] = {}
    for record in manifest.inputs:
        what = f"input {record.path}"
        path = _locate(record.path, record.sha256, captures)
        if path is None:
            checks.append(
                Check(CheckStatus.NOT_CHECKED, what, "not found; give it with --captures")
            )
            continue
        got = sha256_file(path)
        if got != record.sha256:
            checks.append(
                Check(
                    CheckStatus.FAILED, what, f"{path}: sha256 {got}, manifest says {record.sha256}"
                )
            )
            continue
        moved = f" (found at {path})" if str(path) != record.path else ""
        checks.append(Check(CheckStatus.OK, what, f"sha256 {got}{moved}"))
        originals[record.path] = path
    checks += _versions(manifest)
    checks += _packets(directory, manifest, originals)
    checks += _coverage(manifest)
    checks += _report(directory, manifest)
    return tuple(checks)


def _report(directory: Path, manifest: Manifest) -> Iterator[Check]:
    """``report.json`` read back, re-rendered and held against the manifest: a report whose
    text, verdict or inputs do not follow from the pack fails even when its hash was
    rewritten; an audit's every device must find the frames its verdict cites."""
    from camaudit.i18n import translator
    from camaudit.report.console import render_text
    from camaudit.report.model import AuditReport, from_json, to_json

    path = directory / REPORT
    if REPORT not in manifest.files or not path.is_file():
        return
    try:
        text = path.read_text(encoding="utf-8")
        report = from_json(text)
        render_text(report, translator("en"))
    except (InputError, UnicodeDecodeError) as exc:
        yield Check(CheckStatus.FAILED, REPORT, f"cannot be read back: {exc}")
        return
    same = to_json(report) == text
    yield Check(
        CheckStatus.OK if same else CheckStatus.FAILED,
        f"{REPORT} ({report.kind} report)",
        "re-rendered byte for byte" if same else "re-rendered, it differs from the file",
    )
    verdict = getattr(report, "verdict", None)
    held = (str(verdict), report.exit_code) == (manifest.verdict, manifest.exit_code)
    yield Check(
        CheckStatus.OK if held else CheckStatus.FAILED,
        f"{REPORT} verdict",
        f"{verdict} (exit {report.exit_code}); manifest: {manifest.verdict} "
        f"(exit {manifest.exit_code})",
    )
    inputs = {(i.path, i.sha256) for i in getattr(report, "inputs", ())}
    listed = {(i.path, i.sha256) for i in manifest.inputs}
    yield Check(
        CheckStatus.OK if inputs == listed else CheckStatus.FAILED,
        f"{REPORT} inputs",
        f"{len(inputs)} capture(s) and hashes"
        + (" as in the manifest" if inputs == listed else ", not the manifest's"),
    )
    if isinstance(report, AuditReport):
        packed = {(p.capture, p.frame) for p in manifest.packets}
        for device in report.audit.devices:
            cited = {(e.capture, f) for e in device.verdict.evidence for f in e.frames}
            lost = cited - packed
            yield Check(
                CheckStatus.FAILED if lost else CheckStatus.OK,
                f"device {device.ip or device.mac}",
                f"{len(cited) - len(lost)} of the {len(cited)} frame(s) its verdict cites "
                "in the pack",
            )


def _versions(manifest: Manifest) -> Iterator[Check]:
    """The policy file and profiles directory the run used, where they still are."""
    pairs = [
        ("policy", manifest.policy_path, manifest.policy_sha256, sha256_file),
        ("profiles", manifest.profiles_path, manifest.profiles_sha256, sha256_tree),
    ]
    for kind, where, expected, digest in pairs:
        if where is None or expected is None:
            continue
        path = Path(where)
        if not path.exists():
            yield Check(CheckStatus.NOT_CHECKED, f"{kind} {where}", "not found")
            continue
        got = digest(path)
        status = CheckStatus.OK if got == expected else CheckStatus.FAILED
        note = "" if got == expected else f", manifest says {expected}"
        yield Check(status, f"{kind} {where}", f"sha256 {got}{note}")


def _coverage(manifest: Manifest) -> Iterator[Check]:
    for flow in manifest.flows:
        whole = flow.copied_packets == flow.expected_packets
        yield Check(
            CheckStatus.OK if whole else CheckStatus.INCOMPLETE,
            f"flow {flow.flow}",
            f"{flow.copied_packets} of its {flow.expected_packets} frame(s) in the pack",
        )
