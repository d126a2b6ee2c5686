"""`camaudit audit --captures` as a user meets it: fake cameras on loopback are
discovered and fingerprinted, stored lab captures are judged, one report comes out."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from camaudit.i18n import translator
from camaudit.report.console import render_audit
from camaudit.report.model import AuditReport, from_json, schema, to_json
from lab.devices import load_persona, start_device
from lab.devices.runtime import RunningDevice
from tests.audit.reports import CAM1_IP, capture

# A loopback address of its own, so the persona can serve its real ports (80, 554 ...)
# without meeting another test's device on 127.0.0.1.
CAMERA_IP = "127.0.11.21"


@pytest.fixture(scope="module")
def camera() -> Iterator[RunningDevice]:
    if os.geteuid() != 0:
        pytest.skip("serving the persona's own ports (80, 554) needs root")
    persona = load_persona("hik-ipc")
    ports = {p.name: p.port for p in persona.ports if p.proto == "tcp"}
    with start_device(persona, CAMERA_IP, ports) as device:
        yield device


def _audit(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "camaudit", "audit", "--target", f"{CAMERA_IP}/32"]
    argv += ["--methods", "nmap", "--timeout", "3", "-n", "10.66.0.0/24", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit") / "pack"


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The council's register: the fake Hikvision listed as an Axis, and a camera that is
    not there."""
    path = tmp_path_factory.mktemp("register") / "register.csv"
    path.write_text(
        f"locatie;omschrijving;ip;merk\nStadhuis;Ingang;{CAMERA_IP};Axis\n"
        "Bibliotheek;Leeszaal;127.0.11.99;Axis\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def audited(
    camera: RunningDevice, pack: Path, register: Path
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    # One scan for the whole module: nmap's service scan is the slow part.
    given = ["--captures", str(capture("syn-dropped")), "--evidence", str(pack)]
    proc = _audit(*given, "--register", str(register), "-f", "json")
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout), proc


