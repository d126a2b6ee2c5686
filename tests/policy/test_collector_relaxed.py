"""``verify`` makes Python's cycle collector look at new objects far less often while its
stages build their results (a scan's million small objects, none in a cycle, were re-walked
for a fifth of the CPU), never switches it off (a hostile capture's cyclic garbage must still
be freed), and leaves it as it found it afterwards, also when the input is bad."""

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
    was, thresholds = gc.isenabled(), gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    if was:
        gc.enable()
    else:
        gc.disable()


def _collector() -> tuple[bool, int]:
    """(running, objects between looks at the youngest generation)."""
    return gc.isenabled(), gc.get_threshold()[0]


RELAXED = (True, api.YOUNG_THRESHOLD)
USUAL = (True, 700)


def _scan(tmp_path: Path) -> Path:
    frames = [
        (1_700_000_000.0 + i, eth(tcp(CAM, f"203.0.113.{1 + i}", 40000 + i, 443, "S")))
        for i in range(20)
    ]
    return write_pcap(tmp_path / "scan.pcap", frames)


def _record(monkeypatch: pytest.MonkeyPatch, name: str, seen: dict[str, tuple[bool, int]]) -> None:
    """Note how the collector runs when ``api`` calls stage ``name``."""
    real = getattr(api, name)

    def stage(*args: Any, **kwargs: Any) -> Any:
        seen[name] = _collector()
        kwargs.pop("scheduler", None)  # read here: the test needs no cluster
        return real(*args, **kwargs)

    monkeypatch.setattr(api, name, stage)


def test_verify_runs_its_stages_with_the_collector_relaxed_never_off_and_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector_state: None
) -> None:
    seen: dict[str, tuple[bool, int]] = {}
    for name in ("analyse", "assess", "build_report"):
        _record(monkeypatch, name, seen)
    gc.enable()
    gc.set_threshold(700, 10, 10)
    result = api.verify([_scan(tmp_path)], closed_network=CLOSED)
    assert seen == {"analyse": RELAXED, "assess": RELAXED, "build_report": RELAXED}
    assert _collector() == USUAL
    assert gc.get_threshold() == (700, 10, 10)
    assert len(result.assessment.findings) == 20


def test_cyclic_garbage_made_during_verify_is_still_freed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector_state: None
) -> None:
    """A parse tree whose parts point at each other, made per packet, must not pile up."""
    real = api.analyse
    collected_before = sum(s["collected"] for s in gc.get_stats())

    def analyse_making_cycles(*args: Any, **kwargs: Any) -> Any:
        for _ in range(3 * api.YOUNG_THRESHOLD):
            node: dict[str, Any] = {}
            node["self"] = node
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "analyse", analyse_making_cycles)
    gc.enable()
    api.verify([_scan(tmp_path)], closed_network=CLOSED)
    assert sum(s["collected"] for s in gc.get_stats()) - collected_before >= api.YOUNG_THRESHOLD


def test_verify_leaves_a_collector_that_was_off_off(tmp_path: Path, collector_state: None) -> None:
    gc.disable()
    api.verify([_scan(tmp_path)], closed_network=CLOSED)
    assert not gc.isenabled()


def test_verify_keeps_a_threshold_already_higher(tmp_path: Path, collector_state: None) -> None:
    gc.set_threshold(10 * api.YOUNG_THRESHOLD, 10, 10)
    api.verify([_scan(tmp_path)], closed_network=CLOSED)
    assert gc.get_threshold() == (10 * api.YOUNG_THRESHOLD, 10, 10)


def test_verify_of_bad_input_still_restores_the_collector(
    tmp_path: Path, collector_state: None
) -> None:
    bad = tmp_path / "not-a-capture.pcap"
    bad.write_bytes(b"this is no capture at all" * 4)
    gc.enable()
    gc.set_threshold(700, 10, 10)
    with pytest.raises(CamauditError):
        api.verify([bad], closed_network=CLOSED)
    assert _collector() == USUAL


def test_a_cluster_client_reads_with_the_collector_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collector_state: None
) -> None:
    """Its client makes cyclic garbage all the while it waits for the workers."""
    seen: dict[str, tuple[bool, int]] = {}
    for name in ("analyse", "assess"):
        _record(monkeypatch, name, seen)
    gc.enable()
    gc.set_threshold(700, 10, 10)
    api.verify([_scan(tmp_path)], closed_network=CLOSED, scheduler="tcp://127.0.0.1:1")
    assert seen == {"analyse": USUAL, "assess": RELAXED}
