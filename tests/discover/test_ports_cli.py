"""`camaudit discover --ports` reaches the service scan (the real CLI driving the real nmap)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from camaudit.knowledge import load_knowledge
from tests.conftest import need_tool

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A TCP port on 127.0.0.1, outside the default camera ports, that accepts and closes."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = int(server.getsockname()[1])
    assert port not in load_knowledge().camera_ports

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


def discover_json(*arguments: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "camaudit", "discover", *arguments, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_the_ports_given_on_the_command_line_are_the_ports_nmap_scans(listening_port: int) -> None:
    need_tool("nmap")
    report = discover_json(
        "--target",
        "127.0.0.1/32",
        "--methods",
        "nmap",
        "--ports",
        str(listening_port),
        "--timeout",
        "2",
        "--no-fingerprint",
    )
    (device,) = report["inventory"]["devices"]  # type: ignore[index]
    assert device["ip"] == "127.0.0.1"
    assert [p.split()[0] for p in device["open_ports"]] == [f"{listening_port}/tcp"]


def test_bad_ports_are_a_usage_error_before_anything_is_sent() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "camaudit", "discover", "-t", "127.0.0.1/32", "--ports", "80,x"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--ports" in done.stderr
