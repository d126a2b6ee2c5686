"""Every rendering (but HTML) of representative reports, in both languages, stays what
tests/golden/ holds."""

from __future__ import annotations

import difflib

import pytest

from tests.report.golden import LANGS, REGENERATE, TEXT_FORMATS, golden_name, renderings
from tests.report.reports import AUDIT_STEM, GOLDEN, GOLDEN_CASES

STEMS = [*(f"verify-{c}" for c in GOLDEN_CASES), "inventory-fake-hikvision", AUDIT_STEM]
NAMES = sorted(
    {golden_name(s, f, lang) for s in STEMS for f in ("json", *TEXT_FORMATS) for lang in LANGS}
)


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return renderings()


def test_every_golden_file_is_still_made(rendered: dict[str, str]) -> None:
    stored = {
        p.name for p in GOLDEN.glob("*") if p.suffix in (".json", ".txt", ".md", ".csv", ".sarif")
    }
    assert stored == set(rendered), f"golden files differ from the renderings; run {REGENERATE}"


@pytest.mark.parametrize("name", NAMES)
def test_rendering_matches_its_golden_file(name: str, rendered: dict[str, str]) -> None:
    with (GOLDEN / name).open(encoding="utf-8", newline="") as handle:
        expected = handle.read()
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
    assert len(consoles) == 2 * len(STEMS)
    assert not any("\x1b" in text for text in consoles)


def test_every_golden_report_is_rendered_in_both_languages(rendered: dict[str, str]) -> None:
    for stem in STEMS:
        for fmt in TEXT_FORMATS:
            english = rendered[golden_name(stem, fmt, "en")]
            dutch = rendered[golden_name(stem, fmt, "nl")]
            assert english != dutch, f"{stem} {fmt}: the Dutch rendering is the English one"
