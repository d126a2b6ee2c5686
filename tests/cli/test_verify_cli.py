"""`camaudit verify` as a user meets it: exit codes, one-line errors, the JSON report."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from camaudit.cli import app
from camaudit.report.model import schema
from tests.captures import CAM, GW, NVR, OUT, eth, tcp, udp, write_pcap

T0 = 1_700_000_000.0
runner = CliRunner()


def _capture(tmp_path: Path, packets: list[bytes], name: str = "c.pcap") -> Path:
    return write_pcap(tmp_path / name, [(T0 + i * 0.1, p) for i, p in enumerate(packets)])


LOCAL = [eth(tcp(CAM, NVR, 554, 40000, "SA")), eth(tcp(NVR, CAM, 40000, 554, "A"))]
LEAK = [*LOCAL, eth(tcp(CAM, OUT, 40001, 443, "S")), eth(tcp(OUT, CAM, 443, 40001, "SA"))]
ATTEMPT = [*LOCAL, eth(tcp(CAM, OUT, 40001, 8666, "S"))]


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["verify", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("packets", "code", "verdict"),
    [(LOCAL, 0, "isolated"), (ATTEMPT, 1, "isolated_with_attempts"), (LEAK, 1, "not_isolated")],
)
def test_exit_code_and_json_verdict(
    tmp_path: Path, packets: list[bytes], code: int, verdict: str
) -> None:
    path = _capture(tmp_path, packets)
    exit_code, out, _ = _run(str(path), "-n", "10.66.0.0/24", "--format", "json")
    report = json.loads(out)
    assert (exit_code, report["verdict"], report["exit_code"]) == (code, verdict, code)
    jsonschema.validate(report, schema())


def _policy(tmp_path: Path, file: str, **fields: object) -> str:
    """A policy file (schema version 1) with ``fields``, written as TOML; its path."""
    path = tmp_path / file
    lines = ["schema_version = 1", *(f"{k} = {json.dumps(v)}" for k, v in fields.items())]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_fail_on_leaks_lets_attempts_exit_zero(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path, "p.toml", name="lenient", closed_network=["10.66.0.0/24"], fail_on="leaks"
    )
    exit_code, _, _ = _run(str(_capture(tmp_path, ATTEMPT)), "--policy", policy)
    assert exit_code == 0


def test_console_report_names_the_verdict_and_the_flow(tmp_path: Path) -> None:
    exit_code, out, _ = _run(str(_capture(tmp_path, LEAK)), "-n", "10.66.0.0/24")
    assert exit_code == 1
    assert "NOT ISOLATED" in out and OUT in out


def test_output_file_gets_the_report_and_stderr_the_verdict(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    exit_code, out, err = _run(
        str(_capture(tmp_path, LOCAL)), "-n", "10.66.0.0/24", "-f", "json", "-o", str(target)
    )
    assert exit_code == 0 and out == ""
    assert json.loads(target.read_text())["verdict"] == "isolated"
    assert "verdict isolated" in err


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty file"),
        (b"GARBAGE" * 10, "not a pcap or pcapng"),
        (b"\x0a\x0d\x0d\x0a", "cut short"),
    ],
)
def test_bad_capture_is_one_line_and_exit_3(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    exit_code, _, err = _run(str(path))
    assert exit_code == 3
    assert expected in _one_line_error(err)


def test_missing_path_empty_directory_and_unknown_link_type_exit_3(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    weird = write_pcap(tmp_path / "weird.pcap", [(T0, b"\0" * 40)], linktype=147)
    for target, expected in (
        (tmp_path / "nope.pcap", "no such file"),
        (tmp_path / "empty", "no pcap or pcapng"),
        (weird, "not supported"),
    ):
        exit_code, _, err = _run(str(target))
        assert exit_code == 3
        assert expected in _one_line_error(err)


def test_truncated_capture_gives_a_result_with_a_problem(tmp_path: Path) -> None:
    path = _capture(tmp_path, LOCAL)
    path.write_bytes(path.read_bytes()[:-5])
    exit_code, out, _ = _run(str(path), "-n", "10.66.0.0/24", "-f", "json")
    report = json.loads(out)
    assert exit_code == 4 and report["verdict"] == "inconclusive"
    assert [p["code"] for p in report["inputs"][0]["problems"]] == ["truncated"]


def test_broken_policy_lists_its_errors_in_one_line_and_exits_3(tmp_path: Path) -> None:
    policy = _policy(
        tmp_path,
        "bad.toml",
        name="x",
        closed_network=["10.66.0.0/33"],
        fail_on="never",
        colour="blue",
    )
    exit_code, _, err = _run(str(_capture(tmp_path, LOCAL)), "--policy", policy)
    line = _one_line_error(err)
    assert exit_code == 3
    assert "bad.toml" in line and "fail_on" in line and "closed_network" in line


def test_bad_cidr_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    exit_code, _, err = _run(str(_capture(tmp_path, LOCAL)), "-n", "not-a-cidr")
    assert exit_code == 2
    assert "not-a-cidr" in _one_line_error(err)


def test_unknown_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["verify", "--frobnicate"])
    assert result.exit_code == 2


def test_escape_sequences_in_names_never_reach_the_terminal(tmp_path: Path) -> None:
    from scapy.layers.dns import DNS, DNSQR

    evil = b"\x1b]0;pwned\x07\x1b[31mred.example.com"
    query = DNS(id=1, rd=1, qd=[DNSQR(qname=evil)])
    path = _capture(tmp_path, [*LOCAL, eth(udp(CAM, GW, 33000, 53, bytes(query)))])
    for fmt in ("console", "json"):
        _, out, _ = _run(str(path), "-n", "10.66.0.0/24", "-f", fmt)
        assert "\x1b" not in out and "\x07" not in out
        assert "pwned" in out and "\\027" in out  # escaped as text by dnspython
