"""camaudit never phones home: every command, run in the lab's NVR namespace whose only
link (eth0) is captured, sends packets to no address but the one the user named.

No DNS, no update check, no telemetry, no NTP: the NVR's default route and resolvers
(the lab gateway) would carry any of them, so the capture would show them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.devices import load_persona
from lab.devices.runtime import DeviceProcess
from lab.netlab import HOSTS, Lab
from tests.conftest import ROOT, need_tool

pytestmark = pytest.mark.netns

CAMERA = HOSTS["cam1"].v4
NVR_MAC = HOSTS["nvr"].mac
# The kernel's own IPv6 neighbour discovery and multicast listener reports: not camaudit's.
KERNEL_ICMPV6 = "icmpv6.type in {133, 134, 135, 136, 143}"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the netns lab needs root")
        pytest.skip("the netns lab needs root")
    for tool in ("ip", "tcpdump", "tshark", "nmap"):
        need_tool(tool)
    with Lab() as built:
        yield built


def _camaudit(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    argv = lab.exec_argv("nvr", [sys.executable, "-m", "camaudit", *args])
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def _sent(pcap: Path) -> list[str]:
    """``destination protocol`` of every IP packet the NVR sent, ARP and kernel ICMPv6 aside."""
    fields = ["-e", "ip.dst", "-e", "ipv6.dst", "-e", "frame.protocols", "-e", "frame.number"]
    shown = f"eth.src == {NVR_MAC} && (ip || ipv6) && !({KERNEL_ICMPV6})"
    out = subprocess.run(
        ["tshark", "-n", "-r", str(pcap), "-Y", shown, "-T", "fields", *fields],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return [" ".join(line.split()) for line in out.splitlines() if line.strip()]


def test_every_command_sends_packets_only_to_the_address_the_user_named(
    lab: Lab, tmp_path: Path
) -> None:
    capture = tmp_path / "quiet.pcap"
    shutil.copyfile(ROOT / "pcaps" / "dns-nxdomain" / "dns-nxdomain.pcap", capture)
    pack, report = tmp_path / "pack", tmp_path / "r.json"
    persona = load_persona("hik-ipc")
    ports = {p.name: p.port for p in persona.ports if p.proto == "tcp"}
    link = tmp_path / "nvr-eth0.pcap"
    commands = [
        ["verify", str(capture), "-f", "json", "-o", str(report), "--evidence", str(pack)],
        ["report", str(report), "-f", "html", "-o", str(tmp_path / "r.html")],
        ["baseline", str(capture), "-n", "10.66.0.0/24", "-o", str(tmp_path / "policy.toml")],
        ["check-evidence", str(pack)],
        ["fingerprint", CAMERA, "--timeout", "3", "-f", "json"],
        ["discover", "--target", f"{CAMERA}/32", "--methods", "nmap", "--timeout", "3"],
    ]
    prefix = lab.exec_argv("cam1", [])
    with (
        DeviceProcess.start(persona, CAMERA, ports, prefix=prefix),
        lab.capture("nvr", "eth0", link),
    ):
        done = {args[0]: _camaudit(lab, *args) for args in commands}
    for name, proc in done.items():
        assert "Traceback" not in proc.stderr and proc.returncode in (0, 1), (name, proc.stderr)
    assert "hikvision" in done["fingerprint"].stdout  # the device was really reached
    sent = _sent(link)
    assert sent, "the capture saw nothing: it did not watch the NVR's link"
    strays = [line for line in sent if line.split()[0] != CAMERA]
    assert strays == [], f"packets to addresses nobody named: {strays[:10]}"
