"""Recording for audit: dumpcap's ring buffer into files kept as evidence, and the
packet count the progress line shows, read from files still being written."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from camaudit.audit.record import RecordPlan, count_packets, record
from camaudit.errors import InputError, UsageError

PCAPS = Path(__file__).resolve().parents[2] / "pcaps"
TWO_INTERFACES = PCAPS / "pcapng-two-interfaces"


def _pcapng() -> Path:
    (found,) = sorted(TWO_INTERFACES.glob("*.pcapng"))
    return found


def test_packets_are_counted_in_a_finished_pcapng(tmp_path: Path) -> None:
    import subprocess

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


def test_loopback_is_recorded_into_rotated_files_with_progress(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("dumpcap") is None:
        pytest.skip("capturing needs root and dumpcap")
    stop = threading.Event()

    def chatter() -> None:  # loopback only: a datagram to ourselves every 0.1 s
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while not stop.is_set():
                s.sendto(b"camaudit-record-test", ("127.0.0.1", 9))
                time.sleep(0.1)

    seen: list[tuple[int, float]] = []
    thread = threading.Thread(target=chatter)
    thread.start()
    try:
        entry = record(
            RecordPlan("lo", 4, tmp_path / "rec", rotate=2), lambda p, e: seen.append((p, e))
        )
    finally:
        stop.set()
        thread.join()
    files = [Path(f) for f in entry.files]
    assert len(files) >= 2 and all(f.parent == tmp_path / "rec" for f in files)
    assert entry.tool == "dumpcap" and entry.interface == "lo"
    assert seen and seen[-1][0] == count_packets(files) > 10
    assert [p for p, _e in seen] == sorted(p for p, _e in seen)  # the count only grows
