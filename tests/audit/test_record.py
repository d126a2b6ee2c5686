"""Recording for audit: dumpcap's ring buffer into files kept as evidence, and the
packet count the progress line shows, read from files still being written."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from camaudit import verify
from camaudit.audit.record import (
    Judge,
    PacketCounter,
    RecordPlan,
    RecordStatus,
    count_packets,
    record,
)
from camaudit.errors import InputError, UsageError
from camaudit.knowledge import load_knowledge
from camaudit.policy.load import load_policy
from camaudit.watch import Watch
from tests.command import CAMAUDIT, read_terminal

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
TWO_INTERFACES = PCAPS / "pcapng-two-interfaces"


def _pcapng() -> Path:
    (found,) = sorted(TWO_INTERFACES.glob("*.pcapng"))
    return found


def test_packets_are_counted_in_a_finished_pcapng(tmp_path: Path) -> None:
    out = subprocess.run(
        ["capinfos", "-c", "-M", str(_pcapng())], capture_output=True, text=True, check=True
    ).stdout
    expected = int(out.strip().splitlines()[-1].split(":")[-1])
    assert count_packets([_pcapng()]) == expected > 0


def test_a_block_still_being_written_is_not_counted(tmp_path: Path) -> None:
    data = _pcapng().read_bytes()
    whole = count_packets([_pcapng()])
    growing = tmp_path / "audit_00001_x.pcapng"
    # An enhanced packet block dumpcap has begun: type 6, length 1000, 12 bytes so far.
    growing.write_bytes(data + struct.pack("<III", 6, 1000, 0))
    assert count_packets([growing]) == whole
    half = tmp_path / "audit_00002_x.pcapng"
    half.write_bytes(data[: len(data) // 2])
    assert 0 < count_packets([half]) < whole
    empty = tmp_path / "audit_00003_x.pcapng"
    empty.write_bytes(b"")
    assert count_packets([growing, empty]) == whole


def test_a_growing_file_is_counted_from_where_the_last_count_stopped(tmp_path: Path) -> None:
    data = _pcapng().read_bytes()
    growing = tmp_path / "audit_00001_x.pcapng"
    counter = PacketCounter()
    for cut in (5, 40, 41, len(data) // 3, len(data) // 3 + 7, len(data) - 3, len(data)):
        growing.write_bytes(data[:cut])  # as dumpcap appends, block by block or mid-block
        assert counter.count([growing]) == count_packets([growing])
    assert counter.count([growing]) == count_packets([_pcapng()]) > 0
    assert counter.seen[growing][0] == len(data)  # every complete block read once


def test_a_directory_holding_files_is_refused_recordings_are_never_overwritten(
    tmp_path: Path,
) -> None:
    (tmp_path / "old.pcapng").write_bytes(b"x")
    with pytest.raises(UsageError, match="new or empty directory"):
        record(RecordPlan("lo", 1, tmp_path))


def test_a_bad_duration_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        record(RecordPlan("lo", 0, tmp_path / "rec"))


def test_an_interface_that_does_not_exist_is_one_input_error(tmp_path: Path) -> None:
    if shutil.which("dumpcap") is None:
        pytest.skip("needs dumpcap")
    with pytest.raises(InputError, match="recording on no-such-if0 failed"):
        record(RecordPlan("no-such-if0", 2, tmp_path / "rec"))


def _chatter(stop: threading.Event) -> None:
    """Loopback only: one socket sends a datagram to ourselves every 0.1 s (one flow)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not stop.is_set():
            s.sendto(b"camaudit-record-test", ("127.0.0.1", 9))
            time.sleep(0.1)


def _record_loopback(plan: RecordPlan, judge: Judge | None = None) -> tuple[Any, list[Any]]:
    if os.geteuid() != 0 or shutil.which("dumpcap") is None:
        pytest.skip("capturing needs root and dumpcap")
    stop = threading.Event()
    seen: list[RecordStatus] = []
    thread = threading.Thread(target=_chatter, args=(stop,))
    thread.start()
    try:
        entry = record(plan, seen.append, judge)
    finally:
        stop.set()
        thread.join()
    return entry, seen


def test_loopback_is_recorded_into_rotated_files_with_progress(tmp_path: Path) -> None:
    entry, seen = _record_loopback(RecordPlan("lo", 4, tmp_path / "rec", rotate=2))
    files = [Path(f) for f in entry.files]
    assert len(files) >= 2 and all(f.parent == tmp_path / "rec" for f in files)
    assert entry.tool == "dumpcap" and entry.interface == "lo"
    assert seen and seen[-1].packets == count_packets(files) > 10
    assert [s.packets for s in seen] == sorted(s.packets for s in seen)  # the count only grows
    assert all(s.flows is None and s.findings is None for s in seen)  # no judge, no tally


