"""discover(): every method an attempt, bounded concurrency, the budget respected."""

from __future__ import annotations

import socket
import time

import pytest

from camaudit.api import scan
from camaudit.attempt import Attempter, AttemptStatus
from camaudit.discover import MethodAttempt, Sighting, Target, discover, registry
from camaudit.discover.interface import DiscoveryMethod
from camaudit.discover.sadp import SadpInquiry
from camaudit.fingerprint.interface import Credentials
from camaudit.fingerprint.registry import PROBES, get_probe
from camaudit.knowledge import load_knowledge
from camaudit.report.model import to_dict
from lab.devices import replies
from lab.devices.persona import load_persona
from lab.devices.runtime import start_device
from tests.discover.conftest import Answer, UdpResponder


class Sleeper(DiscoveryMethod):
    name = "sleeper"

    def __init__(self, allow_public: bool = False) -> None:
        self.allow_public = allow_public

    def run(self, target: Target) -> MethodAttempt:
        time.sleep(3)
        return MethodAttempt(self.name, AttemptStatus.COMPLETED)


class Broken(DiscoveryMethod):
    name = "broken"

    def __init__(self, allow_public: bool = False) -> None:
        pass

    def run(self, target: Target) -> MethodAttempt:
        raise RuntimeError("contract\x1b[2J broken")


class Seer(DiscoveryMethod):
    name = "seer"

    def __init__(self, allow_public: bool = False) -> None:
        pass

    def run(self, target: Target) -> MethodAttempt:
        return MethodAttempt(
            self.name, AttemptStatus.COMPLETED, (Sighting("seer", "127.0.0.1", None),)
        )


@pytest.fixture
def extra_methods(monkeypatch: pytest.MonkeyPatch) -> None:
    methods = dict(registry.METHODS)
    methods.update({"sleeper": Sleeper, "broken": Broken, "seer": Seer})  # type: ignore[dict-item]
    monkeypatch.setattr(registry, "METHODS", methods)


LOOPBACK = Target(networks=("127.0.0.1/32",), timeout=0.5, budget=1.0)


def test_every_discovery_method_and_probe_is_an_attempter_under_its_registry_name() -> None:
    """One attempt contract for both stages: a name, and run(target) -> attempt."""
    knowledge = load_knowledge()
    registered = {name: registry.create(name) for name in registry.METHODS}
    registered |= {name: get_probe(name, knowledge) for name in PROBES}
    for name, attempter in registered.items():
        assert isinstance(attempter, Attempter)
        assert attempter.name == name


@pytest.mark.usefixtures("extra_methods")
def test_a_method_still_running_at_the_budget_is_reported_timed_out() -> None:
    started = time.monotonic()
    inventory = discover(LOOPBACK, methods=["sleeper", "seer"])
    assert time.monotonic() - started < 2.0
    statuses = {a.method: a.status for a in inventory.attempts}
    assert statuses == {"sleeper": "timed_out", "seer": "completed"}
    assert [d.ip for d in inventory.devices] == ["127.0.0.1"]


@pytest.mark.usefixtures("extra_methods")
def test_a_method_not_started_before_the_budget_is_not_scheduled() -> None:
    inventory = discover(LOOPBACK, methods=["sleeper", "seer"], max_workers=1)
    assert [(a.method, a.status) for a in inventory.attempts] == [
        ("sleeper", "timed_out"),
        ("seer", "not_scheduled"),
    ]


@pytest.mark.usefixtures("extra_methods")
def test_a_method_that_raises_becomes_a_sanitised_error_attempt() -> None:
    (attempt,) = discover(LOOPBACK, methods=["broken"]).attempts
    assert attempt.status == "error"
    assert attempt.error == "contract\\x1b[2J broken"


@pytest.mark.usefixtures("extra_methods")
def test_progress_is_reported_as_methods_end() -> None:
    calls: list[tuple[str, int, int]] = []
    discover(LOOPBACK, methods=["seer", "broken"], progress=lambda *c: calls.append(c))
    assert calls[0] == ("", 0, 2)
    assert [done for _, done, _ in calls[1:]] == [1, 2]
    assert {name for name, _, _ in calls[1:]} == {"seer", "broken"}


