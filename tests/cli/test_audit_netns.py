"""End to end: `camaudit audit --duration` on a netns segment of three fake cameras (root).

The scanner sees the segment the way an officer's mirror port does: the bridge's MAC
ageing is 0, so it forgets every address at once and floods each frame to every port,
the scanner's included. A gateway (10.66.0.1) routes nothing out: its forward chain
drops every packet, so a camera that phones home leaves SYNs without an answer.

The spec this test states:
- hik-ipc phones home (TCP SYN loop to 203.0.113.5:443 through the gateway) while
  audit records: that device is `isolated_with_attempts`, with its outbound flow and
  finding as evidence;
- dahua-ipc and axis-ipc only talk locally (ping the scanner): each is `isolated`;
- the overall verdict follows: `isolated_with_attempts`, exit code 1;
- every device keeps the identity fingerprinting found, and the recorded ring files
  are kept as the evidence the report cites;
- while recording, each closed ring file gives one plain progress line (stderr is no
  terminal here: no escape codes) with the packets, flows and findings so far; the
  camera's attempt is a finding in the first file's line, long before the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from camaudit import verify
from camaudit.report.model import from_json, schema
from tests.netns import CAMAUDIT, SEGMENT_DISCOVERY, need_root

pytestmark = pytest.mark.netns

PERSONAS = ("hik-ipc", "dahua-ipc", "axis-ipc")
PHONES_HOME = "hik-ipc"
GATEWAY_V4, GATEWAY_MAC = "10.66.0.1", "02:66:00:00:00:01"
CLOUD = "203.0.113.5"
RECORD_SECONDS = 12
CLOSED = ("10.66.0.0/24", "fd66::/64")
PROGRESS = re.compile(
    rf"^camaudit: recording eth0: (\d+) s of {RECORD_SECONDS} s, (\d+) packets?; "
    r"file (\d+) \((\S+)\) read: (\d+) flows?, (\d+) findings? so far$",
    re.MULTILINE,
)

SYN_LOOP = f"""
import socket, time
while True:
    s = socket.socket()
    s.settimeout(1.0)
    try:
        s.connect(("{CLOUD}", 443))
    except OSError:
        pass
    finally:
        s.close()
    time.sleep(0.5)
