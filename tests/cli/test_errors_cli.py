"""Errors are never verdicts: a crash has its own exit code, bad input one line, and the
evidence is never overwritten by the report."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camaudit import api, cli, exitcodes
from camaudit.errors import OutputError
from camaudit.report.output import write_report
from tests.captures import CAM, NVR, OUT, eth, tcp, write_pcap, write_pcapng
from tests.command import run_camaudit

T0 = 1_700_000_000.0
LOCAL = [eth(tcp(CAM, NVR, 554, 40000, "SA")), eth(tcp(NVR, CAM, 40000, 554, "A"))]
LEAK = [*LOCAL, eth(tcp(CAM, OUT, 40001, 443, "S")), eth(tcp(OUT, CAM, 443, 40001, "SA"))]
runner = CliRunner()


def _capture(tmp_path: Path, name: str = "c.pcap") -> Path:
    return write_pcap(tmp_path / name, [(T0 + i * 0.1, p) for i, p in enumerate(LEAK)])


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli.app, ["verify", *args])
    return result.exit_code, result.stdout, result.stderr


def _camaudit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real console entry point (``main``), as a shell calls it."""
    return run_camaudit(*args, env=env, timeout=120)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- item 8: a crash is never a verdict ------------------------------------------------


def test_internal_error_code_is_none_of_the_verdict_codes() -> None:
    verdict_codes = {exitcodes.ISOLATED, exitcodes.NOT_ISOLATED, exitcodes.INCONCLUSIVE}
    assert exitcodes.INTERNAL_ERROR not in verdict_codes | {exitcodes.USAGE, exitcodes.INPUT_ERROR}


def test_a_bug_exits_with_the_internal_error_code_one_line_and_a_traceback_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Stands in for any bug below the CLI: before, it escaped as a traceback and exit 1,
    # which a script reads as "not isolated".
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(api, "verify", broken)  # verify imports the library when it runs
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["camaudit", "verify", str(_capture(tmp_path))])
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == exitcodes.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "internal error: ZeroDivisionError" in err and "not a verdict" in err
    crash = next(tmp_path.glob("camaudit-crash-*.txt"))
    assert str(crash) in err
    assert "Traceback" in crash.read_text() and "broken" in crash.read_text()


def test_policy_with_arrays_nested_1000_deep_is_one_line_and_exit_3(tmp_path: Path) -> None:
    policy = tmp_path / "deep.toml"
    policy.write_text('closed_network = ["10.66.0.0/24"]\nx = ' + "[" * 1000 + "]" * 1000 + "\n")
    done = _camaudit("verify", str(_capture(tmp_path)), "--policy", str(policy))
    assert done.returncode == exitcodes.INPUT_ERROR, done.stderr
    assert done.stderr.count("\n") == 1 and "nested more than" in done.stderr


def test_policy_with_a_long_dotted_key_is_refused_before_parsing(tmp_path: Path) -> None:
    # 5,000 parts in 10 kB took tomllib 0.4 s and 100 MB; 100,000 parts, past 10 GB.
    policy = tmp_path / "dotted.toml"
    policy.write_text(".".join(["a"] * 5000) + " = 1\n")
    started = time.monotonic()
    code, _, err = _run(str(_capture(tmp_path)), "--policy", str(policy))
    assert code == exitcodes.INPUT_ERROR
    assert "dotted parts" in err and time.monotonic() - started < 5


def test_policy_over_the_size_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    # The 200 kB file seen held one 100,000-part dotted key (> 10 GB to parse); this one is
    # harmless to parse, so the test stays safe should the limit ever go.
    policy = tmp_path / "big.toml"
    policy.write_text('closed_network = ["10.66.0.0/24"]\n' + "# padding\n" * 20_000)
    code, _, err = _run(str(_capture(tmp_path)), "--policy", str(policy))
    assert code == exitcodes.INPUT_ERROR
    assert "larger than 65536 bytes; not read" in err


def test_profiles_directory_with_a_hostile_file_is_one_line(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "oui.toml").write_text("a = " + "{b = " * 900 + "1" + "}" * 900 + "\n")
    code, _, err = _run(str(_capture(tmp_path)), "--profiles", str(profiles))
    assert code == exitcodes.INPUT_ERROR
    assert "oui.toml: line 1: arrays or tables nested more than 32 deep" in err