def test_discover_finds_a_fake_hikvision_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_device("hik-ipc") as device:
        port = device.ports["sadp"]

        class LoopbackSadp(SadpInquiry):
            def __init__(self, allow_public: bool = False) -> None:
                super().__init__(allow_public, port=port)

        monkeypatch.setitem(registry.METHODS, "sadp", LoopbackSadp)
        inventory = discover(LOOPBACK, methods=["sadp"])
    (found,) = inventory.devices
    assert (found.ip, found.mac, found.oui_vendor) == (
        "127.0.0.1",
        "44:19:b6:3a:21:01",
        "hikvision",
    )
    assert found.methods == ("sadp",)
    assert inventory.duration < LOOPBACK.budget + 0.5


def outsider_sadp(sender: str, http_port: int) -> Answer:
    """The hik-ipc persona's SADP answer as a device with address ``sender`` gives it."""
    persona = load_persona("hik-ipc")

    def answer(data: bytes) -> list[bytes]:
        probe = replies.sadp_parse_probe(data)
        if probe is None:
            return []
        return [
            replies.sadp_probe_match(
                persona,
                *probe,
                ip=sender,
                mask="255.0.0.0",
                gateway="127.0.0.1",
                http_port=http_port,
                sdk_port=8000,
            )
        ]

    return answer


def test_a_reply_from_outside_the_target_is_reported_and_never_probed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outsider = "127.0.0.7"  # loopback, but not in the 127.0.0.1/32 the user named
    trap = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    trap.bind((outsider, 0))
    trap.listen(8)
    trap.setblocking(False)
    relay = UdpResponder(outsider_sadp(outsider, trap.getsockname()[1]), sender=outsider)
    try:

        class LoopbackSadp(SadpInquiry):
            def __init__(self, allow_public: bool = False) -> None:
                super().__init__(allow_public, port=relay.port)

        monkeypatch.setitem(registry.METHODS, "sadp", LoopbackSadp)
        creds = Credentials("auditor", "never-sent-Pa55")
        result = scan(LOOPBACK, ["sadp"], credentials=creds)
        with pytest.raises(BlockingIOError):  # no connection ever reached the announced port
            trap.accept()
    finally:
        relay.close()
        trap.close()
    assert result.fingerprints == ()
    inventory = to_dict(result.report)["inventory"]
    (outside,) = inventory["outside_target"]
    assert outside["ip"] == outsider and "not probed" in outside["finding"]
    (evidence,) = outside["evidence"]
    assert (evidence["method"], evidence["sender"]) == ("sadp", outsider)
    assert ["model", "DS-2CD2143G0-I"] in evidence["claims"]
    assert inventory["summary"]["outside_target"] == 1
    (device,) = inventory["devices"]
    assert device["outside_target"] is True and device["probes"] == []


class OtherSeer(Seer):
    name = "other-seer"


def test_a_slow_stream_holds_up_neither_the_methods_ends_nor_loses_a_sighting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # planning forty hosts' probes took seconds on a loaded machine; while the stream
    # planned, the other methods' ends (and with them nmap's version detection) waited
    from camaudit.discover import Stream

    monkeypatch.setitem(registry.METHODS, "seer", Seer)
    monkeypatch.setitem(registry.METHODS, "other-seer", OtherSeer)
    handed: list[str] = []

    def slow_sighted(sightings: object) -> None:
        time.sleep(0.8)
        handed.extend(s.method for s in sightings)  # type: ignore[attr-defined]

    ended: dict[str, float] = {}
    started = time.monotonic()
    discover(
        Target(networks=("127.0.0.1/32",), timeout=0.5, budget=5.0),
        methods=["seer", "other-seer"],
        progress=lambda name, *_: ended.setdefault(name, time.monotonic() - started),
        stream=Stream(slow_sighted, lambda _ip, _s: frozenset()),
    )
    assert ended["seer"] < 0.5 and ended["other-seer"] < 0.5
    assert len(handed) == 2  # both methods' sightings, before discover returned
