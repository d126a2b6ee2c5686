"""`camaudit watch` refuses bad options with one line and exit 2 (or 3) before recording."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from camaudit.cli import app


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--rotate", "soon"], 2, "--rotate 'soon'"),
        (["--record-dir", "{full}"], 2, "must be a new or empty directory"),
        (["--format", "nonsense"], 2, "nonsense"),
        (["--record-dir", "{new}", "-o", "{new}/report.json"], 2, "lies inside --record-dir"),
        (["--alerts", "{full}"], 3, "--alerts"),
    ],
)
def test_bad_options_are_one_line_before_anything_is_recorded(
    tmp_path: Path, args: list[str], code: int, words: str
) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "x.pcapng").write_bytes(b"")
    given = [a.replace("{full}", str(full)).replace("{new}", str(tmp_path / "new")) for a in args]
    done = CliRunner().invoke(app, ["watch", "-i", "lo", *given])
    assert done.exit_code == code, done.output
    assert words in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)
    assert not (tmp_path / "new").exists() and [p.name for p in full.iterdir()] == ["x.pcapng"]
