"""The audit report's other sections: BIO/BIO2 controls, the council's register, what
could not be checked per device, the evidence pack of the whole audit, and all of it
in Dutch. Built from the stored lab captures (pcaps/) and given inventories."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from camaudit.api import VerifyResult, verify
from camaudit.audit import build_audit_report
from camaudit.audit.devices import MESSAGES, SAY, audit_text
from camaudit.evidence import CheckStatus, check_evidence, write_evidence_pack
from camaudit.i18n import translator
from camaudit.report.compliance import DEVICE_INCONCLUSIVE, with_controls
from camaudit.report.console import render_audit, render_text
from camaudit.report.model import (
    AuditReport,
    CveEntry,
    DeviceEntry,
    ProbeEntry,
    RecordingEntry,
    from_json,
    schema,
    to_dict,
    to_json,
)
from camaudit.report.register import read_register, with_register
from tests.audit.reports import CAM1_IP, CAM1_MAC, CLOSED, capture, device, identity, inventory

NTP_OUTSIDE = "NTP server 203.0.113.9 is outside the closed network"
ONVIF_NO_LOGIN = SAY["onvif_no_login"]
KEV = CveEntry("CVE-2021-36260", 9.8, "2022-01-10", "firmware before V5.5.800", "V5.5.800", "x")
ONVIF_FACTS = (("onvif_call:GetSystemDateAndTime", "ok"),)


def _camera(
    probes: tuple[ProbeEntry, ...] = (), firmware: str | None = "V5.5.0", ip: str = CAM1_IP
) -> DeviceEntry:
    """A fingerprinted Hikvision with a KEV-listed CVE and an NTP server outside."""
    found = device(ip, CAM1_MAC if ip == CAM1_IP else None, identity(firmware), (NTP_OUTSIDE,))
    return dataclasses.replace(found, cves=(KEV,), probes=probes)


def _probe(name: str, *facts: tuple[str, str], status: str = "completed") -> ProbeEntry:
    return ProbeEntry(name, status, None if status == "completed" else "timed out", 0.1, facts)


def _audit(result: VerifyResult, *devices: DeviceEntry, credentials: bool = False) -> AuditReport:
    recording = RecordingEntry("eth0", 30.0, "dumpcap", "/srv/site-a", ("a.pcapng", "b.pcapng"))
    report = build_audit_report(
        result.report, inventory(*devices), recording=recording, credentials=credentials
    )
    return with_controls(report)


def _control(report: AuditReport, control: str) -> tuple[str, set[tuple[str, str]]]:
    assert report.controls is not None
    (entry,) = [c for c in report.controls.controls if c.id == control]
    cited = {("findings", report.findings[i].rule) for i in entry.finding_indices}
    return entry.status, cited | {(f.source, f.rule) for f in entry.findings}


@pytest.fixture(scope="module")
def tls() -> VerifyResult:
    return verify([capture("tls-established")], CLOSED)


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The council's register as Dutch Excel saves it: the camera listed as a Dahua, one
    camera that is not on the segment."""
    path = tmp_path_factory.mktemp("register") / "register.csv"
    text = (
        "Locatie;Omschrijving;IP-adres;MAC-adres;Merk\r\n"
        f"Stadhuis;Camera hoofdingang;{CAM1_IP};;Dahua\r\n"
        "Bibliotheek;Camera leeszaal;10.66.0.99;;Axis\r\n"
    )
    path.write_bytes("\ufeff".encode() + text.encode())
    return path


def _registered(report: AuditReport, register: Path) -> AuditReport:
    rows, sha256 = read_register(register)
    return with_register(report, rows, str(register), sha256)


# -- controls ------------------------------------------------------------------------------


