"""The console and JSON renderings of representative reports stay what tests/golden/ holds."""

from __future__ import annotations

import difflib

import pytest

from tests.report.golden import REGENERATE, renderings
from tests.report.reports import GOLDEN


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return renderings()


def test_every_golden_file_is_still_made(rendered: dict[str, str]) -> None:
    stored = {p.name for p in GOLDEN.glob("*") if p.suffix in (".json", ".txt")}
    assert stored == set(rendered), f"golden files differ from the renderings; run {REGENERATE}"


@pytest.mark.parametrize(
    "name",
    [
        "verify-tls-established.json",
        "verify-tls-established.console.txt",
        "verify-dns-nxdomain.json",
        "verify-dns-nxdomain.console.txt",
        "verify-quiet-camera.json",
        "verify-quiet-camera.console.txt",
        "inventory-fake-hikvision.json",
        "inventory-fake-hikvision.console.txt",
    ],
)
def test_rendering_matches_its_golden_file(name: str, rendered: dict[str, str]) -> None:
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    got = rendered[name]
    if got != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                got.splitlines(keepends=True),
                f"tests/golden/{name}",
                "rendered now",
            )
        )
        pytest.fail(
            f"{name} differs from its golden file. If the change is intended, regenerate "
            f"with `{REGENERATE}` and review the diff.\n{diff[:6000]}"
        )


def test_console_golden_output_has_no_escape_codes(rendered: dict[str, str]) -> None:
    consoles = [text for name, text in rendered.items() if name.endswith(".txt")]
    assert consoles and not any("\x1b" in text for text in consoles)
