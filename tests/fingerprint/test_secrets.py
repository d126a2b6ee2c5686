"""A canary password given for ONVIF/HTTP never leaves camaudit: not on stdout or stderr,
not in a report of any format, not in the evidence pack, not in a crash traceback file and
not in any process's command line while camaudit runs.

Fake cameras on loopback addresses of their own (127.0.14.x) whose password is the canary;
the login must succeed (the firmware is only shown behind it), so the canary was used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from camaudit.report.render import FORMATS
from lab.devices import load_persona, start_device
from lab.devices.runtime import RunningDevice
from tests.audit.reports import capture

CANARY = "Canary-h14-7f3e9c1d-s3cret"
DIGEST_IP = "127.0.14.21"
BASIC_IP = "127.0.14.22"
FIRMWARE = "V5.6.3"  # hik-ipc answers its firmware only after a login


def _camera(ip: str, auth: str, real_ports: bool = False) -> Iterator[RunningDevice]:
    persona = load_persona("hik-ipc")
    persona = dataclasses.replace(persona, password=CANARY, http={**persona.http, "auth": auth})
    ports = {p.name: p.port for p in persona.ports if p.proto == "tcp"} if real_ports else None
    with start_device(persona, ip, ports) as device:
        yield device


@pytest.fixture(scope="module")
def digest_camera() -> Iterator[RunningDevice]:
    yield from _camera(DIGEST_IP, "digest")


@pytest.fixture(scope="module")
def basic_camera() -> Iterator[RunningDevice]:
    yield from _camera(BASIC_IP, "basic")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMAUDIT_")}
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), COLUMNS="200", TMPDIR=str(tmp_path))
    return {**env, **extra}


def _ports(device: RunningDevice) -> list[str]:
    p = device.ports
    return ["--port", f"http={p['http']}", "--port", f"rtsp={p['rtsp']}", "--port",
            f"onvif={p['http']}"]  # fmt: skip


def _command_lines() -> list[bytes]:
    """The command line and title of every process now running."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            for name in ("cmdline", "comm"):
                with contextlib.suppress(OSError):  # the process ended meanwhile
                    found.append((entry / name).read_bytes())
    return found


def _run_watched(argv: list[str], env: dict[str, str]) -> tuple[int, str, str, list[bytes]]:
    """Run camaudit, reading every process's command line while it runs."""
    seen: list[bytes] = []
    with subprocess.Popen(
        [sys.executable, "-m", "camaudit", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as proc:
        out: list[bytes] = []

        def drain() -> None:
            out.extend(proc.communicate(timeout=180))

        reader = threading.Thread(target=drain)
        reader.start()
        watched = False  # the watcher really saw camaudit running
        while reader.is_alive():
            lines = _command_lines()
            watched |= any(b"camaudit\0" + argv[0].encode() in line for line in lines)
            seen.extend(line for line in lines if CANARY.encode() in line)
            time.sleep(0.02)
        reader.join()
    assert watched
    return proc.returncode, out[0].decode(), out[1].decode(), seen


def _no_canary_in(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("fmt", FORMATS)
def test_password_from_the_environment_reaches_no_output_report_or_command_line(
    digest_camera: RunningDevice, tmp_path: Path, fmt: str
) -> None:
    env = _env(tmp_path, CAMAUDIT_USERNAME="admin", CAMAUDIT_PASSWORD=CANARY)
    argv = ["fingerprint", DIGEST_IP, *_ports(digest_camera), "--timeout", "3", "-f", fmt]
    code, out, err, seen = _run_watched([*argv, "-o", str(tmp_path / "report")], env)
    assert code == 0, err
    report = (tmp_path / "report").read_text(encoding="utf-8")
    assert FIRMWARE in report  # logged in: the canary was really used
    assert CANARY not in out and CANARY not in err and CANARY not in report
    assert seen == []
    _no_canary_in(tmp_path)


def test_password_from_a_credentials_file_with_basic_auth_is_never_shown(
    basic_camera: RunningDevice, tmp_path: Path
) -> None:
    secrets = tmp_path / "device.toml"
    secrets.write_text(f'username = "admin"\npassword = "{CANARY}"\n', encoding="utf-8")
    secrets.chmod(0o600)
    argv = ["fingerprint", BASIC_IP, *_ports(basic_camera), "--timeout", "3", "-f", "json"]
    argv += ["--credentials-file", str(secrets), "--allow-basic-auth", "-o", str(tmp_path / "r")]
    code, out, err, seen = _run_watched(argv, _env(tmp_path))
    assert code == 0, err
    report = (tmp_path / "r").read_text(encoding="utf-8")
    assert FIRMWARE in report
    assert CANARY not in out + err + report
    assert seen == []


def test_crash_traceback_file_holds_no_password(
    digest_camera: RunningDevice, tmp_path: Path
) -> None:
    # A bug while the credentials are in hand: the exception message even holds the
    # probe targets (which carry the credentials), as a careless f-string would.
    crash = (
        "import sys, camaudit.fingerprint as f\n"
        "from camaudit import cli\n"
        "def boom(planned, *a):\n"
        "    raise RuntimeError(f'boom {planned!r} {[t.credentials for _, t in planned]}')\n"
        "f.run_probes = boom\n"
        "sys.argv = ['camaudit', *sys.argv[1:]]\n"
        "cli.main()\n"
    )
    env = _env(tmp_path, CAMAUDIT_USERNAME="admin", CAMAUDIT_PASSWORD=CANARY)
    argv = ["fingerprint", DIGEST_IP, *_ports(digest_camera), "--timeout", "3"]
    proc = subprocess.run(
        [sys.executable, "-c", crash, *argv], capture_output=True, text=True, env=env,
        timeout=120, check=False,
    )  # fmt: skip
    assert "internal error: RuntimeError: boom" in proc.stderr, proc.stderr
    (where,) = re.findall(r"traceback in (\S+\.txt)", proc.stderr)
    traceback = Path(where).read_text(encoding="utf-8")
    assert "RuntimeError: boom" in traceback and "credentials" in traceback
    assert CANARY not in traceback + proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def audit_camera() -> Iterator[RunningDevice]:
    if os.geteuid() != 0:
        pytest.skip("serving the persona's own ports (80, 554) needs root")
    yield from _camera("127.0.14.23", "digest", real_ports=True)


def test_evidence_pack_of_an_audit_with_credentials_holds_no_password(
    audit_camera: RunningDevice, tmp_path: Path
) -> None:
    pack = tmp_path / "pack"
    argv = ["audit", "--target", "127.0.14.23/32", "--methods", "nmap", "--timeout", "3"]
    argv += ["-n", "10.66.0.0/24", "--captures", str(capture("syn-dropped"))]
    argv += ["--evidence", str(pack), "-f", "json", "-o", str(tmp_path / "audit.json")]
    env = _env(tmp_path, CAMAUDIT_USERNAME="admin", CAMAUDIT_PASSWORD=CANARY)
    code, out, err, seen = _run_watched(argv, env)
    assert code == 1, err  # the capture's verdict
    assert FIRMWARE in (tmp_path / "audit.json").read_text(encoding="utf-8")
    assert any(pack.iterdir())
    assert CANARY not in out + err
    assert seen == []
    _no_canary_in(tmp_path)
