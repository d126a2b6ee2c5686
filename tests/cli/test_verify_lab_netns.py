"""End to end in the netns lab: real traffic, a real tcpdump capture, the real CLI.

The lab builds its own namespaces (cameras, gateway, documentation-range "internet"),
so nothing here touches any network but its own.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.command import run_camaudit
from tests.conftest import ROOT
from tests.netns import need_root

pytestmark = pytest.mark.netns


def _make_pcaps() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_pcaps", ROOT / "pcaps" / "make_pcaps.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_pcaps"] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def make_pcaps() -> ModuleType:
    need_root("the netns lab", "ip", "tcpdump", "nft", "tshark")
    return _make_pcaps()


def _record(make_pcaps: ModuleType, name: str, out: Path) -> Path:
    case = make_pcaps.CASES[name]
    case.build(case, out)
    return out / case.files[0]


def _verify(capture: Path) -> tuple[int, dict[str, object]]:
    done = run_camaudit("verify", str(capture), "-n", "10.66.0.0/24", "-f", "json", timeout=120)
    return done.returncode, json.loads(done.stdout)


def test_dropped_syn_recorded_live_is_an_attempt(make_pcaps: ModuleType, tmp_path: Path) -> None:
    code, report = _verify(_record(make_pcaps, "syn-dropped", tmp_path))
    assert (code, report["verdict"]) == (1, "isolated_with_attempts")
    (flow,) = report["outbound"]  # type: ignore[misc]
    assert (flow["dport"], flow["state"], flow["packets_out"]) == (8666, "attempted", 3)


def test_tls_session_recorded_live_is_not_isolated(make_pcaps: ModuleType, tmp_path: Path) -> None:
    code, report = _verify(_record(make_pcaps, "tls-established", tmp_path))
    assert (code, report["verdict"]) == (1, "not_isolated")
    tls = [f for f in report["outbound"] if f["dport"] == 443]  # type: ignore[attr-defined]
    assert tls[0]["state"] == "established"
    assert tls[0]["sni"] == "litedev.hik-connect.com"
