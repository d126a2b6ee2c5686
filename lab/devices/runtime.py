"""Start and stop fake devices: in this process (a loop thread) or as a subprocess.

In-process is what unit tests want (no fork, ports known at once); a
subprocess is what the netns segment wants (``ip netns exec`` puts it in the
device's namespace) and what a test uses when the device must not share a
GIL with the code under test (the trickle and endless personas).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lab.devices.persona import Persona, load_persona
from lab.devices.servers import Device, Request
from lab.netlab import Lifecycle, wait_for_line  # the race-free wait for READY

REPO = Path(__file__).resolve().parents[2]


class RunningDevice(Lifecycle):
    """A persona served from a background thread of this process."""

    def __init__(
        self,
        persona: Persona,
        bind: str,
        ports: Mapping[str, int] | None,
        multicast: bool,
        gateway: str,
    ) -> None:
        self.persona = persona
        self.bind = bind
        self.device = Device(persona, bind, dict(ports or {}), multicast=multicast, gateway=gateway)
        self.ports: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name=f"device-{persona.name}"
        )

    @property
    def requests(self) -> list[Request]:
        """Every HTTP/RTSP request the device has read so far, in order."""
        return self.device.requests

    @property
    def certificates(self) -> dict[str, str]:
        """SHA-256 of the certificate of each ``https`` port."""
        return self.device.certificates

    def start(self) -> RunningDevice:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self.device.start(), self._loop)
        try:
            self.ports = future.result(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    def up(self) -> None:
        """Nothing: ``start_device`` has started it, ``with`` only stops it."""

    def down(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close every socket and end the loop thread (idempotent)."""
        if self._loop.is_closed():
            return
        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(self.device.stop(), self._loop)
            try:
                future.result(timeout=10)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        self._loop.close()


def ephemeral_ports(persona: Persona) -> dict[str, int]:
    """Port 0 (any free port) for every service: for tests on 127.0.0.1 without root."""
    return {p.name: 0 for p in persona.ports}


def start_device(
    persona: Persona | str,
    bind: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    *,
    multicast: bool = False,
    gateway: str = "0.0.0.0",
) -> RunningDevice:
    """Serve a persona in-process and return once every port is bound.

    ``ports`` maps service names to numbers; by default on loopback every
    port is ephemeral (read the real ones from ``.ports``), elsewhere the
    persona's own (80, 554, 37020 ...).
    """
    p, ports = _persona_and_ports(persona, bind, ports)
    return RunningDevice(p, bind, ports, multicast, gateway).start()


def _persona_and_ports(
    persona: Persona | str, bind: str, ports: Mapping[str, int] | None
) -> tuple[Persona, Mapping[str, int] | None]:
    """The persona (loaded by name) and its ports: on loopback any free ones by default."""
    p = load_persona(persona) if isinstance(persona, str) else persona
    if ports is None and bind.startswith(("127.", "::1")):
        ports = ephemeral_ports(p)
    return p, ports


class DeviceProcess(Lifecycle):
    """A persona served by ``python -m lab.devices.serve`` in a child process."""

    def __init__(
        self, proc: subprocess.Popen[bytes], ports: dict[str, int], persona: Persona
    ) -> None:
        self.proc, self.ports, self.persona = proc, ports, persona

    @classmethod
    def start(
        cls, persona: Persona | str, *args: Any, timeout: float = 20, **options: Any
    ) -> DeviceProcess:
        """``spawn`` (same arguments) and wait for READY."""
        return cls.spawn(persona, *args, **options).wait_ready(timeout)

    @classmethod
    def spawn(
        cls,
        persona: Persona | str,
        bind: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        *,
        multicast: bool = False,
        gateway: str = "0.0.0.0",
        prefix: Sequence[str] = (),
        persona_file: Path | None = None,
    ) -> DeviceProcess:
        """Spawn the runner (behind ``prefix``, e.g. ``ip netns exec NS``) without waiting:
        start many, then ``wait_ready`` each (parallel start)."""
        p, ports = _persona_and_ports(persona, bind, ports)
        argv = [
            *prefix,
            sys.executable,
            "-m",
            "lab.devices.serve",
            "--bind",
            bind,
            "--gateway",
            gateway,
        ]
        argv += ["--persona", str(persona_file)] if persona_file else ["--persona", p.name]
        for name, number in (ports or {}).items():
            argv += ["--port", f"{name}={number}"]
        if multicast:
            argv.append("--multicast")
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO
        )
        return cls(proc, {}, p)

    def wait_ready(self, timeout: float = 20) -> DeviceProcess:
        """Block until the child printed ``READY``; fill ``ports`` from it."""
        line = _ready_line(self.proc, timeout)
        self.ports = json.loads(line.split(" ", 1)[1])
        return self

    def up(self) -> None:
        """Nothing: ``start``/``spawn`` started it, ``with`` only stops it."""

    def down(self) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s (idempotent)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()


def _ready_line(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The child's ``READY {ports}`` line; kill it and raise with its stderr otherwise."""
    try:
        seen = wait_for_line(proc, "stdout", "READY", timeout)
        while "\n" not in seen[seen.index("READY") :]:
            seen += wait_for_line(proc, "stdout", "\n", timeout)
    except RuntimeError as exc:
        proc.kill()
        _, err = proc.communicate()
        raise RuntimeError(f"{exc}; stderr: {err.decode(errors='replace')[-2000:]}") from None
    return seen[seen.index("READY") :].split("\n", 1)[0]
