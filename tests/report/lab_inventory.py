"""Inventories of the lab's fake cameras (lab/devices), fingerprinted on loopback.

Each persona is served on its own loopback address (127.0.0.2, 127.0.0.3 ...) with the
same HTTP and RTSP port numbers, so that one ``identify`` call fingerprints them all as
``camaudit fingerprint`` would a segment. They share one lab password (set here) because
a run takes one set of credentials. Loopback has no MAC: a test that needs the MAC that
discovery's ARP sweep reads adds the persona's own (:func:`with_persona_macs`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import ExitStack

from camaudit.api import identify
from camaudit.fingerprint.interface import Credentials
from camaudit.report.compliance import with_controls
from camaudit.report.model import InventoryReport
from lab.devices import start_device
from lab.devices.persona import Persona, load_persona

PASSWORD = "lab-Shared-2026"
CLOSED = ("10.66.0.0/24",)


def lab_inventory(
    personas: Sequence[str], credentials: bool = True
) -> tuple[InventoryReport, dict[str, Persona]]:
    """Fingerprint ``personas`` (one loopback address each); the report and who is where."""
    where: dict[str, Persona] = {}
    with ExitStack() as stack:
        shared: dict[str, int] = {}
        for number, name in enumerate(personas, start=2):
            persona = dataclasses.replace(load_persona(name), password=PASSWORD)
            address = f"127.0.0.{number}"
            ports = {p.name: shared.get(p.name, 0) for p in persona.ports}
            device = stack.enter_context(start_device(persona, bind=address, ports=ports))
            for service in ("http", "rtsp"):
                shared.setdefault(service, device.ports[service])
            where[address] = persona
        login = Credentials(persona.username, PASSWORD) if credentials else None
        probe_ports = {"http": shared["http"], "rtsp": shared["rtsp"], "onvif": shared["http"]}
        result = identify(list(where), probe_ports, login, 3.0, CLOSED)
    return result.report, where


def with_persona_macs(report: InventoryReport, where: dict[str, Persona]) -> InventoryReport:
    """The report as discovery would give it: each device with its persona's MAC."""
    devices = tuple(
        dataclasses.replace(d, mac=where[d.ip].mac.lower()) if d.ip in where else d
        for d in report.inventory.devices
    )
    inventory = dataclasses.replace(report.inventory, devices=devices)
    return with_controls(dataclasses.replace(report, inventory=inventory))