class _Counted(Watch):
    """watch's running state, noting each file it is handed (to prove: once each)."""

    def __init__(self) -> None:
        super().__init__(load_policy(None, ("127.0.0.0/8",)), load_knowledge(None))
        self.handed: list[Path] = []
        self.chatter: list[list[int]] = []  # per file: packets of each flow to port 9

    def tally(self, path: Path) -> tuple[int, int]:
        self.handed.append(path)
        got = super().tally(path)
        assert self.traffic is not None
        self.chatter.append(
            [f.orig_packets for f in self.traffic.flows if (f.proto, f.resp_port) == ("udp", 9)]
        )
        return got


def test_each_closed_file_is_judged_once_and_the_last_tally_is_the_verify_of_all(
    tmp_path: Path,
) -> None:
    judge = _Counted()
    entry, seen = _record_loopback(RecordPlan("lo", 6, tmp_path / "rec", rotate=2), judge)
    files = [Path(f) for f in entry.files]
    assert len(files) >= 2
    assert judge.handed == files  # each file once, in time order, the last at the end
    closed = [s for s in seen if s.closed is not None]
    assert [s.closed for s in closed] == files
    assert [s.files for s in closed] == list(range(1, len(files) + 1))
    # The first files closed while dumpcap was still writing the next one.
    assert closed[0].elapsed < 5
    # One socket talking across every rotation is one flow in every tally, and grows.
    # (Other loopback traffic on this machine may add flows of its own.)
    assert all(len(flows) == 1 for flows in judge.chatter), judge.chatter
    grown = [flows[0] for flows in judge.chatter]
    assert grown == sorted(set(grown)) and grown[-1] > 40
    assert all(s.flows is not None and s.flows >= 1 for s in closed)
    whole = verify(files, closed_network=("127.0.0.0/8",)).report
    last = closed[-1]
    assert (last.packets, last.flows, last.findings) == (
        whole.summary.packets,
        whole.summary.flows,
        whole.summary.findings,
    )


class _Broken:
    def tally(self, path: Path) -> tuple[int, int]:
        raise InputError(f"{path.name}: not a capture")


def test_a_judge_that_fails_loses_only_the_view(tmp_path: Path) -> None:
    entry, seen = _record_loopback(RecordPlan("lo", 3, tmp_path / "rec", rotate=1), _Broken())
    assert len(entry.files) >= 2  # the recording went on and kept every file
    closed = [s for s in seen if s.closed is not None]
    assert [s.closed for s in closed] == [Path(f) for f in entry.files]
    assert all(s.flows is None and "not a capture" in (s.unjudged or "") for s in closed)


def _on_a_terminal(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as stdin, stdout and stderr; all it wrote."""
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm"}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env)
    os.close(slave)
    try:
        out = b"".join(data for _, data in read_terminal(master, proc, time.monotonic()))
    finally:
        os.close(master)
    return proc.wait(timeout=120), out.decode("utf-8", "replace")


def test_on_a_terminal_the_progress_is_one_live_line_with_flows_and_findings(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("dumpcap", "nmap")):
        pytest.skip("recording needs root and dumpcap; discovery needs nmap")
    stop = threading.Event()
    thread = threading.Thread(target=_chatter, args=(stop,))
    thread.start()
    try:
        code, shown = _on_a_terminal(
            [
                *CAMAUDIT,
                "audit",
                "--target",
                "127.0.11.99/32",  # loopback: nothing answers, nothing leaves
                "--methods",
                "nmap",
                "--interface",
                "lo",
                "--duration",
                "4s",
                "--rotate",
                "2s",
                "--record-dir",
                "rec",
                "-n",
                "127.0.0.0/8",
                "-f",
                "json",
                "-o",
                "report.json",
            ],
            tmp_path,
        )
    finally:
        stop.set()
        thread.join()
    assert code in (0, 1, 4), shown
    # One line redrawn in place (rich's live display), never a line per poll.
    assert "\x1b[2K" in shown and shown.count("\ncamaudit: recording lo:") <= 1
    tallies = re.findall(
        r"camaudit: recording lo: [^\r\n\x1b]*?(\d+) flows?, (\d+) findings? so far", shown
    )
    assert tallies, shown
    summary = json.loads((tmp_path / "report.json").read_text())["summary"]
    assert tallies[-1] == (str(summary["flows"]), str(summary["findings"]))
