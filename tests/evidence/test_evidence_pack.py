"""`verify --evidence DIR`: the frames behind the findings, checked with real tshark.

The oracle for "which frames" is tshark itself: every frame a finding cites, plus every
frame its Wireshark display filter shows in the original capture (for a flow: all of
its frames). The pack must hold exactly those, byte for byte, with their timestamps.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from camaudit import __version__
from camaudit.evidence import scrub_command_line
from camaudit.evidence.manifest import sha256_tree
from camaudit.fingerprint.interface import Credentials
from camaudit.knowledge import default_profiles_dir
from tests.command import run_camaudit
from tests.conftest import PCAPS, need_tool

CLOSED = ["-n", "10.66.0.0/24", "-n", "fd66::/64"]
CASES = {
    "tls-established": PCAPS / "tls-established" / "tls-established.pcap",
    "syn-rejected": PCAPS / "syn-rejected" / "syn-rejected.pcap",
    "pcapng": PCAPS / "pcapng-two-interfaces" / "gw-two-legs.pcapng",
    "gzip": PCAPS / "gzip" / "dns-nxdomain.pcap.gz",
    "nanosecond": PCAPS / "nanosecond-bigendian" / "syn-dropped-ns-be.pcap",
    "erspan": PCAPS / "erspan-span" / "erspan-span.pcap",
}
CANARY = "c4nary-Pa55word-7f3e"


def camaudit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the real command line, as a user would."""
    done = run_camaudit(*args, env=env, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


def verify_into(pack: Path) -> list[str]:
    """``verify`` of the syn-rejected case writing its evidence pack into ``pack``."""
    return ["verify", str(CASES["syn-rejected"]), "--evidence", str(pack)]


def tshark_packets(path: Path, display_filter: str | None = None) -> list[dict[str, Any]]:
    """Frame number, epoch time, comment and raw bytes of each packet tshark shows."""
    tshark = need_tool("tshark")
    args = [tshark, "-n", "-r", str(path), "-T", "json", "-x"]
    if display_filter:
        args += ["-Y", display_filter]
    done = subprocess.run(args, capture_output=True, text=True, check=True, timeout=120)
    out = []
    for packet in json.loads(done.stdout or "[]"):
        layers = packet["_source"]["layers"]
        frame = layers["frame"]
        out.append(
            {
                "number": int(frame["frame.number"]),
                "time": frame["frame.time_epoch"],
                # tshark 4.0 puts it in its own layer, later releases in "frame"
                "comment": layers.get("pkt_comment", frame).get("frame.comment"),
                "bytes": layers["frame_raw"][0],
            }
        )
    return out


def expected_frames(report: dict[str, Any]) -> dict[str, set[int]]:
    """Per capture: the cited frames and every frame each evidence's filter shows (tshark)."""
    wanted: dict[str, set[int]] = {}
    for finding in report["findings"]:
        for item in finding["evidence"]:
            frames = wanted.setdefault(item["capture"], set())
            frames.update(item["frames"])
            shown = tshark_packets(Path(item["capture"]), item["display_filter"])
            frames.update(p["number"] for p in shown)
    return wanted


def make_pack(tmp_path: Path, capture: Path, *extra: str) -> tuple[int, Path]:
    pack = tmp_path / "pack"
    code, _, err = camaudit(
        "verify",
        str(capture),
        *CLOSED,
        "--evidence",
        str(pack),
        *extra,
        "-o",
        str(tmp_path / "out.txt"),
        cwd=tmp_path,
    )
    assert code in (0, 1, 4), err
    return code, pack


@pytest.mark.parametrize("case", sorted(CASES))
def test_pack_holds_exactly_the_frames_behind_the_findings(tmp_path: Path, case: str) -> None:
    capture = CASES[case]
    code, pack = make_pack(tmp_path, capture)
    report = json.loads((pack / "report.json").read_text())
    assert report["exit_code"] == code
    wanted = expected_frames(report)
    assert wanted, "every case here has findings"
    packed = tshark_packets(pack / "evidence.pcapng")
    assert len(packed) == sum(len(frames) for frames in wanted.values())
    originals = {p["number"]: p for p in tshark_packets(capture)}
    for copy, number in zip(packed, sorted(wanted[str(capture)]), strict=True):
        original = originals[number]
        assert copy["bytes"] == original["bytes"]
        assert copy["time"] == original["time"]  # to the nanosecond
        assert copy["comment"] == f"camaudit evidence: {capture} frame {number}"


def test_every_frame_of_a_cited_flow_is_copied_not_only_its_first_and_last(
    tmp_path: Path,
) -> None:
    _, pack = make_pack(tmp_path, CASES["tls-established"])
    manifest = json.loads((pack / "manifest.json").read_text())
    [flow] = manifest["flows"]
    assert flow["expected_packets"] == flow["copied_packets"] == 15
    assert len(manifest["packets"]) == 17  # the flow and the DNS question and answer


def test_manifest_hashes_inputs_pack_files_profiles_and_policy(tmp_path: Path) -> None:
    case = PCAPS / "host-header-resolved"
    capture, policy = case / "host-header-resolved.pcap", case / "policy.toml"
    pack = tmp_path / "pack"
    code, _, err = camaudit(
        "verify", str(capture), "--policy", str(policy), "--evidence", str(pack), cwd=tmp_path
    )
    assert code == 0, err
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["tool_version"] == __version__
    assert manifest["inputs"] == [
        {
            "path": str(capture),
            "sha256": hashlib.sha256(capture.read_bytes()).hexdigest(),
            "packets": len(tshark_packets(capture)),
        }
    ]
    assert manifest["files"] == {
        name: hashlib.sha256((pack / name).read_bytes()).hexdigest()
        for name in ("evidence.pcapng", "report.json")
    }
    assert manifest["policy_sha256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    assert manifest["profiles_sha256"] == sha256_tree(default_profiles_dir())
    assert manifest["verdict"] == "isolated"
    assert manifest["command"][:2] == ["camaudit", "verify"]


def test_same_inputs_give_the_same_bytes(tmp_path: Path) -> None:
    _, pack = make_pack(tmp_path, CASES["syn-rejected"])
    first = {p.name: p.read_bytes() for p in pack.iterdir()}
    shutil.rmtree(pack)
    _, pack = make_pack(tmp_path, CASES["syn-rejected"])
    assert {p.name: p.read_bytes() for p in pack.iterdir()} == first
    assert set(first) == {"evidence.pcapng", "manifest.json", "report.json"}
    assert json.loads(first["manifest.json"])["created"] is None


def test_timestamp_is_written_only_when_asked(tmp_path: Path) -> None:
    _, pack = make_pack(tmp_path, CASES["syn-rejected"], "--timestamp")
    assert json.loads((pack / "manifest.json").read_text())["created"].startswith("20")


def test_report_in_the_pack_is_the_json_report(tmp_path: Path) -> None:
    capture = CASES["syn-rejected"]
    _, pack = make_pack(tmp_path, capture)
    _, out, _ = camaudit("verify", str(capture), *CLOSED, "--format", "json", cwd=tmp_path)
    packed, printed = json.loads((pack / "report.json").read_text()), json.loads(out)
    packed.pop("generated"), printed.pop("generated")  # the pack's is the capture's time
    assert packed == printed


def test_password_never_reaches_the_pack(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    code, _, err = camaudit(
        *verify_into(pack),
        cwd=tmp_path,
        env={"CAMAUDIT_USERNAME": "admin", "CAMAUDIT_PASSWORD": CANARY},
    )
    assert code == 1, err
    for path in pack.iterdir():
        assert CANARY.encode() not in path.read_bytes()


def test_command_line_secrets_are_scrubbed() -> None:
    argv = [
        "camaudit",
        "audit",
        "--password",
        CANARY,
        f"--api-token={CANARY}",
        f"rtsp://admin:{CANARY}@10.66.0.21/stream",
        f"--note=x{CANARY}x",
        "-n",
        "10.66.0.0/24",
    ]
    scrubbed = scrub_command_line(argv, Credentials("admin", CANARY))
    assert not any(CANARY in arg for arg in scrubbed)
    assert scrubbed[:3] == ("camaudit", "audit", "--password")
    assert scrubbed[-2:] == ("-n", "10.66.0.0/24")
    assert "rtsp://<hidden>@10.66.0.21/stream" in scrubbed


def test_pack_of_a_quiet_capture_is_empty_but_valid(tmp_path: Path) -> None:
    code, pack = make_pack(tmp_path, PCAPS / "quiet-camera" / "quiet-camera.pcap")
    assert code == 0
    assert tshark_packets(pack / "evidence.pcapng") == []
    assert json.loads((pack / "manifest.json").read_text())["packets"] == []


def test_evidence_dir_holding_an_input_is_refused(tmp_path: Path) -> None:
    capture = tmp_path / "cap" / "c.pcap"
    capture.parent.mkdir()
    shutil.copy(CASES["syn-rejected"], capture)
    for target in (capture.parent, tmp_path, capture):
        code, _, err = camaudit("verify", str(capture), "--evidence", str(target), cwd=tmp_path)
        assert code == 2, err
        assert "input capture" in err and "Traceback" not in err
    assert capture.read_bytes() == CASES["syn-rejected"].read_bytes()


def test_non_empty_evidence_dir_needs_force(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "notes.txt").write_text("mine")
    args = verify_into(pack)
    code, _, err = camaudit(*args, cwd=tmp_path)
    assert code == 2
    assert "--force" in err
    assert sorted(p.name for p in pack.iterdir()) == ["notes.txt"]
    code, _, _ = camaudit(*args, "--force", cwd=tmp_path)
    assert code == 1
    assert (pack / "manifest.json").is_file()


def test_report_output_inside_the_evidence_dir_is_refused(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    code, _, err = camaudit(*verify_into(pack), "-o", str(pack / "r.txt"), cwd=tmp_path)
    assert code == 2
    assert "inside --evidence" in err
    assert not pack.exists()


def test_evidence_dir_inside_an_input_directory_is_refused(tmp_path: Path) -> None:
    """A later run over that directory would read the pack as part of the evidence."""
    inputs = tmp_path / "caps"
    inputs.mkdir()
    shutil.copy(CASES["syn-rejected"], inputs / "c.pcap")
    code, _, err = camaudit("verify", str(inputs), "--evidence", str(inputs / "pack"), cwd=tmp_path)
    assert code == 2, err
    assert "input capture" in err
    assert sorted(p.name for p in inputs.iterdir()) == ["c.pcap"]
