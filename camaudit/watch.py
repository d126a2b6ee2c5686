"""``camaudit watch``: record without end, verify each file as it closes, alert on news.

dumpcap writes a ring of files (``-b duration:N``, :mod:`camaudit.audit.record`); a
file is complete once dumpcap has begun the next one, or has stopped. Each complete
file is read whole and folded into one running state by the merge ``--jobs`` uses
(:class:`camaudit.traffic.parallel.Folder`), so a flow that spans two files is one
flow and the rhythm sees every connection so far. After each file the whole state is
judged again, and what is new since the last judgement is an alert: a finding (keyed
by rule, device and summary -- the remote end, port and state, never the frames -- so
neither a flow that grows into the next file nor a camera's hundredth retry of the
same destination is alerted again) or a phone-home rhythm (keyed by device,
destination and port). The files are kept: they
are the evidence the alerts' frame numbers point into.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from camaudit.audit.record import dumpcap_argv, dumpcap_path, prepare, ring_files
from camaudit.errors import InputError
from camaudit.knowledge import Knowledge, load_knowledge
from camaudit.model import Assessment, Finding, Phrase, Rhythm, TrafficSummary
from camaudit.policy.evaluate import assess
from camaudit.policy.load import Policy, load_policy
from camaudit.report.build import build_report
from camaudit.report.model import VerifyReport, plain_params
from camaudit.sanitize import clean_text
from camaudit.traffic.parallel import Folder

PREFIX = "watch"
_POLL = 0.5  # seconds between looks at the ring directory
_READY_WAIT = 15.0  # seconds dumpcap may take to open the interface


@dataclass(frozen=True)
class WatchPlan:
    """What to watch, where the files go, how often a new one starts, and for how long
    (``duration`` None: until stopped)."""

    interface: str
    directory: Path
    rotate: float = 300.0
    duration: float | None = None


@dataclass(frozen=True)
class Alert:
    """Something new after reading ``file``: a finding or a rhythm, and the verdict so far."""

    file: str
    verdict: str
    finding: Finding | None = None
    rhythm: Rhythm | None = None

    def to_json(self) -> dict[str, Any]:
        """One JSON line's object: ``alert`` is ``finding`` or ``rhythm``."""
        kind, body = ("finding", self.finding) if self.finding else ("rhythm", self.rhythm)
        assert body is not None
        data = asdict(body)
        if self.finding is not None:  # as the report's findings: English text, code, params
            data["summary"] = self.finding.summary.text
            data["code"] = self.finding.summary.code
            data["params"] = plain_params(self.finding.summary.params)
        return {"alert": kind, "file": self.file, "verdict": self.verdict, **data}


@dataclass
class Watch:
    """The running state: every file read so far, judged as one capture."""

    policy: Policy
    knowledge: Knowledge
    folder: Folder = field(default_factory=Folder)
    alerted: set[tuple[Any, ...]] = field(default_factory=set)
    traffic: TrafficSummary | None = None
    assessment: Assessment | None = None

    def add(self, path: Path) -> list[Alert]:
        """Read the next complete file, judge everything so far, return what is new."""
        self.folder.add(path, str(path))
        self.traffic = self.folder.summary()
        self.assessment = assess(self.traffic, self.policy, self.knowledge.profiles)
        verdict = str(self.assessment.verdict)
        alerts = [
            Alert(str(path), verdict, finding=f)
            for f in self.assessment.findings
            if self._new(("finding", f.rule, f.device, _lasting(f.summary)))
        ]
        alerts += [
            Alert(str(path), verdict, rhythm=r)
            for r in self.assessment.rhythms
            if self._new(("rhythm", r.device, r.destination, r.proto, r.port))
        ]
        return alerts

    def tally(self, path: Path) -> tuple[int, int]:
        """Fold the next complete file in (as :meth:`add`); the flows and findings so far.

        ``audit``'s recording progress line (:class:`camaudit.audit.record.Judge`)."""
        self.add(path)
        assert self.traffic is not None and self.assessment is not None
        return len(self.traffic.flows), len(self.assessment.findings)

    def _new(self, key: tuple[Any, ...]) -> bool:
        if key in self.alerted:
            return False
        self.alerted.add(key)
        return True

    def report(self) -> VerifyReport | None:
        """The verify report of everything read; None before the first file."""
        if self.traffic is None or self.assessment is None:
            return None
        return build_report(self.assessment, self.traffic, knowledge=self.knowledge)


