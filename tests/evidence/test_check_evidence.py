"""`camaudit check-evidence DIR`: a second auditor re-checks a pack with one command."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import pytest

from tests.conftest import PCAPS
from tests.evidence.test_evidence_pack import CASES, camaudit

MISMATCH, UNREADABLE = 1, 3


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """A pack made from a private copy of a stored capture (so that tests may damage it)."""
    capture = tmp_path / "inputs" / "tls-established.pcap"
    capture.parent.mkdir()
    shutil.copy(CASES["tls-established"], capture)
    directory = tmp_path / "pack"
    code, _, err = camaudit(
        "verify",
        str(capture),
        "-n",
        "10.66.0.0/24",
        "--evidence",
        str(directory),
        "-o",
        str(tmp_path / "report.txt"),
        cwd=tmp_path,
    )
    assert code == 1, err
    return directory


def check(directory: Path, *args: str) -> tuple[int, list[str]]:
    code, out, err = camaudit("check-evidence", str(directory), *args, cwd=directory.parent)
    assert "Traceback" not in err
    return code, out.splitlines()


def flip(path: Path, offset: int = -40) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_intact_pack_checks_ok_line_by_line(pack: Path) -> None:
    code, lines = check(pack)
    assert code == 0
    assert lines[-1] == "OK"
    assert any(line.startswith("ok") and "file evidence.pcapng" in line for line in lines)
    assert any(line.startswith("ok") and "input " in line for line in lines)
    packets = [line for line in lines if "equals the original frame" in line]
    assert len(packets) == 17
    assert any(line.startswith("ok") and "15 of its 15 frame(s)" in line for line in lines)


def test_flipped_byte_in_the_evidence_pcap_fails_and_names_it(pack: Path) -> None:
    flip(pack / "evidence.pcapng")
    code, lines = check(pack)
    assert code == MISMATCH
    assert lines[-1].startswith("FAILED")
    assert any(line.startswith("FAILED") and "file evidence.pcapng" in line for line in lines)


def test_flipped_byte_in_the_report_fails_and_names_it(pack: Path) -> None:
    flip(pack / "report.json", 10)
    code, lines = check(pack)
    assert code == MISMATCH
    assert any(line.startswith("FAILED") and "file report.json" in line for line in lines)


def test_flipped_byte_in_an_input_capture_fails_and_names_it(pack: Path) -> None:
    flip(pack.parent / "inputs" / "tls-established.pcap")
    code, lines = check(pack)
    assert code == MISMATCH
    assert any(line.startswith("FAILED") and "input " in line for line in lines)


def test_removed_file_fails_and_names_it(pack: Path) -> None:
    (pack / "report.json").unlink()
    code, lines = check(pack)
    assert code == MISMATCH
    assert any("report.json" in line and "missing" in line for line in lines)


def test_added_file_fails_and_names_it(pack: Path) -> None:
    (pack / "extra.pcap").write_bytes(b"x")
    code, lines = check(pack)
    assert code == MISMATCH
    assert any("extra.pcap" in line and "not in the manifest" in line for line in lines)


def test_pcap_and_manifest_rewritten_together_still_fail_against_the_original(
    pack: Path,
) -> None:
    """Someone who edits a packet and rewrites every hash is caught by the original."""
    pcap, manifest_path = pack / "evidence.pcapng", pack / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    data = bytearray(pcap.read_bytes())
    # the last packet's data ends before its comment option; change a byte inside it
    where = data.rfind(b"camaudit evidence:") - 20
    data[where] ^= 0x01
    pcap.write_bytes(bytes(data))
    manifest["files"]["evidence.pcapng"] = hashlib.sha256(bytes(data)).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    code, lines = check(pack)
    assert code == MISMATCH
    assert any(line.startswith("FAILED") and "packet 17" in line for line in lines)


def _last_epb(data: bytes) -> int:
    """Offset of the last Enhanced Packet Block of a little-endian pcapng."""
    pos, last = 0, -1
    while pos < len(data):
        kind, length = struct.unpack_from("<II", data, pos)
        last = pos if kind == 6 else last
        pos += length
    return last


def test_packet_time_changed_with_its_hashes_fails_against_the_original(pack: Path) -> None:
    pcap, manifest_path = pack / "evidence.pcapng", pack / "manifest.json"
    data = bytearray(pcap.read_bytes())
    data[_last_epb(bytes(data)) + 16] ^= 0x01  # the low word of its timestamp
    pcap.write_bytes(bytes(data))
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["evidence.pcapng"] = hashlib.sha256(bytes(data)).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    code, lines = check(pack)
    assert code == MISMATCH
    assert any(line.startswith("FAILED") and "packet 17" in line for line in lines)


def test_moved_inputs_are_not_checked_unless_given(pack: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    (tmp_path / "inputs").rename(moved)
    code, lines = check(pack)
    assert code == 0
    assert any(line.startswith("not checked") and "input " in line for line in lines)
    code, lines = check(pack, "--captures", str(moved / "tls-established.pcap"))
    assert code == 0
    assert sum("equals the original frame" in line for line in lines) == 17


def test_damaged_manifest_is_unreadable(pack: Path) -> None:
    (pack / "manifest.json").write_text("{not json")
    code, _ = check(pack)
    assert code == UNREADABLE


def test_missing_pack_is_unreadable(tmp_path: Path) -> None:
    code, _, err = camaudit("check-evidence", str(tmp_path / "nope"), cwd=tmp_path)
    assert code == UNREADABLE
    assert err.startswith("camaudit: error:")


def test_policy_changed_after_the_run_fails_and_names_it(tmp_path: Path) -> None:
    case = PCAPS / "host-header-resolved"
    policy = tmp_path / "policy.toml"
    shutil.copy(case / "policy.toml", policy)
    directory = tmp_path / "pack"
    code, _, err = camaudit(
        "verify",
        str(case / "host-header-resolved.pcap"),
        "--policy",
        str(policy),
        "--evidence",
        str(directory),
        cwd=tmp_path,
    )
    assert code == 0, err
    code, lines = check(directory)
    assert code == 0
    assert any(line.startswith("ok") and f"policy {policy}" in line for line in lines)
    assert any(line.startswith("ok") and "profiles " in line for line in lines)
    policy.write_text(policy.read_text() + "\n# edited\n")
    code, lines = check(directory)
    assert code == MISMATCH
    assert any(line.startswith("FAILED") and f"policy {policy}" in line for line in lines)
