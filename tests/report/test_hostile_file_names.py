"""A capture whose file name holds bytes that are not UTF-8 (0x9B is a C1 CSI, 0xFF never
occurs in UTF-8) or a bidi override is shown inert in every output: as ``\\x9b`` text, in
valid UTF-8, even with ``PYTHONIOENCODING=utf-8:strict`` and ``LANG=C``.

The real command line in a subprocess, with real files of those names.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from camaudit.report.render import FORMATS

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "pcaps" / "dns-nxdomain" / "dns-nxdomain.pcap"
# CSI 31m (red) as raw bytes, 0xFF, then U+202E (right-to-left override) in UTF-8
HOSTILE_NAME = b"cap\x9b31m\xff\xe2\x80\xaeevil.pcap"
SHOWN = "cap\\x9b31m\\xff\\u202eevil.pcap"
# what no output may hold: controls (but newline), bidi and direction marks, surrogates
UNSAFE = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)
STRICT = {"PYTHONIOENCODING": "utf-8:strict", "LANG": "C", "LC_ALL": "C", "COLUMNS": "200"}


def camaudit(*args: str | bytes, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, **STRICT}
    return subprocess.run(
        [sys.executable, "-m", "camaudit", *args],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env=env,
    )


def inert(data: bytes) -> str:
    """``data`` as strict UTF-8 text that holds nothing a terminal or a reader would act on."""
    text = data.decode("utf-8").replace("\r\n", "\n")  # CSV rows end in CRLF (RFC 4180)
    found = UNSAFE.findall(text)
    assert not found, f"unsafe characters in output: {found[:5]!r}"
    return text


def one_line_error(result: subprocess.CompletedProcess[bytes]) -> str:
    assert result.returncode not in (0, 1, 2), result.returncode  # never a verdict
    assert result.stdout == b""
    text = inert(result.stderr)
    assert text.startswith("camaudit: error: ")
    assert text.count("\n") == 1 and text.endswith("\n"), text[:300]
    return text


@pytest.fixture
def hostile_capture(tmp_path: Path) -> bytes:
    name = os.fsencode(tmp_path) + b"/" + HOSTILE_NAME
    shutil.copyfile(CAPTURE, name)
    return HOSTILE_NAME


@pytest.fixture
def hostile_json(tmp_path: Path, hostile_capture: bytes) -> Path:
    result = camaudit("verify", hostile_capture, "-f", "json", "-o", "r.json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # isolated_with_attempts: the capture's verdict
    return tmp_path / "r.json"


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_hostile_file_name_is_shown_escaped_on_the_console(
    tmp_path: Path, hostile_capture: bytes
) -> None:
    result = camaudit("verify", hostile_capture, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert SHOWN in inert(result.stdout)
    assert b"Traceback" not in result.stderr
    inert(result.stderr)


def test_hostile_file_name_gives_valid_json_with_the_name_escaped(hostile_json: Path) -> None:
    data = hostile_json.read_bytes()
    inert(data)
    report = json.loads(data.decode("utf-8", errors="strict"))
    texts = strings(report)
    assert SHOWN in texts  # the capture's path, shown as the user would type it
    assert not [s for s in texts if UNSAFE.search(s)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_report_format_shows_the_hostile_name_inert(
    tmp_path: Path, hostile_json: Path, fmt: str
) -> None:
    result = camaudit("report", hostile_json, "-f", fmt, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr  # report exits with the saved verdict
    text = inert(result.stdout)
    assert "x9b31m" in text and "\x9b" not in text
    inert(result.stderr)


def test_missing_capture_with_hostile_name_is_one_clean_error_line(tmp_path: Path) -> None:
    error = one_line_error(camaudit("verify", b"missing-" + HOSTILE_NAME, cwd=tmp_path))
    assert "missing-" + SHOWN in error


def test_unreadable_capture_with_hostile_name_is_one_clean_error_line(tmp_path: Path) -> None:
    (Path(os.fsdecode(os.fsencode(tmp_path) + b"/bad-" + HOSTILE_NAME))).write_bytes(b"garbage")
    error = one_line_error(camaudit("verify", b"bad-" + HOSTILE_NAME, cwd=tmp_path))
    assert "bad-" + SHOWN in error and "not a pcap" in error


def test_64k_character_file_name_gives_one_bounded_error_line(tmp_path: Path) -> None:
    name = b"\xe2\x80\xae" + b"A" * 65536 + b"\x9b[2J.pcap"
    error = one_line_error(camaudit("verify", name, cwd=tmp_path))
    assert len(error) < 2100  # the error line is bounded, whatever the name