def test_an_audit_report_has_bio_controls_failed_by_traffic_and_by_device_findings(
    tls: VerifyResult,
) -> None:
    report = _audit(tls, _camera())
    status, behind = _control(report, "8.22")
    assert status == "failed"
    assert ("findings", "BOUNDARY-CROSSED-OUT") in behind  # the traffic part
    assert ("devices", "config-address-outside") in behind  # the inventory part
    assert _control(report, "8.8") == ("failed", {("devices", "cve-kev")})
    assert report.controls is not None and "capture" in report.controls.examined
    assert _control(report, "5.9")[0] == "not_tested"  # no register given


def test_the_audit_report_with_controls_and_register_follows_the_schema_and_round_trips(
    tls: VerifyResult, register: Path
) -> None:
    report = _registered(_audit(tls, _camera()), register)
    jsonschema.validate(to_dict(report), schema())
    assert from_json(to_json(report)) == report
    assert list(to_dict(report))[-2:] == ["controls", "register"]  # appended, not reordered


def test_an_audit_report_saved_before_the_sections_still_loads(tls: VerifyResult) -> None:
    data = to_dict(_audit(tls, _camera()))
    del data["controls"], data["register"]
    loaded = from_json(json.dumps(data))
    assert isinstance(loaded, AuditReport) and loaded.controls is None and loaded.register is None


# -- register --------------------------------------------------------------------------------


def test_the_register_is_reconciled_with_every_device_the_audit_found(
    tls: VerifyResult, register: Path
) -> None:
    report = _registered(_audit(tls, _camera()), register)
    assert report.register is not None
    kinds = {(e.kind, e.row, e.ip) for e in report.register.entries}
    assert kinds == {
        ("make_differs", 2, CAM1_IP),
        ("not_found", 3, "10.66.0.99"),
        # on the segment, seen only in the traffic, in no row
        ("not_registered", None, "10.66.0.1"),
        ("not_registered", None, "10.66.0.10"),
    }
    (differs,) = [e for e in report.register.entries if e.kind == "make_differs"]
    assert (differs.device, differs.expected_make, differs.found_make) == (0, "Dahua", "hikvision")
    status, behind = _control(report, "5.9")
    assert status == "failed"
    rules = {"register-make-differs", "register-not-found", "register-not-registered"}
    assert behind == {("register", rule) for rule in rules}


