"""Integration: `camaudit discover` identifies devices while discovery still runs, and
nmap's version detection asks only the ports camaudit's own probes do not (root).

One CLI run from the scanner namespace of a netns segment, its stderr on a
pseudo-terminal (the progress display is for people at a terminal). hik-ipc holds its
SDK port 8000 open and silent and dahua-ipc its DVRIP port 37777, so nmap's version
detection of those ports waits out nmap's own probe timers: the devices' identities must
be on screen before nmap ends. The oracle for "before": the line's arrival, counted from
the progress bar's first appearance, is under the nmap method's own duration in the
report, and nmap started after the bar appeared.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.command import read_terminal
from tests.conftest import need_tool

pytestmark = pytest.mark.netns

PERSONAS = ("hik-ipc", "dahua-ipc", "printer")
#: The ports camaudit's HTTP/HTTPS/RTSP/ONVIF probes ask these devices (profiles/ports.toml).
PROBED = {80, 443, 554}
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class Run:
    report: dict[str, Any]
    lines: dict[str, tuple[float, str]]  # ip -> (seconds after start, the line)
    ips: dict[str, str]

    def attempt(self, method: str) -> dict[str, Any]:
        attempts = self.report["inventory"]["attempts"]
        return next(a for a in attempts if a["method"] == method)

    def device(self, persona: str) -> dict[str, Any]:
        devices = self.report["inventory"]["devices"]
        return next(d for d in devices if d["ip"] == self.ips[persona])


def identified_lines(chunks: list[tuple[float, bytes]]) -> dict[str, tuple[float, str]]:
    """The first ``identified <ip>: ...`` line per address and when it arrived, counted from
    the first output (the progress bar appears before the scan, so before nmap, starts)."""
    found: dict[str, tuple[float, str]] = {}
    text = b""
    origin = chunks[0][0] if chunks else 0.0
    for arrived, data in chunks:
        at = arrived - origin
        text += data
        for raw in ANSI.sub(b"", text).replace(b"\r", b"\n").split(b"\n"):
            match = re.match(rb"identified ([0-9.]+): (.*)", raw.strip())
            if match and match.group(1).decode() not in found:
                found[match.group(1).decode()] = (at, raw.strip().decode(errors="replace"))
    return found


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    if os.geteuid() != 0:
        pytest.skip("needs root for ip netns")
    need_tool("ip")
    need_tool("nmap")
    from lab.segment import INTERFACE, SEGMENT_V4, Segment

    repo = str(Path(__file__).resolve().parents[2])
    with Segment(list(PERSONAS)) as seg, tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "inventory.json"
        argv = [
            *("env", f"PYTHONPATH={repo}", "COLUMNS=160", sys.executable, "-m", "camaudit"),
            *("discover", "--interface", INTERFACE, "--target", SEGMENT_V4, "--timeout", "2"),
            *("-f", "json", "--output", str(report)),
        ]
        master, slave = os.openpty()
        started = time.monotonic()
        process = subprocess.Popen(
            seg.exec_argv("scanner", argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=slave,
        )
        os.close(slave)
        try:
            chunks = read_terminal(master, process, started)
            assert process.wait(timeout=240) == 0
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            os.close(master)
        yield Run(
            json.loads(report.read_text()),
            identified_lines(chunks),
            {name: seg.device_ip(name) for name in PERSONAS},
        )


def test_the_progress_names_each_camera_while_nmap_is_still_running(run: Run) -> None:
    nmap_seconds = run.attempt("nmap")["duration"]
    for persona, vendor in (("hik-ipc", "hikvision"), ("dahua-ipc", "dahua")):
        at, line = run.lines[run.ips[persona]]
        assert vendor in line, line
        assert at < nmap_seconds, (persona, at, nmap_seconds, line)
        print(persona, f"named after {at:.1f} s, nmap ran {nmap_seconds:.1f} s: {line}")
        assert run.device(persona)["identity"]["vendor"] == vendor


def test_every_probed_device_is_named_once_on_the_terminal(run: Run) -> None:
    assert set(run.lines) == {d["ip"] for d in run.report["inventory"]["devices"] if d["probes"]}


def test_ports_the_probes_ask_are_not_passed_to_nmap_version_detection(run: Run) -> None:
    commands = run.attempt("nmap")["commands"]
    versioned = [c.split() for c in commands if "-sV" in c.split()]
    assert versioned, commands
    asked: dict[str, set[int]] = {}
    for words in versioned:
        ports = {int(p) for p in words[words.index("-p") + 1].split(",")}
        assert not ports & PROBED, words
        for host in words[words.index("-sV") :]:
            if re.fullmatch(r"[0-9.]+", host):
                asked.setdefault(host, set()).update(ports)

    # hosts share a run (-p 8000,37777): each is version-scanned on its own open ports
    # of the run's list only, the ones no probe asks
    def open_ports(persona: str) -> set[int]:
        return {int(p.split("/")[0]) for p in run.device(persona)["open_ports"]}

    assert asked[run.ips["hik-ipc"]] & open_ports("hik-ipc") == {8000}
    assert asked[run.ips["dahua-ipc"]] & open_ports("dahua-ipc") == {37777}
    # the printer's only open camera port is its web page, which the HTTP probe asks:
    # reported open, named by nmap's guess from the port number
    assert run.ips["printer"] not in asked
    assert run.device("printer")["open_ports"] == ["80/tcp http?"]
    assert any(p["probe"] == "http:80" for p in run.device("printer")["probes"])


def test_the_port_scan_still_covers_every_camera_port(run: Run) -> None:
    from camaudit.knowledge import load_knowledge

    (scan,) = [c.split() for c in run.attempt("nmap")["commands"] if "-sV" not in c.split()]
    ports = {int(p) for p in scan[scan.index("-p") + 1].split(",")}
    assert ports == set(load_knowledge().camera_ports)
