"""A camera segment for discovery: scanner + fake devices on one bridge, in netns.

Why a second lab next to ``lab/netlab.py``: discovery needs many hosts with
vendor MACs on one layer-2 segment and working multicast, not a gateway and
an "internet".  It reuses netlab's helpers (``sh``, ``wait_for_line``,
sysctls) and its address plan::

    scanner  10.66.0.10  fd66::10  (camaudit runs here; eth0)
    device i 10.66.0.(21+i)  fd66::(21+i)   MAC = the persona's (Hikvision/Dahua OUIs)
             all on bridge br0 in namespace "switch" (STP off, multicast snooping off)

Every namespace is ``<role>-<suffix>`` with a per-run suffix, has its own
``/etc/netns/<name>/resolv.conf`` (pointing at its own loopback: there is no
DNS on a closed segment), and is removed in ``down()``, which ``__exit__``
always calls.  No namespace has a default route; ``224.0.0.0/4 dev eth0`` is
added so multicast probes (WS-Discovery/SADP 239.255.255.250, DHIP
239.255.255.251) leave through the segment.

    with Segment(["hik-ipc", "dahua-ipc"]) as seg:
        seg.run("scanner", ["python", "-m", "camaudit", "discover", "--interface", "eth0",
                            "--target", "10.66.0.0/24"])
        seg.device_ip("hik-ipc")   # "10.66.0.21"

    with Segment.crowd(40) as seg: ...   # 40 devices cycling through the camera personas
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.devices.persona import Persona, all_personas, load_persona
from lab.devices.runtime import DeviceProcess
from lab.netlab import (
    HOST_SYSCTLS,
    SWITCH_SYSCTLS,
    Namespaces,
    add_bridge,
    add_namespace,
    plug_host,
    sh,
)

SEGMENT_V4 = "10.66.0.0/24"
SEGMENT_V6 = "fd66::/64"
SCANNER_V4, SCANNER_V6 = "10.66.0.10", "fd66::10"
SCANNER_MAC = "02:66:00:00:00:10"
FIRST_DEVICE = 21
INTERFACE = "eth0"  # every host's segment interface, scanner included
MULTICAST_ROUTE = "224.0.0.0/4"


@dataclass(frozen=True)
class SegmentDevice:
    """One device on the segment."""

    persona: Persona
    role: str  # namespace role (== persona name)
    v4: str
    v6: str
    port: str  # its bridge port in the switch namespace


class Segment(Namespaces):
    """Builds switch + scanner + one namespace per persona; always torn down on exit."""

    run_timeout = 60

    def __init__(
        self,
        personas: Sequence[str | Persona] = (),
        *,
        suffix: str | None = None,
        serve: bool = True,
        start_timeout: float = 60,
    ) -> None:
        self.suffix = suffix or secrets.token_hex(3)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"segment-{self.suffix}-"))
        loaded = [load_persona(p) if isinstance(p, str) else p for p in personas]
        if len(loaded) > 254 - FIRST_DEVICE:
            raise ValueError(
                f"a /24 holds at most {254 - FIRST_DEVICE} devices from .{FIRST_DEVICE}"
            )
        names = [p.name for p in loaded]
        if len(set(names)) != len(names):
            raise ValueError(f"persona names must be unique on a segment: {names}")
        self.devices: dict[str, SegmentDevice] = {}
        for i, persona in enumerate(loaded):
            host = FIRST_DEVICE + i
            self.devices[persona.name] = SegmentDevice(
                persona, persona.name, f"10.66.0.{host}", f"fd66::{host}", f"d{host}"
            )
        self.serve = serve
        self.start_timeout = start_timeout
        self.processes: dict[str, DeviceProcess] = {}
        self.created: list[str] = []
        self.timings: dict[str, float] = {}

    @classmethod
    def crowd(
        cls, n: int, personas: Sequence[str | Persona] | None = None, **kwargs: object
    ) -> Segment:
        """``n`` devices cycling through ``personas`` (default: every non-hostile persona).

        Each is a clone with its own name, MAC (same OUI) and serial, for the
        discovery benchmark.
        """
        base = (
            [load_persona(p) if isinstance(p, str) else p for p in personas]
            if personas
            else [p for p in all_personas() if p.kind != "hostile"]
        )
        clones = [base[i % len(base)].clone(i) for i in range(n)]
        return cls(clones, **kwargs)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- lifecycle

    def ns(self, role: str) -> str:
        """Namespace of ``switch``, ``scanner`` or a device (persona name)."""
        if role not in ("switch", "scanner") and role not in self.devices:
            raise ValueError(f"no role {role!r} on this segment")
        return f"{role}-{self.suffix}"

    def up(self) -> None:
        """Namespaces, bridge, veths with persona MACs, addresses, then the device servers."""
        t0 = time.monotonic()
        self._add_netns("switch")
        add_bridge(self.ns("switch"))
        self._plug("scanner", SCANNER_MAC, SCANNER_V4, SCANNER_V6, "p-scanner")
        for dev in self.devices.values():
            self._plug(dev.role, dev.persona.mac, dev.v4, dev.v6, dev.port)
        self.timings["network"] = time.monotonic() - t0
        if self.serve:
            t1 = time.monotonic()
            self._start_devices()
            self.timings["devices"] = time.monotonic() - t1

    def down(self) -> None:
        """Stop device servers, kill what remains in our namespaces, delete them."""
        for proc in self.processes.values():
            proc.stop()
        self.processes.clear()
        for name in reversed(self.created):
            for pid in sh(["ip", "netns", "pids", name], check=False).split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)  # only processes inside our own namespaces
            sh(["ip", "netns", "del", name], check=False)
            shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
        self.created.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ---------------------------------------------------------------- building

    def _add_netns(self, role: str) -> None:
        name = f"{role}-{self.suffix}"
        # a closed segment has no resolver: point at our own loopback so nothing leaks
        self.created.append(name)  # first: down() removes it even if set-up fails half-way
        add_namespace(name, ["127.0.0.1"], SWITCH_SYSCTLS if role == "switch" else HOST_SYSCTLS)

    def _plug(self, role: str, mac: str, v4: str, v6: str, port: str) -> None:
        self._ensure_netns(role)
        plug_host(self.ns(role), self.ns("switch"), INTERFACE, mac.lower(), port, v4, v6)
        self.ip(role, "route", "add", MULTICAST_ROUTE, "dev", INTERFACE)

    def _ensure_netns(self, role: str) -> None:
        """Create a host namespace (idempotent per role)."""
        if f"{role}-{self.suffix}" not in self.created:
            self._add_netns(role)

    def _start_devices(self) -> None:
        pending: list[tuple[str, DeviceProcess]] = []
        for dev in self.devices.values():
            persona_file = self.workdir / f"{dev.role}.json"
            persona_file.write_text(dev.persona.to_json())
            proc = DeviceProcess.spawn(
                dev.persona,
                dev.v4,
                None,
                multicast=True,
                persona_file=persona_file,
                prefix=["ip", "netns", "exec", self.ns(dev.role)],
            )
            self.processes[dev.role] = proc
            pending.append((dev.role, proc))
        deadline = time.monotonic() + self.start_timeout
        for _role, proc in pending:
            proc.wait_ready(max(1.0, deadline - time.monotonic()))

    # ---------------------------------------------------------------- queries and commands

    def device(self, name: str) -> SegmentDevice:
        """The device played by persona ``name``."""
        return self.devices[name]

    def device_ip(self, name: str) -> str:
        """IPv4 address of the device played by persona ``name``."""
        return self.devices[name].v4

    def device_mac(self, name: str) -> str:
        """MAC (lower-case) the device's eth0 carries."""
        return self.devices[name].persona.mac.lower()

    def popen(self, role: str, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a background command in a namespace (killed in ``down()`` with the namespace)."""
        return subprocess.Popen(self.exec_argv(role, argv), **kwargs)  # type: ignore[call-overload, no-any-return]

    def python(self, role: str, code: str, *, timeout: float = 60) -> str:
        """Run Python code in a namespace with the repository importable."""
        repo = str(Path(__file__).resolve().parents[1])
        return self.run(
            role, ["env", f"PYTHONPATH={repo}", sys.executable, "-c", code], timeout=timeout
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m lab.segment PERSONA...``: bring a segment up, print its plan, wait for Ctrl-C."""
    names = sys.argv[1:] if argv is None else argv
    with Segment(names or [p.name for p in all_personas()]) as seg:
        print(f"segment {seg.suffix}: scanner {seg.ns('scanner')} {SCANNER_V4}")
        for dev in seg.devices.values():
            print(
                f"  {dev.v4:<12} {dev.persona.mac.lower()}  {seg.ns(dev.role)}  "
                f"{dev.persona.summary}"
            )
        print(f"timings: {seg.timings}; Ctrl-C tears it down", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
