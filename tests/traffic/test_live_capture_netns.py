"""`camaudit verify --live`: a stored capture replayed onto a veth inside our own namespace.

tcpreplay puts the frames of pcaps/syn-dropped on one end of a veth pair; camaudit
records the other end with dumpcap and must reach the same verdict. The frames never
leave the namespace this test creates.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.command import CAMAUDIT
from tests.conftest import PCAPS, need_tool
from tests.netns import need_root

pytestmark = pytest.mark.netns


@pytest.fixture
def veth_namespace() -> Iterator[str]:
    need_root("live capture in a namespace", "ip")
    name = f"camlive-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        run = ["ip", "netns", "exec", name]
        subprocess.run(
            [*run, "ip", "link", "add", "rep0", "type", "veth", "peer", "name", "cap0"], check=True
        )
        for link in ("rep0", "cap0", "lo"):
            subprocess.run([*run, "ip", "link", "set", link, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_live_capture_of_replayed_evidence_reaches_the_same_verdict(
    veth_namespace: str, tmp_path: Path
) -> None:
    tcpreplay = need_tool("tcpreplay")
    need_tool("dumpcap")
    saved = tmp_path / "live.pcapng"
    stored = PCAPS / "syn-dropped" / "syn-dropped.pcap"
    run = ["ip", "netns", "exec", veth_namespace]

    def replay() -> None:
        # Replay only once dumpcap is recording: it creates the file when the capture
        # starts, which under load can be well after camaudit itself was started.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (saved.exists() and saved.stat().st_size):
            time.sleep(0.05)
        time.sleep(0.5)
        subprocess.run(
            [*run, tcpreplay, "-q", "-i", "rep0", "--topspeed", str(stored)],
            check=True,
            capture_output=True,
        )

    player = threading.Thread(target=replay)
    player.start()
    done = subprocess.run(
        [
            *run,
            *CAMAUDIT,
            "verify",
            "--live",
            "cap0",
            "--duration",
            "8",
            "--save",
            str(saved),
            "-n",
            "10.66.0.0/24",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    player.join()
    report = json.loads(done.stdout)
    assert done.returncode == 1, done.stderr
    assert report["verdict"] == "isolated_with_attempts"
    assert report["inputs"][0]["path"] == str(saved)
    (flow,) = report["outbound"]
    assert (flow["dport"], flow["state"], flow["packets_out"]) == (8666, "attempted", 3)


def test_live_needs_an_interface_that_exists(veth_namespace: str, tmp_path: Path) -> None:
    need_tool("dumpcap")
    done = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            veth_namespace,
            sys.executable,
            "-m",
            "camaudit",
            "verify",
            "--live",
            "nosuch0",
            "--duration",
            "1",
            "--save",
            str(tmp_path / "x.pcapng"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3
    assert "live capture on nosuch0 failed" in done.stderr
    assert "Traceback" not in done.stderr


def test_files_and_live_together_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "camaudit", "verify", str(tmp_path), "--live", "lo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
