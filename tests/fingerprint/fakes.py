"""The fake devices of the fingerprint tests are lab/devices personas, served on loopback.

A test names a shipped persona, or changes a few fields of one (``variant``); a device
that must answer with crafted bytes (malformed or hostile input) is a persona whose
HTTP port replies verbatim per path (``crafted``). Credentials are the persona's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from camaudit.fingerprint.interface import Credentials
from lab.devices import Persona, load_persona
from lab.devices.persona import persona_from_mapping

HIK = load_persona("hik-ipc")
DAHUA = load_persona("dahua-ipc")


def credentials(persona: Persona, allow_basic: bool = False) -> Credentials:
    """The persona's own user name and password."""
    return Credentials(persona.username, persona.password, allow_basic=allow_basic)


def variant(persona: Persona | str, **changes: Any) -> Persona:
    """``persona`` with some fields changed; a table (``http``, ``rtsp``, ``onvif`` ...)
    given as a mapping is merged into the persona's own."""
    base = load_persona(persona) if isinstance(persona, str) else persona
    merged = {
        name: {**getattr(base, name), **value} if isinstance(value, Mapping) else value
        for name, value in changes.items()
    }
    return dataclasses.replace(base, **merged)


def crafted(routes: Mapping[str, bytes], serve: str = "http", **http: Any) -> Persona:
    """A device whose one port (``http``) answers each path with the whole reply given;
    any other path gets a 404. ``serve`` picks the port's behaviour (``https`` ...)."""
    return persona_from_mapping(
        {
            "name": "crafted",
            "kind": "other",
            "manufacturer": "",
            "model": "",
            "serial": "CRAFTED1",
            "mac": "02:66:00:00:00:99",
            "ports": [{"name": "http", "port": 0, "serve": serve}],
            "http": {"endpoints": [], **http, "routes": dict(routes)},
            "expected": {},
        }
    )


def behaving(serve: str) -> Persona:
    """A device whose one port (``http``) does ``serve`` (``silent``, ``trickle`` ...)."""
    return crafted({}, serve)