def test_audit_register_reads_the_file_before_any_probe_and_a_bad_one_is_one_line(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("locatie;ip\nStadhuis;10.0.0.300\n", encoding="utf-8")
    argv = [sys.executable, "-m", "camaudit", "audit", "--target", "127.0.11.99/32"]
    argv += ["--captures", str(capture("quiet-camera")), "--register", str(bad)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines() == [
        f"camaudit: error: register {bad}: row 2: '10.0.0.300' is not an IP address"
    ]
    assert "discovering" not in proc.stderr


# -- console ---------------------------------------------------------------------------------


def test_the_console_audit_report_shows_the_register_and_the_controls(
    tls: VerifyResult, register: Path
) -> None:
    out = io.StringIO()
    report = _registered(_audit(tls, _camera()), register)
    render_audit(report, Console(file=out, width=240, no_color=True), translator("en"))
    text = out.getvalue()
    assert "Register" in text and "make differs from the register" in text
    assert "registered but not found" in text and "Bibliotheek" in text
    assert "BIO" in text and "Scheiding van netwerken" not in text  # English titles
    row = next(line for line in text.splitlines() if "│ 8.8 " in line)
    assert "failed" in row and f"cve-kev: {CAM1_IP}" in row
    assert "no register given" not in text  # a register was given


# English UI words of the audit console; none may reach a Dutch reader. ("model",
# "firmware", "status" and "Register" are Dutch words too; "BIO" is the framework's name.)
ENGLISH_UI = (
    "Devices", "seen by", "vendor", "Verdict", "Known vulnerabilities", "not checked",
    "vendor cloud", "recorded", "Captures", "Findings", "row", "result", "expected make",
    "found make", "registered", "control", "title", "passed", "failed",
    "not tested", "findings behind", "no credentials", "no traffic", "unknown", "OUI only",
    "tried", "discovery", "traffic", "file(s)", "device(s)", "problem",
)  # fmt: skip


def test_a_dutch_reader_of_the_audit_report_sees_no_english_ui_words(
    tmp_path: Path, register: Path
) -> None:
    result = verify([capture("syn-dropped")], CLOSED)
    silent = dataclasses.replace(_camera((_probe("onvif:80"),), None, "10.66.0.40"), cves=())
    report = _registered(_audit(result, _camera(), silent), register)
    # The verify stage's reasons and the devices' setting findings are sentences of
    # policy/evaluate.py and fingerprint/findings.py (evidence text, not this renderer's)
    devices = tuple(dataclasses.replace(d, config_findings=()) for d in report.audit.devices)
    audit = dataclasses.replace(report.audit, devices=devices)
    report = dataclasses.replace(report, reasons=(), audit=audit)
    saved = tmp_path / "audit.json"
    saved.write_text(to_json(report), encoding="utf-8")
    text = render_text(from_json(saved.read_text("utf-8")), translator("nl", strict=True))
    for word in ENGLISH_UI:
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text, re.I), word
    # (a device's reason quotes its finding, which says "attempted": policy/evaluate.py's
    # sentence; the flow table's state is this renderer's word)
    for dutch in ("Apparaten", "gezien via", "niet gecontroleerd", "geprobeerd", "Oordeel"):
        assert dutch in text
    assert "Scheiding van netwerken" in text  # the Dutch control titles from bio.toml
    assert re.search(r"8666/tcp │ geprobeerd,", text)  # the flow's state
    # the same through the command line, as a reader re-renders a saved audit
    cli = [sys.executable, "-m", "camaudit", "report", str(saved), "--lang", "nl"]
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Apparaten" in proc.stdout and "Devices" not in proc.stdout


def test_every_sentence_the_audit_writes_is_a_catalogue_message_with_a_dutch_text() -> None:
    t = translator("nl", strict=True)
    for message in MESSAGES:
        fields = dict.fromkeys(re.findall(r"\{(\w+)\}", message), "X")
        english = message.format(**fields)
        assert audit_text(english, t) == t.gettext(message, **fields) != english
    assert audit_text("a finding's own words", t) == "a finding's own words"


# -- what could not be checked ---------------------------------------------------------------


def test_without_credentials_each_device_says_which_onvif_calls_and_pages_were_not_made(
    tls: VerifyResult,
) -> None:
    probes = (_probe("onvif:80", *ONVIF_FACTS), _probe("http:80"))
    report = _audit(tls, _camera(probes, firmware=None))
    (cam,) = [d for d in report.audit.devices if d.ip == CAM1_IP]
    assert ONVIF_NO_LOGIN in cam.not_checked
    assert "GetDeviceInformation" in ONVIF_NO_LOGIN
    assert "web pages behind the login not read: no credentials" in cam.not_checked
    assert "firmware unknown: no credentials" in cam.not_checked
    assert any(n.startswith("device settings") for n in cam.not_checked)
    # ... and the JSON and the console both say so
    saved = json.loads(to_json(report))
    (entry,) = [d for d in saved["audit"]["devices"] if d["ip"] == CAM1_IP]
    assert ONVIF_NO_LOGIN in entry["not_checked"]
    text = render_text(report, translator("en"))
    assert "not checked: ONVIF GetDeviceInformation" in text.replace("\n", " ")


def test_with_credentials_a_failed_call_and_a_cut_short_probe_are_named(
    tls: VerifyResult,
) -> None:
    failed = ("onvif_call:GetDeviceInformation", "failed: HTTP 401 Unauthorized")
    probes = (_probe("onvif:80", failed), _probe("rtsp:554", status="timed_out"))
    report = _audit(tls, _camera(probes), credentials=True)
    (cam,) = [d for d in report.audit.devices if d.ip == CAM1_IP]
    assert "ONVIF GetDeviceInformation failed: HTTP 401 Unauthorized" in cam.not_checked
    assert "probe rtsp:554 did not complete (timed_out): timed out" in cam.not_checked
    assert ONVIF_NO_LOGIN not in cam.not_checked
    assert not any("no credentials" in n for n in cam.not_checked)


def test_a_device_that_answered_every_probe_with_credentials_lacks_nothing_but_traffic(
    tls: VerifyResult,
) -> None:
    report = _audit(tls, _camera((_probe("onvif:80", *ONVIF_FACTS),)), credentials=True)
    (cam,) = [d for d in report.audit.devices if d.ip == CAM1_IP]
    assert cam.not_checked == ()


# -- evidence pack ---------------------------------------------------------------------------


@pytest.fixture
def audit_pack(tmp_path: Path, register: Path) -> tuple[Path, Path, AuditReport]:
    """An audit over a private copy of a stored capture, its evidence pack written."""
    copy = tmp_path / "inputs" / "syn-dropped.pcap"
    copy.parent.mkdir()
    shutil.copy(capture("syn-dropped"), copy)
    result = verify([copy], CLOSED)
    report = _registered(_audit(result, _camera(), device("10.66.0.40", None)), register)
    directory = tmp_path / "pack"
    argv = ["camaudit", "audit", "--captures", str(copy)]
    write_evidence_pack(result, directory, argv, report=report)
    return directory, copy, report


def _vouch_for_report(directory: Path) -> None:
    """Rewrite the manifest's hash of report.json as a forger would."""
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    manifest["files"]["report.json"] = hashlib.sha256(
        (directory / "report.json").read_bytes()
    ).hexdigest()
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")


def _statuses(directory: Path) -> dict[str, CheckStatus]:
    return {c.what: c.status for c in check_evidence(directory)}


def test_the_pack_of_an_audit_holds_the_audit_report_and_every_device_s_frames(
    audit_pack: tuple[Path, Path, AuditReport],
) -> None:
    directory, _copy, report = audit_pack
    saved = from_json((directory / "report.json").read_text("utf-8"))
    assert isinstance(saved, AuditReport) and saved.kind == "audit"
    assert saved.register == report.register and saved.controls == report.controls
    manifest = json.loads((directory / "manifest.json").read_text("utf-8"))
    packed = {(p["capture"], p["frame"]) for p in manifest["packets"]}
    cited = {
        (e.capture, f) for d in report.audit.devices for e in d.verdict.evidence for f in e.frames
    }
    assert cited and cited <= packed
    statuses = _statuses(directory)
    assert set(statuses.values()) == {CheckStatus.OK}
    assert statuses["report.json (audit report)"] is CheckStatus.OK
    assert statuses[f"device {CAM1_IP}"] is CheckStatus.OK


def test_check_evidence_accepts_the_audit_pack_on_the_command_line(
    audit_pack: tuple[Path, Path, AuditReport],
) -> None:
    directory = audit_pack[0]
    argv = [sys.executable, "-m", "camaudit", "check-evidence", str(directory)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok          report.json (audit report): re-rendered byte for byte" in proc.stdout
    assert proc.stdout.strip().endswith("OK")


def test_a_tampered_capture_fails_the_audit_pack(
    audit_pack: tuple[Path, Path, AuditReport],
) -> None:
    directory, copy, _report = audit_pack
    data = bytearray(copy.read_bytes())
    data[-40] ^= 0x01
    copy.write_bytes(bytes(data))
    assert _statuses(directory)[f"input {copy}"] is CheckStatus.FAILED


@pytest.mark.parametrize(
    ("forgery", "caught_by"),
    [("verdict", "report.json verdict"), ("layout", "report.json (audit report)")],
)
def test_a_forged_audit_report_fails_even_with_its_hash_rewritten(
    audit_pack: tuple[Path, Path, AuditReport], forgery: str, caught_by: str
) -> None:
    """A changed verdict, or a report camaudit did not write (re-rendering it differs)."""
    directory = audit_pack[0]
    path = directory / "report.json"
    data = json.loads(path.read_text("utf-8"))
    if forgery == "verdict":
        data["verdict"], data["exit_code"] = "isolated", 0
    indent = 2 if forgery == "verdict" else 4
    path.write_text(json.dumps(data, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")
    assert _statuses(directory)["file report.json"] is CheckStatus.FAILED
    _vouch_for_report(directory)
    statuses = _statuses(directory)
    assert statuses["file report.json"] is CheckStatus.OK
    assert statuses[caught_by] is CheckStatus.FAILED


def test_a_device_whose_cited_frames_are_missing_from_the_pack_fails(
    audit_pack: tuple[Path, Path, AuditReport],
) -> None:
    directory = audit_pack[0]
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    report = json.loads((directory / "report.json").read_text("utf-8"))
    (cam,) = [d for d in report["audit"]["devices"] if d["ip"] == CAM1_IP]
    first = cam["verdict"]["evidence"][0]
    cited = (first["capture"], first["frames"][0])
    manifest["packets"] = [p for p in manifest["packets"] if (p["capture"], p["frame"]) != cited]
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    assert _statuses(directory)[f"device {CAM1_IP}"] is CheckStatus.FAILED


def test_a_device_without_a_verdict_of_its_own_leaves_segregation_not_tested() -> None:
    result = verify([capture("quiet-camera")], CLOSED)
    camera = device(CAM1_IP, CAM1_MAC, identity("V5.8.0"))  # no finding of its own
    judged = _audit(result, camera)
    assert result.report.verdict == "isolated" and _control(judged, "8.22")[0] == "passed"
    silent = _audit(result, camera, device("10.66.0.40", None))
    assert result.report.verdict == "isolated"  # the whole capture still is
    assert silent.controls is not None
    (segregation,) = [c for c in silent.controls.controls if c.id == "8.22"]
    assert segregation.status == "not_tested"
    assert segregation.reason == DEVICE_INCONCLUSIVE


def test_a_registered_camera_seen_only_in_the_traffic_is_found_not_missing(
    tmp_path: Path,
) -> None:
    # 10.66.0.21 is outside --target (10.66.1.0/24): discovery never saw it, the capture did.
    result = verify([capture("syn-dropped")], CLOSED)
    report = build_audit_report(
        result.report, inventory(target="10.66.1.0/24"), recording=None, credentials=False
    )
    path = tmp_path / "register.csv"
    path.write_text(f"locatie;mac;merk\nStadhuis;{CAM1_MAC};Hikvision\n", encoding="utf-8")
    registered = _registered(report, path)
    assert registered.register is not None
    (entry,) = registered.register.entries  # the other traffic device is outside the target
    assert (entry.kind, entry.matched_by, entry.ip) == ("matched", "mac", CAM1_IP)
    assert entry.device is None  # it has no place in inventory.devices
    jsonschema.validate(to_dict(registered), schema())


# -- the sections in the Markdown report ----------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_the_markdown_audit_report_shows_every_control_and_every_register_row(
    tls: VerifyResult, register: Path, lang: str
) -> None:
    from camaudit.i18n import translator
    from camaudit.report.render import render

    report = _registered(_audit(tls, _camera()), register)
    assert report.controls is not None and report.register is not None
    t = translator(lang, strict=True)
    text = render(report, "markdown", t)
    controls = text[text.index(t.gettext("{framework} controls", framework="BIO2")) :]
    rows = [line for line in controls.splitlines() if line.startswith("| ")][1:]
    assert [r.split(" | ")[0].lstrip("| ") for r in rows] == [
        c.id for c in report.controls.controls
    ]
    failed = t.gettext("failed")
    assert any(r.startswith("| 8.22 |") and failed in r for r in rows)
    registered = text[text.index(f"## {t.gettext('Register')}") :]
    assert "Camera leeszaal" in registered and "Camera hoofdingang" in registered
