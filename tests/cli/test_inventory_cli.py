"""`camaudit discover` and `camaudit fingerprint` as a user meets them (loopback only)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import jsonschema
import pytest
import typer.main
from typer.testing import CliRunner

from camaudit.cli import app
from camaudit.report.model import schema
from lab.devices import start_device
from lab.devices.runtime import RunningDevice

runner = CliRunner()


@pytest.fixture(scope="module")
def hik() -> Iterator[RunningDevice]:
    with start_device("hik-ipc") as device:
        yield device


def _ports(device: RunningDevice) -> list[str]:
    p = device.ports
    return [
        "--port",
        f"http={p['http']}",
        "--port",
        f"rtsp={p['rtsp']}",
        "--port",
        f"onvif={p['http']}",
    ]


def test_fingerprint_json_names_vendor_and_follows_the_schema(hik: RunningDevice) -> None:
    result = runner.invoke(
        app, ["fingerprint", "127.0.0.1", *_ports(hik), "--timeout", "3", "-f", "json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema())
    (device,) = report["inventory"]["devices"]
    assert device["identity"]["vendor"] == "hikvision"
    assert {p["probe"].split(":")[0] for p in device["probes"]} >= {"http", "rtsp", "onvif"}


def test_credentials_come_from_the_environment_and_never_reach_the_report(
    hik: RunningDevice,
) -> None:
    password = hik.persona.password
    env = {"CAMAUDIT_USERNAME": hik.persona.username, "CAMAUDIT_PASSWORD": password}
    result = runner.invoke(
        app, ["fingerprint", "127.0.0.1", *_ports(hik), "--timeout", "3", "-f", "json"], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert password not in result.stdout and password not in result.stderr
    device = json.loads(result.stdout)["inventory"]["devices"][0]
    assert device["identity"]["firmware"].startswith("V5.6.3")
    assert "CVE-2021-36260" in {c["cve"] for c in device["cves"]}


def test_console_inventory_says_when_firmware_is_unknown(hik: RunningDevice) -> None:
    result = runner.invoke(
        app, ["fingerprint", "127.0.0.1", *_ports(hik), "--timeout", "3"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    assert "hikvision" in result.stdout
    assert "firmware unknown" in result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["fingerprint", "camera.example"], "not an IP address"),
        (["fingerprint", "127.0.0.1", "--port", "http=99999"], "PROBE=PORT"),
        (["discover", "--target", "203.0.113.0/24"], "public"),
        (["discover", "--target", "not-a-cidr"], "not-a-cidr"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_discover_needs_an_explicit_target() -> None:
    result = runner.invoke(app, ["discover"])
    assert result.exit_code == 2


def test_ask_password_without_a_terminal_is_refused() -> None:
    result = runner.invoke(app, ["fingerprint", "127.0.0.1", "--ask-password"])
    assert result.exit_code == 2
    assert "terminal" in result.stderr


LOGIN_OPTIONS = ["credentials_file", "ask_password", "allow_basic_auth", "known_hosts"]


@pytest.mark.parametrize(
    ("command", "before", "after"),
    [
        ("discover", "closed_network", "output_format"),
        ("fingerprint", "closed_network", "output_format"),
        ("audit", "budget", "output_format"),
    ],
)
def test_the_shared_login_options_stand_where_each_command_takes_them(
    command: str, before: str, after: str
) -> None:
    names = [p.name for p in typer.main.get_command(app).commands[command].params]  # type: ignore[attr-defined]
    at = names.index(before)
    assert names[at : at + len(LOGIN_OPTIONS) + 2] == [before, *LOGIN_OPTIONS, after]
