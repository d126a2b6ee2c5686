"""``watch`` alerts for people (one console line each) and for programs (JSON lines).

The console lines go through the translator; the JSON lines carry the finding or the
rhythm as the library holds it, with the file whose reading raised it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from camaudit.i18n import Translator
from camaudit.messages import SEVERITIES, VERDICT_NAMES
from camaudit.model import Evidence
from camaudit.phrases import finding_text
from camaudit.report.console import describe_rhythm, duration
from camaudit.sanitize import clean_text
from camaudit.watch import Alert, Watch


def alert_line(alert: Alert, t: Translator) -> str:
    """One line for a person: what is new, on which device, and where to look."""
    if alert.rhythm is not None:
        return clean_text(
            t.gettext("alert: rhythm: {sentence}", sentence=describe_rhythm(alert.rhythm, t)),
            1000,
        )
    f = alert.finding
    assert f is not None
    where = ", ".join(
        t.gettext("{capture} frames {frames}", capture=Path(e.capture).name, frames=_frames(e))
        for e in f.evidence[:2]
    )
    severity = t.gettext(SEVERITIES[f.severity]) if f.severity in SEVERITIES else f.severity
    text = t.gettext(
        "alert: {severity} {rule} on {device}: {summary} ({where})",
        severity=severity,
        rule=f.rule,
        device=f.device or "-",
        summary=finding_text(f, t),
        where=where,
    )
    return clean_text(text, 1000)


def _frames(evidence: Evidence) -> str:
    shown = ",".join(str(n) for n in evidence.frames[:8])
    return shown + (",…" if len(evidence.frames) > 8 else "")


def file_line(path: Path, state: Watch, t: Translator) -> str:
    """One line after each file: how much it held and the verdict of everything so far."""
    assert state.traffic is not None and state.assessment is not None
    latest = state.traffic.inputs[-1]
    return clean_text(
        t.gettext(
            "read {file}: {packets} packets; verdict so far: {verdict}",
            file=path.name,
            packets=t.format_number(latest.packets),
            verdict=t.gettext(VERDICT_NAMES[str(state.assessment.verdict)]),
        ),
        400,
    )


def ready_line(interface: str, rotate: float, directory: Path, t: Translator) -> str:
    """The line that says recording has begun (tests wait for it)."""
    return clean_text(
        t.gettext(
            "watching {interface}: a new file every {every} in {directory}; Ctrl-C or "
            "SIGTERM reads the current file and stops",
            interface=interface,
            every=duration(rotate, t),
            directory=str(directory),
        ),
        400,
    )


def write_json_line(alert: Alert, handle: TextIO) -> None:
    """The alert as one JSON object on one line, flushed at once (a reader may tail it)."""
    handle.write(json.dumps(alert.to_json(), ensure_ascii=False, sort_keys=False) + "\n")
    handle.flush()