def test_timestamp_beyond_year_9999_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    # if_tsresol 0 (seconds) and 2^63: the console's date formatting overflowed.
    capture = write_pcapng(tmp_path / "far.pcapng", [(1, 0)], [(0, 2**63, LOCAL[0])])
    done = _camaudit("verify", str(capture), "-n", "10.66.0.0/24", env=_wide_env())
    assert done.returncode not in (exitcodes.INTERNAL_ERROR, 1), done.stderr
    assert "Traceback" not in done.stderr and "out of range" in done.stdout
    _, out, _ = _run(str(capture), "-n", "10.66.0.0/24", "--format", "json")
    problems = json.loads(out)["inputs"][0]["problems"]
    assert [(p["code"], p["count"]) for p in problems] == [("timestamp", 1)]
    assert "frame 1" in problems[0]["message"]


def _wide_env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200"}


def test_report_into_a_missing_directory_names_the_path_and_reason(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "r.json"
    code, _, err = _run(str(_capture(tmp_path)), "-f", "json", "-o", str(target))
    assert code == exitcodes.INPUT_ERROR
    assert f"{target}: cannot write the report: No such file or directory" in err
    assert "None" not in err


def test_report_to_a_full_standard_output_names_it(tmp_path: Path) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "camaudit", "verify", str(_capture(tmp_path)), "-f", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == exitcodes.INPUT_ERROR
    assert "standard output: cannot write the report: No space left on device" in done.stderr
    assert done.stderr.count("\n") == 1


# -- item 7: evidence is never destroyed -----------------------------------------------


def test_output_that_is_the_input_capture_is_refused_and_the_capture_kept(tmp_path: Path) -> None:
    capture = _capture(tmp_path)
    before = _sha(capture)
    code, _, err = _run(str(capture), "-f", "json", "-o", str(capture))
    assert code == exitcodes.USAGE
    assert "would overwrite the evidence" in err
    assert _sha(capture) == before


@pytest.mark.parametrize("how", ["hardlink", "symlink", "dotted"])
def test_output_that_reaches_the_input_by_another_name_is_refused(tmp_path: Path, how: str) -> None:
    capture = _capture(tmp_path)
    before = _sha(capture)
    other = tmp_path / "alias.pcap"
    if how == "hardlink":
        os.link(capture, other)
    elif how == "symlink":
        other.symlink_to(capture)
    else:
        other = tmp_path / "sub" / ".." / capture.name
        (tmp_path / "sub").mkdir()
    code, _, _ = _run(str(capture), "-o", str(other))
    assert code == exitcodes.USAGE
    assert _sha(capture) == before


def test_output_inside_an_input_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "evidence"
    folder.mkdir()
    capture = _capture(folder)
    before = _sha(capture)
    for target in (capture, folder / "report.json"):
        code, _, err = _run(str(folder), "-f", "json", "-o", str(target))
        assert code == exitcodes.USAGE, target
        assert "evidence" in err
    assert _sha(capture) == before and not (folder / "report.json").exists()


def test_output_next_to_the_input_is_written(tmp_path: Path) -> None:
    capture = _capture(tmp_path)
    code, _, _ = _run(str(capture), "-f", "json", "-o", str(tmp_path / "report.json"))
    assert code == exitcodes.NOT_ISOLATED
    assert json.loads((tmp_path / "report.json").read_text())["verdict"] == "not_isolated"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pcap", "report.json"]


def test_live_capture_and_report_on_the_same_path_is_refused_before_recording(
    tmp_path: Path,
) -> None:
    target = tmp_path / "live.pcapng"
    code, _, err = _run("--live", "lo", "--duration", "1", "--save", str(target), "-o", str(target))
    assert code == exitcodes.USAGE
    assert "--save capture" in err and "recording" not in err and not target.exists()


def test_report_replaces_the_old_one_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old report\n")
    target.chmod(0o640)

    def fails_midway(handle: object) -> None:
        handle.write("{ half a rep")  # type: ignore[attr-defined]
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"report.json: cannot write the report: No space left"):
        write_report(target, fails_midway)
    assert target.read_text() == "old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]

    write_report(target, lambda handle: handle.write("new report\n"))
    assert target.read_text() == "new report\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_report_to_a_device_is_written_in_place(tmp_path: Path) -> None:
    # Only regular files are replaced: /dev/stdout or a FIFO must stay what it is.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    write_report(fifo, lambda handle: handle.write("through the pipe\n"))
    out, _ = reader.communicate(timeout=10)
    assert out == "through the pipe\n"
    assert fifo.is_fifo()


def test_readme_documents_every_non_verdict_exit_code() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for code in (exitcodes.USAGE, exitcodes.INPUT_ERROR, exitcodes.INTERNAL_ERROR):
        assert f"\n| {code} |" in readme, code
