"""Shared test fixtures: where the stored captures are, and the real tools the oracles use."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PCAPS = ROOT / "pcaps"
SHARED = ROOT.parent / "shared"


def _build_fastpass() -> None:
    """A source checkout runs the tests without installing: build the C pass in place.

    Also when the source is newer than the build (after a merge), so that the tests
    never run an old build.
    """
    source = ROOT / "camaudit" / "traffic" / "_fastpass.c"
    built = list(source.parent.glob("_fastpass.*.so"))
    stale = not built or max(b.stat().st_mtime for b in built) < source.stat().st_mtime
    if not stale:
        try:
            import camaudit.traffic.engine  # noqa: F401  (loads the built pass)
        except ImportError:
            stale = True
    if stale:
        import importlib.util

        spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build(ROOT)


_build_fastpass()


def need_tool(name: str) -> str:
    """Path of a real binary; in CI a missing one fails the test instead of skipping it."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; .ci/run must install it")
        pytest.skip(f"{name} is not installed")
    return found


@pytest.fixture(autouse=True)
def private_known_hosts(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CLI runs pin device certificates; keep them out of the user's own state directory."""
    path = tmp_path_factory.mktemp("state") / "known_hosts"
    monkeypatch.setenv("CAMAUDIT_KNOWN_HOSTS", str(path))


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--lang` defaults to the locale: tests that read English must not follow the tester's."""
    for key in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
