"""Loopback responders that answer discovery probes with recorded or hostile payloads."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from camaudit.discover import Target
from tests.stopping import stopping

Answer = Callable[[bytes], list[bytes]]


@dataclass
class UdpResponder:
    """A UDP server on 127.0.0.1 that answers each datagram with ``answer(probe)``.

    With ``sender``, the answers leave from that (loopback) address instead, as a device
    outside the target answers a multicast probe.
    """

    answer: Answer
    sock: socket.socket = field(init=False)
    received: list[bytes] = field(default_factory=list)
    port: int = 0
    sender: str | None = None

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.speaker = self.sock
        if self.sender is not None:
            self.speaker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.speaker.bind((self.sender, 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append(data)
            for reply in self.answer(data):
                if self._stop.is_set():
                    return
                try:
                    self.speaker.sendto(reply, peer)
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
        self.speaker.close()


@pytest.fixture
def udp_responder() -> Iterator[Callable[[Answer], UdpResponder]]:
    """Start responders; all are closed after the test."""
    with stopping(UdpResponder, UdpResponder.close) as start:
        yield start


def loopback_target(timeout: float = 0.5, **extra: object) -> Target:
    """127.0.0.1 only, no interface (so no multicast), a short wait."""
    return Target(networks=("127.0.0.1/32",), timeout=timeout, **extra)  # type: ignore[arg-type]
