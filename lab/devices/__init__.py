"""Fake Hikvision / Dahua / OEM / hostile devices for camaudit's discover and fingerprint tests.

Public API (pinned by ``tests/lab/test_devices.py``)::

    from lab.devices import start_device, DeviceProcess, load_persona, all_personas

    with start_device("hik-ipc") as dev:            # 127.0.0.1, ephemeral ports
        http_port = dev.ports["http"]

See ``lab/devices/README.md`` for the personas and what a correct scan must report.
"""

from lab.devices.persona import (
    Expected,
    Persona,
    PersonaError,
    Port,
    all_personas,
    load_persona,
    persona_names,
)
from lab.devices.runtime import DeviceProcess, RunningDevice, ephemeral_ports, start_device

__all__ = [
    "DeviceProcess",
    "Expected",
    "Persona",
    "PersonaError",
    "Port",
    "RunningDevice",
    "all_personas",
    "ephemeral_ports",
    "load_persona",
    "persona_names",
    "start_device",
]
