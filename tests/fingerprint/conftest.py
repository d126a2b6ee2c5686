"""Fixtures for the fingerprint tests: loopback device servers, torn down after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.fingerprint.servers import Behaviour, DeviceServer


@pytest.fixture
def serve() -> Iterator[Callable[[Behaviour], DeviceServer]]:
    """Start a device server on 127.0.0.1 for the test; every one is closed afterwards."""
    started: list[DeviceServer] = []

    def start(behaviour: Behaviour) -> DeviceServer:
        server = DeviceServer(behaviour)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
