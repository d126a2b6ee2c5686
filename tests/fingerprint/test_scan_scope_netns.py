"""On a netns segment: a camera outside ``--target`` that answers the multicast probe is
reported with its evidence and never probed, credentials or not (issue 9, item 1; root)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from camaudit.report.model import schema
from tests.netns import need_root

pytestmark = pytest.mark.netns


def test_a_camera_outside_the_target_answering_multicast_is_reported_and_never_probed(
    tmp_path: Path,
) -> None:
    need_root("the netns segment", "ip", "tcpdump")
    from lab.segment import Segment

    capture = tmp_path / "to-outsider.pcap"
    with Segment(["hik-ipc", "dahua-ipc"]) as seg:
        named, outsider = seg.device_ip("hik-ipc"), seg.device_ip("dahua-ipc")
        sniffer = seg.popen(
            "scanner",
            [
                "tcpdump",
                "-i",
                "eth0",
                "-n",
                "-U",
                "-w",
                str(capture),
                f"tcp and dst host {outsider}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # tcpdump attaches before the scan starts
        out = seg.run(
            "scanner",
            [
                "env",
                "CAMAUDIT_USERNAME=admin",
                "CAMAUDIT_PASSWORD=never-to-the-outsider",
                f"CAMAUDIT_KNOWN_HOSTS={tmp_path / 'known_hosts'}",
                sys.executable,
                "-m",
                "camaudit",
                "discover",
                "--interface",
                "eth0",
                "--target",
                f"{named}/32",
                "--methods",
                "wsdiscovery,dhip",
                "--timeout",
                "2",
                "--format",
                "json",
            ],
            timeout=120,
        )
        time.sleep(0.5)
        sniffer.terminate()
        sniffer.wait(5)
    report = json.loads(out)
    jsonschema.validate(report, schema())
    inventory = report["inventory"]
    (outside,) = inventory["outside_target"]
    assert outside["ip"] == outsider
    assert {e["method"] for e in outside["evidence"]} >= {"dhip"}
    assert all(e["sender"] == outsider for e in outside["evidence"])
    devices = {d["ip"]: d for d in inventory["devices"]}
    assert devices[outsider]["probes"] == [] and devices[outsider]["outside_target"] is True
    assert devices[named]["probes"], "the named camera is still fingerprinted"
    packets = subprocess.run(
        ["tcpdump", "-r", str(capture), "-n"], capture_output=True, text=True, check=False
    ).stdout
    assert packets.strip() == "", f"TCP sent to the outsider:\n{packets}"