def _device(report: dict[str, Any], ip: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [d for d in report["audit"]["devices"] if d["ip"] == ip]
    assert len(found) == 1, found
    return found[0]


def test_the_report_is_one_audit_report_that_follows_the_schema(audited: Any) -> None:
    report, proc = audited
    jsonschema.validate(report, schema())
    assert report["kind"] == "audit" and report["audit"]["mode"] == "captures"
    assert to_json(from_json(proc.stdout)) == proc.stdout


def test_the_fingerprinted_camera_carries_its_identity_and_says_it_sent_nothing(
    audited: Any,
) -> None:
    report, _proc = audited
    cam = _device(report, CAMERA_IP)
    assert cam["identity"]["vendor"] == "hikvision"
    assert cam["sources"] == ["discovery"] and cam["inventory_index"] == 0
    assert cam["verdict"]["verdict"] == "inconclusive"
    assert [r["text"] for r in cam["verdict"]["reasons"]] == [
        "no traffic from this device in the evidence"
    ]
    assert "no capture of this device's traffic" in cam["not_checked"]


def test_a_camera_seen_only_in_the_capture_is_judged_on_its_own_flows(audited: Any) -> None:
    report, _proc = audited
    cam = _device(report, CAM1_IP)
    assert cam["sources"] == ["traffic"]
    assert cam["verdict"]["verdict"] == "isolated_with_attempts"
    assert report["verdict"] == "isolated_with_attempts"


def test_the_console_report_has_a_device_table_with_a_verdict_column(audited: Any) -> None:
    _report, proc = audited
    report = from_json(proc.stdout)
    assert isinstance(report, AuditReport)
    out = io.StringIO()
    render_audit(report, Console(file=out, width=200, no_color=True), translator("en"))
    text = out.getvalue()
    assert "camaudit audit" in text and "Verdict" in text
    assert "make differs from the register" in text and "registered but not found" in text
    assert "BIO2" in text and "Segregation of networks" in text
    row = next(line for line in text.splitlines() if CAMERA_IP in line and "INCONCLUSIVE" in line)
    assert "hikvision" in row
    cam1 = next(line for line in text.splitlines() if line.startswith(f"│ {CAM1_IP} "))
    assert "ISOLATED, WITH ATTEMPTS" in cam1
    assert f"{CAMERA_IP}: no traffic from this device in the evidence" in text


def test_the_audit_report_carries_the_bio_controls_and_the_register(audited: Any) -> None:
    report, _proc = audited
    controls = {c["id"]: c for c in report["controls"]["controls"]}
    assert controls["8.20"]["status"] == "failed"  # the camera in the capture tried to leave
    cited = controls["8.20"].get("finding_indices", [])
    rules = {report["findings"][i]["rule"] for i in cited}
    assert rules | {f["rule"] for f in controls["8.20"]["findings"]} == {"OUTBOUND-ATTEMPT"}
    assert controls["5.9"]["status"] == "failed"
    kinds = {(e["kind"], e["ip"]) for e in report["register"]["entries"]}
    assert kinds == {("make_differs", CAMERA_IP), ("not_found", "127.0.11.99")}


def test_the_evidence_pack_holds_the_audit_report(audited: Any, pack: Path) -> None:
    report, _proc = audited
    packed = json.loads((pack / "report.json").read_text("utf-8"))
    assert packed["kind"] == "audit"
    del packed["generated"], report["generated"]  # the pack's: the last packet's time
    assert packed == report


def test_the_evidence_pack_of_an_audit_checks_out(audited: Any, pack: Path) -> None:
    check = subprocess.run(
        [sys.executable, "-m", "camaudit", "check-evidence", str(pack)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith("OK")
    assert "ok          report.json (audit report): re-rendered byte for byte" in check.stdout
    assert f"ok          device {CAM1_IP}: " in check.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "give --duration TIME to record, or --captures FILES"),
        (["--duration", "10m", "--captures", "x.pcap"], "not both"),
        (["--duration", "10m"], "--duration records an interface: give --interface"),
        (["--duration", "ten", "--interface", "lo"], "--duration 'ten'"),
        (["--captures", "x.pcap", "--ports", "80,http"], "--ports '80,http'"),
        (["--duration", "9", "--interface", "lo", "--rotate", "0"], "--rotate '0'"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(args: list[str], says: str) -> None:
    argv = [sys.executable, "-m", "camaudit", "audit", "--target", f"{CAMERA_IP}/32", *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_missing_capture_is_refused_before_any_probe_is_sent() -> None:
    argv = [sys.executable, "-m", "camaudit", "audit", "--target", f"{CAMERA_IP}/32"]
    proc = subprocess.run(
        [*argv, "--captures", "no-such.pcap"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines()[-1] == (
        "camaudit: error: no-such.pcap: no such file or directory"
    )


def test_an_audit_is_written_as_html_in_dutch_by_the_audit_command(
    camera: RunningDevice, tmp_path: Path
) -> None:
    page = tmp_path / "audit.html"
    proc = _audit(
        "--captures", str(capture("syn-dropped")), "-f", "html", "--lang", "nl", "-o", str(page)
    )
    assert proc.returncode == 1, proc.stderr  # the verdict's exit code, whatever the format
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<html lang="nl">' in text
    assert "Oordeel per apparaat" in text
    assert f'{CAMERA_IP}: <span class="verdict inconclusive">niet vast te stellen</span>' in text


@pytest.mark.parametrize("output_format", ["html", "markdown", "csv", "sarif"])
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_a_saved_audit_renders_in_every_format_with_each_device_verdict(
    audited: Any, tmp_path: Path, output_format: str, lang: str
) -> None:
    _report, proc = audited
    saved = tmp_path / "audit.json"
    saved.write_text(proc.stdout, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "camaudit", "report", str(saved), "-f", output_format,
         "--lang", lang],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert CAMERA_IP in done.stdout and CAM1_IP in done.stdout
    assert "inconclusive" in done.stdout or "niet vast te stellen" in done.stdout
