"""Start-up: the command line loads only what the input needs (issue 12, item 3).

A capture of a few hundred packets is over in well under a second of work; what a small
run costs is imports, so the heavy ones wait until an input asks for them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("numpy", "scapy", "jsonschema", "dns", "cryptography", "zeep", "nmap", "jinja2")


def _loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout
    return {name.split(".")[0] for name in out.split()}


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
