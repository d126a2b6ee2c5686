"""Start-up: the command line loads only what the input needs (issue 12, item 3).

A capture of a few hundred packets is over in well under a second of work; what a small
run costs is imports, so the heavy ones wait until an input asks for them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.command import camaudit_main, in_a_fresh_interpreter

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "scapy", "jsonschema", "dns", "cryptography", "zeep", "nmap", "jinja2")


def _loaded_after(code: str) -> set[str]:
    done, loaded = in_a_fresh_interpreter(code)
    assert done.returncode == 0, done.stderr
    return {name.split(".")[0] for name in loaded}


def test_importing_the_command_line_loads_no_heavy_library() -> None:
    loaded = _loaded_after("import camaudit.cli")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_verifying_a_pcap_never_loads_the_zeek_reader_or_the_schema_validator() -> None:
    capture = ROOT / "pcaps" / "dns-nxdomain" / "dns-nxdomain.pcap"
    code = (
        "from camaudit import api\n"
        f"api.verify([{str(capture)!r}], closed_network=['10.66.0.0/24'])\n"
        "assert 'camaudit.traffic.zeek' not in sys.modules\n"
    )
    assert "jsonschema" not in _loaded_after(code)


# What only discovery, fingerprinting and the audit use: a verify of captures never needs it.
PROBE_STACKS = (
    "zeep",
    "requests",
    "onvif",
    "scapy",
    "netaddr.eui.ieee",
    "camaudit.discover",
    "camaudit.fingerprint",
    "camaudit.audit",
)


def _loaded_by_command(*args: str) -> tuple[int, set[str]]:
    """Run ``camaudit ARGS`` in a fresh interpreter: its exit code and every module it loaded."""
    done, loaded = in_a_fresh_interpreter(camaudit_main(*args))
    assert "Traceback" not in done.stderr, done.stderr  # a crash exits 1 too, not a verdict
    return done.returncode, loaded


def _among(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("output_format", ["json", "console", "html", "markdown", "csv", "sarif"])
def test_verifying_a_small_capture_loads_no_probe_stack(tmp_path: Path, output_format: str) -> None:
    capture = ROOT / "pcaps" / "tls-established" / "tls-established.pcap"
    report = tmp_path / f"report.{output_format}"
    code, loaded = _loaded_by_command(
        "verify", str(capture), "-n", "10.66.0.0/24", "-f", output_format, "-o", str(report)
    )
    assert code == 1, "the capture's own verdict: not isolated"
    assert report.stat().st_size > 0
    assert not _among(loaded, PROBE_STACKS)
    for renderer in ("html", "console"):  # jinja2's templates, rich's tables
        loaded_too = f"camaudit.report.{renderer}" in loaded
        assert loaded_too == (output_format == renderer), "only the chosen format's renderer"


def test_a_capture_the_compiled_pass_reads_alone_loads_neither_numpy_nor_dnspython(
    tmp_path: Path,
) -> None:
    # The TCP frames without payload of a real capture: the compiled pass folds every one
    # of them itself, so nothing reaches the (numpy) decoder or the DNS parser.
    capture = tmp_path / "handshakes.pcap"
    source = ROOT / "pcaps" / "syn-dropped" / "syn-dropped.pcap"
    subprocess.run(
        ["tshark", "-r", str(source), "-Y", "tcp.len == 0", "-w", str(capture), "-F", "pcap"],
        check=True,
        capture_output=True,
    )
    code, loaded = _loaded_by_command(
        "verify", str(capture), "-n", "10.66.0.0/24", "-f", "json", "-o", str(tmp_path / "r.json")
    )
    assert code == 1, "the dropped SYNs to the vendor cloud: isolated with attempts"
    assert not _among(loaded, ("numpy", "dns", *PROBE_STACKS))
