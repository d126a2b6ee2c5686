"""Fixtures for the fake-device tests: a persona served on 127.0.0.1 with ephemeral ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.devices import RunningDevice, start_device


@pytest.fixture(scope="module")
def device(request: pytest.FixtureRequest) -> Iterator[RunningDevice]:
    """The persona named by indirect parametrisation, served in-process."""
    with start_device(request.param) as dev:
        yield dev
