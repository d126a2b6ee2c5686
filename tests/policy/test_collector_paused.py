"""``verify`` pauses Python's cycle collector while its stages build their results (a scan's
million small objects, none in a cycle, were re-walked for a fifth of the CPU), and leaves
it as it found it afterwards, also when the input is bad."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camaudit import api
from camaudit.errors import CamauditError
from tests.captures import CAM, eth, tcp, write_pcap

CLOSED = ("10.66.0.0/24",)


@pytest.fixture
def collector_state() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def _scan(tmp_path: Path) -> Path:
    frames = [
        (1_700_000_000.0 + i, eth(tcp(CAM, f"203.0.113.{1 + i}", 40000 + i, 443, "S")))
        for i in range(20)
    ]
    return write_pcap(tmp_path / "scan.pcap", frames)


def _record(monkeypatch: pytest.MonkeyPatch, name: str, seen: dict[str, bool]) -> None:
    """Note whether the collector runs when ``api`` calls stage ``name``."""
    real = getattr(api, name)

    def stage(*args: Any, **kwargs: Any) -> Any:
        seen[name] = gc.isenabled()
        kwargs.pop("scheduler", None)  # read here: the test needs no cluster
        return real(*args, **kwargs)

    monkeypatch.setattr(api, name, stage)


def test_verify_runs_its_stages_without_the_cycle_collector_and_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector_state: None
) -> None:
    seen: dict[str, bool] = {}
    for name in ("analyse", "assess", "build_report"):
        _record(monkeypatch, name, seen)
    gc.enable()
    result = api.verify([_scan(tmp_path)], closed_network=CLOSED)
    assert seen == {"analyse": False, "assess": False, "build_report": False}
    assert gc.isenabled()
    assert len(result.assessment.findings) == 20


def test_verify_leaves_a_collector_that_was_off_off(tmp_path: Path, collector_state: None) -> None:
    gc.disable()
    api.verify([_scan(tmp_path)], closed_network=CLOSED)
    assert not gc.isenabled()


def test_verify_of_bad_input_still_restores_the_collector(
    tmp_path: Path, collector_state: None
) -> None:
    bad = tmp_path / "not-a-capture.pcap"
    bad.write_bytes(b"this is no capture at all" * 4)
    gc.enable()
    with pytest.raises(CamauditError):
        api.verify([bad], closed_network=CLOSED)
    assert gc.isenabled()


def test_a_cluster_client_reads_with_the_collector_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector_state: None
) -> None:
    """Its client makes cyclic garbage all the while it waits for the workers."""
    seen: dict[str, bool] = {}
    for name in ("analyse", "assess"):
        _record(monkeypatch, name, seen)
    gc.enable()
    api.verify([_scan(tmp_path)], closed_network=CLOSED, scheduler="tcp://127.0.0.1:1")
    assert seen == {"analyse": True, "assess": False}