@dataclass(frozen=True)
class WatchResult:
    """How the watch ended, and the report of everything it read."""

    files: tuple[str, ...]
    report: VerifyReport | None
    stopped_on_finding: bool
    recorder_error: str | None = None  # dumpcap stopped on its own, e.g. the link went away


def watch(
    plan: WatchPlan,
    closed_network: tuple[str, ...] = (),
    policy: str | Path | None = None,
    profiles: str | Path | None = None,
    *,
    on_ready: Callable[[], None] | None = None,
    on_file: Callable[[Path, Watch], None] | None = None,
    on_alert: Callable[[Alert], None] | None = None,
    exit_on_finding: bool = False,
    stop: threading.Event | None = None,
) -> WatchResult:
    """Record ``plan.interface`` in rotated files and verify each as it completes.

    Runs until ``stop`` is set (then the current file is closed and read too), until
    ``plan.duration`` has passed, or, with ``exit_on_finding``, until the first file
    that raised a finding has been read. Usage and input errors are raised before
    recording starts; a dumpcap that fails is an :class:`InputError`.
    """
    loaded = load_policy(Path(policy) if policy else None, closed_network)
    state = Watch(loaded, load_knowledge(profiles))
    argv = dumpcap_argv(dumpcap_path(), plan.interface, plan.rotate, plan.directory, PREFIX)
    if plan.duration is not None:
        argv[2:2] = ["-a", f"duration:{max(1, round(plan.duration))}"]
    prepare(plan.directory)
    stop = stop or threading.Event()
    done: list[Path] = []
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            _wait_ready(proc, errors, plan.interface)
            if on_ready is not None:
                on_ready()
            found = asked = False
            while not found:
                running = proc.poll() is None
                if stop.is_set() and running:
                    asked = True
                    _stop(proc)  # closes the current file: read below, then the loop ends
                    continue
                files = ring_files(plan.directory, PREFIX)
                for path in (files[:-1] if running else files)[len(done) :]:
                    alerts = state.add(path)
                    done.append(path)
                    if on_file is not None:
                        on_file(path, state)
                    for alert in alerts:
                        if on_alert is not None:
                            on_alert(alert)
                    if exit_on_finding and any(a.finding for a in alerts):
                        found = True
                        break
                if not running:
                    # Without --duration dumpcap only ends when asked; else the link went
                    # away or it failed (it exits 0 for a vanished interface).
                    asked = asked or plan.duration is not None
                    break
                if not found:
                    stop.wait(_POLL)
        finally:
            _stop(proc)
        failed = None
        if proc.returncode not in (0, -signal.SIGINT) or not (asked or found):
            failed = _failure(errors, plan.interface)
            if not done:
                raise InputError(failed)
    return WatchResult(tuple(str(p) for p in done), state.report(), found, failed)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # dumpcap closes its file cleanly on SIGINT
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], errors: Any, interface: str) -> None:
    """Wait until dumpcap says it captures; an input error when it stops instead."""
    deadline = time.monotonic() + _READY_WAIT
    while time.monotonic() < deadline:
        errors.seek(0)
        if b"Capturing on" in errors.read():
            return
        if proc.poll() is not None:
            raise InputError(_failure(errors, interface))
        time.sleep(0.1)
    raise InputError(f"recording on {clean_text(interface)}: dumpcap did not start")


def _failure(errors: Any, interface: str) -> str:
    errors.seek(0)
    lines = errors.read().decode("utf-8", "replace").strip().splitlines()
    said = [line.removeprefix("dumpcap: ") for line in lines if line.startswith("dumpcap: ")]
    text = clean_text((said or lines or ["dumpcap failed"])[-1])
    return f"recording on {clean_text(interface)} failed: {text}"


# A summarised finding's count, cited flows or names, ports and remotes grow as files come
# in: what stays is its group (flows: device, rule, network, state, label; look-ups: device,
# resolver, outcome, label); its alert is raised once.
_GROWING = {
    "flows_summarised": ("flow", "count", "cited"),
    "dns_summarised": ("names", "count", "cited"),
    "dns_resolved_summarised": ("names", "count", "cited"),
}


def _lasting(summary: Phrase) -> object:
    """The part of a finding's text that names it for good (see _GROWING)."""
    growing = _GROWING.get(summary.code or "")
    if growing is None:
        return summary
    return summary.code, tuple(p for p in summary.params if p[0] not in growing)
