"""Fixtures for the fingerprint tests: lab/devices personas on loopback, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from lab.devices import Persona, RunningDevice, start_device
from tests.stopping import stopping


@pytest.fixture
def device() -> Iterator[Callable[[Persona | str], RunningDevice]]:
    """Serve a persona on 127.0.0.1 (every port ephemeral) for the test."""
    with stopping(start_device, RunningDevice.stop) as start:
        yield start
