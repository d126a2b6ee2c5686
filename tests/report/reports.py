"""Representative reports, made the way users make them, for the round-trip and golden tests.

Verify reports come from the stored lab captures (``pcaps/``), read by their path
relative to the repository so a report names the same files on every checkout. The
inventory comes from fingerprinting a fake Hikvision camera on loopback (lab/devices)
with its own credentials; what varies from run to run (ephemeral ports, probe
durations, the camera's clock) is pinned afterwards, in the JSON, so that the golden
files hold a real rendering and still compare byte for byte.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from camaudit.api import identify, verify
from camaudit.report.build import build_report
from camaudit.report.model import (
    AuditReport,
    InventoryReport,
    Report,
    VerifyReport,
    from_json,
    to_json,
)
from tests.replay.cases import Case, cases

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
GENERATED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CONSOLE_WIDTH = 120

# pcaps/ cases with a golden rendering: a crossing, attempts only, and an isolated camera.
GOLDEN_CASES = ("tls-established", "dns-nxdomain", "quiet-camera")
# pcaps/ cases with a golden HTML page (en, nl): a crossing with findings.
HTML_CASES = ("tls-established",)


@contextmanager
def in_repo() -> Iterator[None]:
    """Run with the repository as working directory, so capture paths are relative."""
    before = Path.cwd()
    os.chdir(REPO)
    try:
        yield
    finally:
        os.chdir(before)


def reread(report: Report) -> Report:
    """``report`` as a saved file gives it back: written as JSON and read again."""
    return from_json(to_json(report))


def case(name: str) -> Case:
    (found,) = [c for c in cases() if c.name == name]
    return found


def case_report(c: Case, capture: Path) -> VerifyReport:
    """What ``camaudit verify`` reports for one capture of a case, at a fixed time."""
    policy = c.folder / c.expect["policy"] if "policy" in c.expect else None
    with in_repo():
        relative = capture.relative_to(REPO)
        policy_path = policy.relative_to(REPO) if policy else None
        result = verify([relative], c.expect.get("closed_network", ()), policy_path)
    return build_report(result.assessment, result.traffic, GENERATED)


def golden_verify(name: str) -> VerifyReport:
    c = case(name)
    (capture,) = c.captures
    return case_report(c, capture)


@cache
def fake_camera_inventory() -> InventoryReport:
    """Fingerprint the lab's fake Hikvision camera (with its credentials), steadied."""
    from camaudit.fingerprint.interface import Credentials
    from lab.devices import start_device

    with start_device("hik-ipc") as device:
        ports = device.ports
        login = Credentials(device.persona.username, device.persona.password)
        probe_ports = {"http": ports["http"], "rtsp": ports["rtsp"], "onvif": ports["http"]}
        result = identify(["127.0.0.1"], probe_ports, login, 3.0, ("10.66.0.0/24",))
    report = dataclasses.replace(result.report, generated=GENERATED.isoformat())
    steady = _steady(to_json(report), {ports["http"]: 80, ports["rtsp"]: 554})
    read = from_json(steady)
    assert isinstance(read, InventoryReport)
    return read


def _steady(text: str, ports: dict[int, int]) -> str:
    """The JSON with what changes from run to run pinned: ports, durations, device clock."""
    for port, fixed in ports.items():
        text = re.sub(rf"(?<=[:\"]){port}\b", str(fixed), text)
    text = re.sub(r'"duration": [0-9.e-]+', '"duration": 0.0', text)
    return re.sub(r'("onvif_utc_time",\s*)"[^"]*"', r'\1"2026-11-23T12:00:00Z"', text)


def golden_reports() -> dict[str, Report]:
    """Each golden file's stem and the report it renders."""
    found: dict[str, Report] = {f"verify-{name}": golden_verify(name) for name in GOLDEN_CASES}
    found["inventory-fake-hikvision"] = fake_camera_inventory()
    found[AUDIT_STEM] = golden_audit()
    return found


# pcaps/ cases of the golden audit: camera .21 is refused once and then crosses (TLS out),
# the NVR stays inside; with a fixed inventory of the segment around them.
AUDIT_CASES = ("syn-rejected", "tls-established")
AUDIT_STEM = "audit-lab-segment"


def golden_audit() -> AuditReport:
    """What ``camaudit audit --captures`` reports for two lab captures of the 10.66.0.0/24
    segment and a fixed inventory of it: a camera that crossed (identified, with a known
    vulnerability), an NVR with a setting that needs attention, and a camera discovery
    found that sent nothing; the gateway joins from the traffic alone."""
    from camaudit.audit import build_audit_report
    from camaudit.report.compliance import with_controls
    from tests.audit.reports import CAM1_IP, CAM1_MAC, CLOSED, device, identity, inventory

    captures = [case(name).captures[0].relative_to(REPO) for name in AUDIT_CASES]
    with in_repo():
        result = verify(captures, CLOSED)
    verified = build_report(result.assessment, result.traffic, GENERATED)
    # the fake camera as fingerprinting really reported it, moved to the lab camera's address
    fingerprinted = fake_camera_inventory().inventory.devices[0]
    camera = dataclasses.replace(fingerprinted, ip=CAM1_IP, mac=CAM1_MAC)
    # a sentence the fingerprint stage writes (translated) and one it does not (kept as it is)
    config = ("UPnP is enabled (onvif:80)", "telnet is enabled (port 23)")
    nvr = device("10.66.0.10", "02:66:00:00:00:10", identity(None), config=config)
    silent = device("10.66.0.99", "02:66:00:00:00:99")
    return with_controls(  # as api.audit hands it over
        build_audit_report(
            verified,
            inventory(camera, nvr, silent),
            recording=None,
            credentials=True,
            passive=result.traffic.passive,
        )
    )