"""


def _needs_root() -> None:
    need_root("the netns segment", "ip", "nft", "dumpcap", "ping")


@contextlib.contextmanager
def _gateway(seg: Any) -> Iterator[str]:
    """A router on the segment that drops everything it would route out."""
    from lab.netlab import HOST_SYSCTLS, add_namespace, plug_host, sh

    name = f"gw-{seg.suffix}"
    try:
        add_namespace(name, ["127.0.0.1"], HOST_SYSCTLS | {"net.ipv4.ip_forward": "1"})
        plug_host(name, seg.ns("switch"), "eth0", GATEWAY_MAC, "p-gw", GATEWAY_V4, "fd66::1")
        # "The internet" is a veth leading nowhere (no dummy module on every kernel):
        # routed packets reach the forward hook, where nft drops them, so no ICMP
        # error ever answers a camera.
        sh(["ip", "-n", name, "link", "add", "wan", "type", "veth", "peer", "name", "wan-end"])
        sh(["ip", "-n", name, "addr", "add", "198.51.100.1/24", "dev", "wan"])
        sh(["ip", "-n", name, "link", "set", "wan-end", "up"])
        sh(["ip", "-n", name, "link", "set", "wan", "up"])
        sh(["ip", "-n", name, "route", "add", "default", "via", "198.51.100.2", "dev", "wan"])
        chain = "add chain inet gw forward { type filter hook forward priority 0; policy drop; }"
        sh(["ip", "netns", "exec", name, "nft", "add table inet gw"])
        sh(["ip", "netns", "exec", name, "nft", chain])
        yield name
    finally:
        for pid in sh(["ip", "netns", "pids", name], check=False).split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)  # only processes inside the namespace made here
        sh(["ip", "netns", "del", name], check=False)
        shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Any]:
    _needs_root()
    from lab.segment import Segment

    work = tmp_path_factory.mktemp("audit")
    record_dir = work / "recorded"
    with Segment(list(PERSONAS)) as seg, _gateway(seg):
        # A hub, not a switch: forget every MAC at once, flood every frame to every port.
        seg.ip("switch", "link", "set", "br0", "type", "bridge", "ageing_time", "0")
        for persona in PERSONAS:
            seg.ip(persona, "route", "add", "default", "via", GATEWAY_V4)
        talkers = [seg.popen(PHONES_HOME, [sys.executable, "-c", SYN_LOOP])]
        for persona in PERSONAS:
            if persona != PHONES_HOME:
                argv = ["ping", "-q", "-i", "1", "10.66.0.10"]
                talkers.append(seg.popen(persona, argv, stdout=subprocess.DEVNULL))
        try:
            proc = subprocess.run(
                seg.exec_argv(
                    "scanner",
                    [
                        *CAMAUDIT,
                        "audit",
                        *SEGMENT_DISCOVERY,
                        "--closed-network",
                        "10.66.0.0/24",
                        "--closed-network",
                        "fd66::/64",
                        "--duration",
                        f"{RECORD_SECONDS}s",
                        "--rotate",
                        "5s",
                        "--record-dir",
                        str(record_dir),
                        "--format",
                        "json",
                    ],
                ),
                capture_output=True,
                text=True,
                timeout=300,
            )
        finally:
            for talker in talkers:
                talker.kill()
                talker.wait()
        ips = {p: seg.device_ip(p) for p in PERSONAS}
        expected = {p: seg.device(p).persona.expected for p in PERSONAS}
        macs = {p: seg.device_mac(p) for p in PERSONAS}
    assert proc.returncode in (0, 1, 4), proc.stderr
    report = json.loads(proc.stdout)
    return (
        report,
        proc.stderr,
        {
            "ips": ips,
            "macs": macs,
            "expected": expected,
            "code": proc.returncode,
            "text": proc.stdout,
        },
    )


def _device(report: dict[str, Any], ip: str) -> dict[str, Any]:
    (device,) = [d for d in report["audit"]["devices"] if d["ip"] == ip]
    return device


def test_the_audit_report_follows_the_schema_and_reads_back(audited: Any) -> None:
    report, _err, run = audited
    jsonschema.validate(report, schema())
    assert report["kind"] == "audit"
    assert from_json(run["text"]).kind == "audit"


def test_the_camera_that_phones_home_is_isolated_with_attempts(audited: Any) -> None:
    report, _err, run = audited
    device = _device(report, run["ips"][PHONES_HOME])
    verdict = device["verdict"]
    assert verdict["verdict"] == "isolated_with_attempts", verdict["reasons"]
    flows = [report["outbound"][i] for i in verdict["outbound"]]
    assert any(f["remote"] == CLOUD and f["dport"] == 443 and not f["crossed"] for f in flows)
    rules = {report["findings"][i]["rule"] for i in verdict["findings"]}
    assert rules == {"OUTBOUND-ATTEMPT"}
    assert verdict["evidence"] and all(e["frames"] for e in verdict["evidence"])


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != PHONES_HOME])
def test_cameras_that_only_talk_locally_are_isolated(audited: Any, persona: str) -> None:
    report, _err, run = audited
    device = _device(report, run["ips"][persona])
    assert device["verdict"]["verdict"] == "isolated", device["verdict"]["reasons"]
    assert device["verdict"]["outbound"] == [] and device["verdict"]["findings"] == []


def test_the_overall_verdict_follows_the_worst_device(audited: Any) -> None:
    report, _err, run = audited
    assert report["verdict"] == "isolated_with_attempts"
    assert run["code"] == 1
    assert report["audit"]["summary"]["isolated_with_attempts"] == 1


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_camera_keeps_the_identity_fingerprinting_found(audited: Any, persona: str) -> None:
    report, _err, run = audited
    device, want = _device(report, run["ips"][persona]), run["expected"][persona]
    assert device["sources"] == ["discovery", "traffic"]
    assert device["mac"] == run["macs"][persona]
    ident = device["identity"]
    assert (ident["vendor"], ident["oem_brand"]) == (want.vendor, want.oem_brand)
    if ident["firmware"] is None:  # no credentials: said, never guessed
        assert "firmware unknown: no credentials" in device["not_checked"]


def test_the_recording_is_rotated_files_kept_as_the_evidence(audited: Any) -> None:
    report, err, _run = audited
    recording = report["audit"]["recording"]
    assert recording["tool"] == "dumpcap" and recording["interface"] == "eth0"
    files = [Path(f) for f in recording["files"]]
    assert len(files) >= 2, "a 12 s recording rotated every 5 s makes several files"
    assert all(f.is_file() for f in files)
    assert {i["path"] for i in report["inputs"]} == {str(f) for f in files}
    assert "camaudit: recording eth0:" in err and "packets" in err


def test_each_closed_file_gives_one_plain_line_with_flows_and_findings(audited: Any) -> None:
    report, err, run = audited
    assert "\x1b" not in err and "\x1b" not in run["text"] and "\r" not in err
    files = [Path(f) for f in report["audit"]["recording"]["files"]]
    lines = [tuple(int(g) if g.isdigit() else g for g in m) for m in PROGRESS.findall(err)]
    assert [(n, name) for _s, _p, n, name, _f, _k in lines] == [
        (i, f.name) for i, f in enumerate(files, 1)
    ], err
    # The phoning-home camera's attempt is a finding as soon as the first file closed,
    # while the recording still ran; the numbers are verify's for that file alone.
    seconds, _packets, _n, _name, flows, findings = lines[0]
    assert seconds < RECORD_SECONDS and findings >= 1
    alone = verify([files[0]], closed_network=CLOSED).report
    assert (flows, findings) == (alone.summary.flows, alone.summary.findings)
    assert {f.rule for f in alone.findings} == {"OUTBOUND-ATTEMPT"}
    assert {f.device for f in alone.findings} == {run["ips"][PHONES_HOME]}
    # The last line, after recording, is the tally of the report itself.
    _s, packets, _n, _name, flows, findings = lines[-1]
    summary = report["summary"]
    assert (packets, flows, findings) == (
        summary["packets"],
        summary["flows"],
        summary["findings"],
    )
