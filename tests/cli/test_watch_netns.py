"""`camaudit watch`: stored captures replayed onto a veth in our own namespace.

tcpreplay plays a pcaps/ case on one end of a veth pair at its recorded pace; `watch`
records the other end with dumpcap's ring buffer, verifies each file as it closes and
alerts. The frames never leave the namespace the fixture creates.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import IO, Any

import pytest

from tests.conftest import PCAPS, need_tool
from tests.traffic.test_live_capture_netns import veth_namespace  # noqa: F401 - a fixture

pytestmark = pytest.mark.netns

SYN_DROPPED = PCAPS / "syn-dropped" / "syn-dropped.pcap"
RHYTHM = PCAPS / "phone-home-rhythm" / "phone-home-rhythm.pcap"
CAM1, CLOUD = "10.66.0.21", "203.0.113.5"


class Watcher:
    """A running `camaudit watch` in the namespace, its lines read as they come."""

    def __init__(self, namespace: str, args: list[str], human_on_stderr: bool = False) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-m", "camaudit", "watch", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        human = self.proc.stderr if human_on_stderr else self.proc.stdout
        other = self.proc.stdout if human_on_stderr else self.proc.stderr
        assert human is not None and other is not None
        self.lines: Queue[str] = Queue()
        self.human: list[str] = []
        self.other: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(human, self.human, True), daemon=True),
            threading.Thread(target=self._read, args=(other, self.other, False), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: IO[str], into: list[str], queue: bool) -> None:
        for line in stream:
            into.append(line)
            if queue:
                self.lines.put(line)

    def wait_for(self, words: str, timeout: float = 60, fresh: bool = False) -> str:
        """The first human line holding ``words``; with ``fresh``, said from now on."""
        while fresh and not self.lines.empty():
            self.lines.get_nowait()
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except Empty:
                pytest.fail(f"watch never said {words!r}: {self.human} {self.other}")
            if words in line:
                return line

    def stop(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        """The exit code, once every line the process wrote has been read."""
        code = self.proc.wait(timeout=timeout)
        for reader in self.readers:
            reader.join(timeout=10)
        return code


@dataclass(frozen=True)
class WatchLab:
    """The namespace with its veth pair, tcpreplay, and a directory for the files."""

    namespace: str
    tcpreplay: str
    tmp: Path

    def replay(self, capture: Path, *speed: str) -> None:
        """Play ``capture`` onto rep0 (at its recorded pace unless ``speed`` says)."""
        play = [self.tcpreplay, "-q", "-i", "rep0", *speed, str(capture)]
        subprocess.run(
            ["ip", "netns", "exec", self.namespace, *play],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, rotate: str) -> tuple[Watcher, Path, Path, Path]:
        """`watch` on cap0 with alerts and the final report in files, once it records."""
        records, alerts, report = self.tmp / "rec", self.tmp / "alerts.jsonl", self.tmp / "r.json"
        args = ["-i", "cap0", "--rotate", rotate, "--record-dir", str(records)]
        args += ["--alerts", str(alerts), "-n", "10.66.0.0/24", "-o", str(report)]
        watcher = Watcher(self.namespace, args)
        watcher.wait_for("watching cap0")
        return watcher, records, alerts, report


@pytest.fixture
def lab(veth_namespace: str, tmp_path: Path) -> WatchLab:  # noqa: F811
    need_tool("dumpcap")
    return WatchLab(veth_namespace, need_tool("tcpreplay"), tmp_path)


def _frame(capture: str, number: int) -> str:
    """tshark's one-line summary of frame ``number`` of ``capture``."""
    done = subprocess.run(
        ["tshark", "-n", "-r", capture, "-Y", f"frame.number == {number}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _alerts(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_watch_alerts_on_an_attempt_that_spans_files_and_counts_it_as_one_flow(
    lab: WatchLab,
) -> None:
    watcher, records, alerts, report = lab.start("1s")
    # At the recorded pace: the three SYNs of one connection come 1 s apart, so the
    # 1 s ring puts them into different files.
    lab.replay(SYN_DROPPED)
    watcher.wait_for("OUTBOUND-ATTEMPT")
    watcher.wait_for("read watch_", fresh=True)  # one more file after the last SYN
    assert watcher.stop() == 1, watcher.other  # isolated_with_attempts: exit as verify

    (finding,) = [a for a in _alerts(alerts) if a["alert"] == "finding"]
    assert (finding["rule"], finding["device"]) == ("OUTBOUND-ATTEMPT", CAM1)
    assert f"{CLOUD}:8666" in finding["summary"]
    (evidence,) = finding["evidence"]
    assert Path(evidence["capture"]).parent == records
    assert f"{CAM1} → {CLOUD}" in _frame(evidence["capture"], evidence["frames"][0])
    assert "8666 [SYN]" in _frame(evidence["capture"], evidence["frames"][0])

    final = json.loads(report.read_text())
    (flow,) = [o for o in final["outbound"] if o["dst"] == CLOUD]
    assert (flow["dport"], flow["state"], flow["packets_out"]) == (8666, "attempted", 3)
    assert flow["capture"] != flow["last_capture"]  # one flow across two files
    assert len(final["inputs"]) >= 2
    assert "camaudit verify" in "".join(watcher.human)  # the summary was printed


def test_watch_names_the_rhythm_of_a_camera_retrying_its_cloud(lab: WatchLab) -> None:
    watcher, records, alerts, report = lab.start("2s")
    # At the recorded pace (28 s): a faster replay on a busy machine bunches packets.
    lab.replay(RHYTHM)
    # A file closed after the last packet: the first fresh close may be one that closed just
    # as the replay ended (its line read a moment later), so wait for the one after it too.
    watcher.wait_for("read watch_", fresh=True)
    watcher.wait_for("read watch_")
    assert watcher.stop() == 1, watcher.other

    rhythms = [a for a in _alerts(alerts) if a["alert"] == "rhythm"]
    assert [(r["device"], r["destination"], r["port"]) for r in rhythms] == [(CAM1, CLOUD, 443)]
    assert rhythms[0]["period"] == pytest.approx(2.0, abs=0.1)
    assert Path(rhythms[0]["first"]["capture"]).parent == records
    assert "SYN" in _frame(rhythms[0]["first"]["capture"], rhythms[0]["first"]["frame"])
    assert any("alert: rhythm: 10.66.0.21 tried 203.0.113.5" in line for line in watcher.human)
    (final,) = json.loads(report.read_text())["rhythm"]
    assert (final["count"], final["port"]) == (15, 443)  # every try, across every file


def test_exit_on_finding_stops_at_the_first_finding_with_the_verdict_exit_code(
    lab: WatchLab,
) -> None:
    args = ["-i", "cap0", "--rotate", "1s", "--record-dir", str(lab.tmp / "rec")]
    args += ["--alerts", "-", "--exit-on-finding", "-n", "10.66.0.0/24"]
    watcher = Watcher(lab.namespace, args, human_on_stderr=True)
    watcher.wait_for("watching cap0")
    lab.replay(SYN_DROPPED, "--topspeed")
    assert watcher.wait() == 1
    lines = [json.loads(line) for line in watcher.other]  # stdout: JSON lines only
    assert lines and all(a["alert"] == "finding" for a in lines)
    assert any(a["device"] == CAM1 and CLOUD in a["summary"] for a in lines)


def test_an_interface_that_does_not_exist_is_one_line_and_exit_3(lab: WatchLab) -> None:
    watcher = Watcher(lab.namespace, ["-i", "nosuch0", "--record-dir", str(lab.tmp / "r")])
    assert watcher.wait() == 3
    err = "".join(watcher.other)
    assert "recording on nosuch0 failed" in err
    assert "Traceback" not in err


def test_a_link_that_goes_away_ends_the_watch_with_a_warning_and_the_summary(
    lab: WatchLab,
) -> None:
    watcher, _records, alerts, report = lab.start("1s")
    lab.replay(SYN_DROPPED, "--topspeed")
    watcher.wait_for("OUTBOUND-ATTEMPT")
    subprocess.run(["ip", "netns", "exec", lab.namespace, "ip", "link", "del", "rep0"], check=True)
    assert watcher.wait() == 1  # what was read: isolated_with_attempts
    assert "warning: recording on cap0 failed" in "".join(watcher.other)
    assert json.loads(report.read_text())["verdict"] == "isolated_with_attempts"
    assert _alerts(alerts)
