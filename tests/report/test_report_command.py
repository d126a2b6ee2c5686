"""`camaudit report REPORT.json --format F --lang L [--output FILE]`: a saved report
re-rendered without rescanning, byte for byte what the golden files hold; and
`--format` / `--lang` on the commands that make reports."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camaudit import cli
from tests.command import run_camaudit
from tests.report.golden import LANGS, TEXT_FORMATS, golden_name
from tests.report.reports import AUDIT_STEM, GOLDEN, REPO

SAVED = GOLDEN / "verify-tls-established.json"
INVENTORY = GOLDEN / "inventory-fake-hikvision.json"
AUDIT = GOLDEN / f"{AUDIT_STEM}.json"


def _camaudit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point, as a shell calls it, from the repository."""
    return run_camaudit(*args, env=env, cwd=REPO, timeout=120)


def _in_process(*args: str) -> int:
    """The command run in this process (fast; the console entry point is tested below)."""
    return CliRunner().invoke(cli.app, list(args)).exit_code


def _golden(name: str) -> str:
    with (GOLDEN / name).open(encoding="utf-8", newline="") as handle:
        return handle.read()


@pytest.mark.parametrize("saved", [SAVED, INVENTORY, AUDIT], ids=["verify", "inventory", "audit"])
@pytest.mark.parametrize("fmt", list(TEXT_FORMATS))
@pytest.mark.parametrize("lang", LANGS)
def test_report_rerenders_a_saved_report_as_its_golden_file(
    tmp_path: Path, saved: Path, fmt: str, lang: str
) -> None:
    out = tmp_path / f"report.{fmt}"
    code = _in_process("report", str(saved), "--format", fmt, "--lang", lang, "--output", str(out))
    assert code == 0
    with out.open(encoding="utf-8", newline="") as handle:
        written = handle.read()
    assert written == _golden(golden_name(saved.stem, fmt, lang))


def test_report_as_json_is_the_saved_file_in_any_language() -> None:
    for lang in LANGS:
        done = _camaudit("report", str(SAVED), "--format", "json", "--lang", lang)
        assert done.returncode == 0, done.stderr
        assert done.stdout == SAVED.read_text(encoding="utf-8")


def test_report_language_defaults_to_the_locale() -> None:
    done = _camaudit("report", str(SAVED), "-f", "markdown", env={"LC_ALL": "nl_NL.UTF-8"})
    assert done.returncode == 0, done.stderr
    assert "**Oordeel: niet geïsoleerd**" in done.stdout


def test_report_csv_to_stdout_opens_with_the_csv_module() -> None:
    done = _camaudit("report", str(SAVED), "-f", "csv", "--lang", "nl")
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(done.stdout.splitlines()))
    assert rows[0][5] == "Gesloten netwerk (ja/nee)"
    assert len(rows) == 1 + 3  # gateway, NVR, camera


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b'{"kind": "verify"}', "not a camaudit report"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_a_file_that_is_not_a_report_is_one_line_and_exit_3(
    tmp_path: Path, content: bytes, says: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    done = _camaudit("report", str(bad), "-f", "markdown")
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and says in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_report_file_is_one_line_and_exit_3(tmp_path: Path) -> None:
    done = _camaudit("report", str(tmp_path / "nowhere.json"))
    assert done.returncode == 3 and done.stderr.count("\n") == 1


def test_report_never_writes_over_the_report_it_reads(tmp_path: Path) -> None:
    saved = tmp_path / "r.json"
    saved.write_bytes(SAVED.read_bytes())
    done = _camaudit("report", str(saved), "-f", "markdown", "-o", str(saved))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert saved.read_bytes() == SAVED.read_bytes()


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--format", "pdf"], 2), (["--lang", "fr"], 2)],
)
def test_a_bad_format_or_language_is_a_usage_error(args: list[str], code: int) -> None:
    done = _camaudit("report", str(SAVED), *args)
    assert done.returncode == code
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("fmt", ["markdown", "csv", "sarif"])
def test_verify_writes_every_format_in_the_asked_language(tmp_path: Path, fmt: str) -> None:
    capture = "pcaps/tls-established/tls-established.pcap"
    saved = tmp_path / "r.json"
    out = tmp_path / "r.out"
    first = _camaudit("verify", capture, "-n", "10.66.0.0/24", "-f", "json", "-o", str(saved))
    assert first.returncode == 1, first.stderr
    done = _camaudit(
        "verify", capture, "-n", "10.66.0.0/24", "-f", fmt, "--lang", "nl", "-o", str(out)
    )
    assert done.returncode == 1, done.stderr  # the verdict's exit code, whatever the format
    again = _camaudit("report", str(saved), "-f", fmt, "--lang", "nl")
    assert out.read_text(encoding="utf-8") == again.stdout  # both with universal newlines


@pytest.mark.parametrize("command", ["discover", "fingerprint"])
def test_discover_and_fingerprint_take_every_format_and_a_language(command: str) -> None:
    done = _camaudit(command, "--help")
    assert done.returncode == 0
    for word in ("--lang", "markdown", "csv", "sarif", "html"):
        assert word in done.stdout


def test_fingerprint_refuses_an_unknown_language_before_probing() -> None:
    done = _camaudit("fingerprint", "127.0.0.1", "--lang", "fr", "-f", "csv")
    assert done.returncode == 2
    assert "--lang" in done.stderr and done.stderr.count("\n") == 1
