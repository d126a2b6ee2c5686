"""Register reconciliation: the council's own camera list against what camaudit found.

Spec (camaudit/report/register.py): the register is a CSV file with Dutch or English
headers, ``;`` or ``,`` between cells, with or without a byte-order mark; a device and
a row match by MAC first, then by IP; the result lists each row (matched, make differs,
not found) and each device no row names (not registered), each with its register row.
The devices are the lab's fake cameras, fingerprinted on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from camaudit import exitcodes
from camaudit.cli import app
from camaudit.errors import InputError
from camaudit.report.model import InventoryReport, from_json, schema, to_json
from camaudit.report.register import RegisterEntry, read_register, with_register
from lab.devices import start_device
from lab.devices.runtime import RunningDevice
from tests.report.lab_inventory import lab_inventory, with_persona_macs

PERSONAS = ["hik-ipc", "hik-ipc-patched", "axis-ipc", "lts-relabel", "hanwha-ipc"]
# 127.0.0.2 hik-ipc, .3 hik-ipc-patched, .4 axis-ipc, .5 lts-relabel, .6 hanwha-ipc

# As Dutch Excel saves it: BOM, ';', CRLF, an empty row of bare separators.
DUTCH_REGISTER = (
    "\ufeffLocatie;Omschrijving;IP-adres;MAC-adres;Merk\r\n"
    "Stadhuis ingang;Camera hoofdingang;;44:19:B6:3A:21:01;Hikvision\r\n"
    "Parkeergarage;Camera slagboom;127.0.0.3;;Dahua\r\n"
    "Markt;Camera markt;127.0.0.5;;Hikvision\r\n"
    "Haven;Camera kade;127.0.0.6;;Wisenet\r\n"
    ";;;;\r\n"
    "Bibliotheek;Camera leeszaal;127.0.0.9;;Axis\r\n"
)


@pytest.fixture(scope="module")
def found() -> InventoryReport:
    report, where = lab_inventory(PERSONAS)
    return with_persona_macs(report, where)


def _register(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "register.csv"
    path.write_bytes(text.encode(encoding))
    return path


def _reconciled(report: InventoryReport, path: Path) -> InventoryReport:
    rows, sha256 = read_register(path)
    return with_register(report, rows, str(path), sha256)


def _by_row(report: InventoryReport) -> dict[int | None, RegisterEntry]:
    assert report.register is not None
    return {e.row: e for e in report.register.entries if e.row is not None}


# ---- reading the file ---------------------------------------------------------------


def test_a_dutch_excel_register_with_bom_and_semicolons_is_read(tmp_path: Path) -> None:
    rows, sha256 = read_register(_register(tmp_path, DUTCH_REGISTER))
    assert [r.row for r in rows] == [2, 3, 4, 5, 7]  # the empty row 6 is skipped
    first = rows[0]
    assert (first.location, first.description) == ("Stadhuis ingang", "Camera hoofdingang")
    assert first.mac == "44:19:b6:3a:21:01" and first.ip is None
    assert first.make == "Hikvision"
    assert rows[1].ip == "127.0.0.3"
    assert len(sha256) == 64


def test_an_english_register_with_commas_and_one_address_column_is_read(tmp_path: Path) -> None:
    text = (
        "location,description,IP or MAC,expected make\n"
        "Town hall,Main entrance,127.0.0.2,Hikvision\n"
        "Harbour,Quay,00-09-18-3A-23-0B,Hanwha\n"
    )
    rows, _ = read_register(_register(tmp_path, text))
    assert rows[0].ip == "127.0.0.2" and rows[0].mac is None
    assert rows[1].mac == "00:09:18:3a:23:0b" and rows[1].ip is None


def test_a_register_saved_by_excel_without_utf8_is_read_as_windows_1252(tmp_path: Path) -> None:
    text = "locatie;omschrijving;ip;merk\r\nCafé Plein;Camera terras;127.0.0.2;Hikvision\r\n"
    rows, _ = read_register(_register(tmp_path, text, "cp1252"))
    assert rows[0].location == "Café Plein"


def test_hostile_cells_keep_their_text_but_lose_control_and_bidi_characters(
    tmp_path: Path,
) -> None:
    text = (
        "locatie;omschrijving;ip;merk\n"
        '"=HYPERLINK(""http://198.51.100.7"",""klik"")";'
        '"\x1b[31mrood\u202etxt.exe <script>alert(1)</script>";127.0.0.2;"@SUM(1)"\n'
    )
    (row,) = read_register(_register(tmp_path, text))[0]
    assert row.location.startswith("=HYPERLINK(")  # the CSV renderer neutralises formulas
    assert "\x1b" not in row.description and "\u202e" not in row.description
    assert "<script>" in row.description  # text, escaped by each renderer at its edge
    assert row.make == "@SUM(1)"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("locatie;omschrijving;merk\nHal;Camera;Hikvision\n", "row 1: no IP or MAC column"),
        ("locatie;ip\nHal;127.0.0.2\nPlein;10.0.0.300\n", "row 3: '10.0.0.300' is not an IP"),
        ("locatie;mac\nHal;44:19:B6:3A:21:0G\n", "row 2: '44:19:B6:3A:21:0G' is not a MAC"),
        ("locatie;ip;mac\nHal;;\n", "row 2: needs an IP or a MAC address"),
        ("ip\n127.0.0.2\n127.0.0.2\n", "row 3: 127.0.0.2 is already on row 2"),
        ("", "row 1: empty file"),
        ("ip\x00;mac\n", "not a CSV file"),
    ],
    ids=["no-address-column", "bad-ip", "bad-mac", "empty-address", "duplicate", "empty", "nul"],
)
def test_a_malformed_register_is_one_clear_error_naming_the_row(
    tmp_path: Path, text: str, says: str
) -> None:
    with pytest.raises(InputError) as raised:
        read_register(_register(tmp_path, text))
    message = str(raised.value)
    assert says in message
    assert "\n" not in message


# ---- reconciling --------------------------------------------------------------------


def test_each_discrepancy_kind_is_listed_with_its_register_row(
    tmp_path: Path, found: InventoryReport
) -> None:
    report = _reconciled(found, _register(tmp_path, DUTCH_REGISTER))
    rows = _by_row(report)
    devices = report.inventory.devices

    assert rows[2].kind == "matched" and rows[2].matched_by == "mac"
    assert devices[rows[2].device or 0].ip == "127.0.0.2"
    assert rows[3].kind == "make_differs"
    assert (rows[3].expected_make, rows[3].found_make) == ("Dahua", "hikvision")
    assert rows[4].kind == "matched"  # LTS is a Hikvision relabel: the maker's name matches
    assert rows[5].kind == "matched"  # Wisenet is Hanwha Vision's camera brand
    assert rows[7].kind == "not_found" and rows[7].device is None
    assert rows[7].location == "Bibliotheek"

    assert report.register is not None
    (unregistered,) = [e for e in report.register.entries if e.kind == "not_registered"]
    assert unregistered.ip == "127.0.0.4" and unregistered.row is None
    assert unregistered.found_make == "Axis"


def test_a_mac_match_wins_over_an_ip_match(tmp_path: Path, found: InventoryReport) -> None:
    # the row names hik-ipc's MAC and the patched camera's IP: the MAC decides
    text = "locatie;ip;mac;merk\nHal;127.0.0.3;44:19:b6:3a:21:01;Hikvision\n"
    report = _reconciled(found, _register(tmp_path, text))
    row = _by_row(report)[2]
    assert row.matched_by == "mac" and row.ip == "127.0.0.2"
    assert report.register is not None
    unregistered = {e.ip for e in report.register.entries if e.kind == "not_registered"}
    assert "127.0.0.3" in unregistered


def test_register_discrepancies_fail_the_inventory_control(
    tmp_path: Path, found: InventoryReport
) -> None:
    assert found.controls is not None
    (before,) = [c for c in found.controls.controls if c.id == "5.9"]
    assert before.status == "not_tested"
    assert "register" not in found.controls.examined

    report = _reconciled(found, _register(tmp_path, DUTCH_REGISTER))
    assert report.controls is not None and report.register is not None
    (inventory,) = [c for c in report.controls.controls if c.id == "5.9"]
    assert inventory.status == "failed"
    rules = sorted({f.rule for f in inventory.findings})
    assert rules == ["register-make-differs", "register-not-found", "register-not-registered"]
    for behind in inventory.findings:
        assert behind.source == "register"
        assert report.register.entries[behind.index].kind != "matched"


def test_the_register_survives_json_and_follows_the_schema(
    tmp_path: Path, found: InventoryReport
) -> None:
    report = _reconciled(found, _register(tmp_path, DUTCH_REGISTER))
    text = to_json(report)
    jsonschema.validate(json.loads(text), schema())
    assert from_json(text) == report


# ---- the command line ---------------------------------------------------------------

runner = CliRunner()


@pytest.fixture(scope="module")
def hik() -> Iterator[RunningDevice]:
    with start_device("hik-ipc") as device:
        yield device


def _fingerprint(device: RunningDevice, *extra: str) -> list[str]:
    p = device.ports
    ports = ["--port", f"http={p['http']}", "--port", f"rtsp={p['rtsp']}"]
    return ["fingerprint", "127.0.0.1", *ports, "--port", f"onvif={p['http']}", *extra]


def test_fingerprint_with_register_reports_the_reconciliation_in_json(
    tmp_path: Path, hik: RunningDevice
) -> None:
    text = "locatie;omschrijving;ip;merk\nHal;Ingang;127.0.0.1;Dahua\nPlein;Markt;127.0.0.9;\n"
    path = _register(tmp_path, text)
    args = _fingerprint(hik, "--timeout", "3", "-f", "json", "--register", str(path))
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    jsonschema.validate(data, schema())
    kinds = [(e["row"], e["kind"]) for e in data["register"]["entries"]]
    assert kinds == [(2, "make_differs"), (3, "not_found")]
    (inventory,) = [c for c in data["controls"]["controls"] if c["id"] == "5.9"]
    assert inventory["status"] == "failed"


def test_a_malformed_register_stops_fingerprint_with_one_line_and_no_traceback(
    tmp_path: Path, hik: RunningDevice
) -> None:
    path = _register(tmp_path, "locatie;ip\nHal;not-an-address\n")
    result = runner.invoke(app, _fingerprint(hik, "--register", str(path)))
    assert result.exit_code == exitcodes.INPUT_ERROR
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "row 2" in lines[0] and "not an IP address" in lines[0]
    assert "Traceback" not in result.output


def test_a_swept_segment_that_matches_its_register_passes_the_inventory_control(
    tmp_path: Path,
) -> None:
    from camaudit.api import scan
    from camaudit.discover.interface import Target

    with start_device("hik-ipc", bind="127.0.0.2") as device:
        target = Target(
            networks=("127.0.0.2/32",), ports=(device.ports["http"],), timeout=2.0, budget=60
        )
        swept = scan(target, ["nmap"], fingerprint_devices=False).report
    assert [d.ip for d in swept.inventory.devices] == ["127.0.0.2"]

    matching = _reconciled(swept, _register(tmp_path, "locatie;ip\nHal;127.0.0.2\n"))
    assert matching.controls is not None
    (inventory,) = [c for c in matching.controls.controls if c.id == "5.9"]
    assert (inventory.status, inventory.findings) == ("passed", ())

    missing = _reconciled(swept, _register(tmp_path, "ip\n127.0.0.2\n127.0.0.3\n"))
    assert missing.controls is not None
    (inventory,) = [c for c in missing.controls.controls if c.id == "5.9"]
    assert inventory.status == "failed"
    assert [f.rule for f in inventory.findings] == ["register-not-found"]
