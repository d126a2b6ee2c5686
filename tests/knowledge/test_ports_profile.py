"""The default service-scan ports are data in profiles/ports.toml, validated like the rest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from camaudit.errors import ProfileError
from camaudit.knowledge.profiles import clear_profiles_cache, default_profiles_dir, load_profiles


def test_shipped_camera_ports_include_the_vendor_services() -> None:
    ports = load_profiles().camera_ports
    assert {80, 443, 554, 8000, 37777} <= set(ports)


def test_a_port_listed_twice_and_a_missing_source_are_both_reported(tmp_path: Path) -> None:
    shutil.copytree(default_profiles_dir(), tmp_path / "p")
    broken = tmp_path / "p" / "ports.toml"
    broken.write_text(
        'schema_version = 1\nvendors = ["generic"]\n'
        '[[port]]\nport = 80\nproto = "tcp"\nvendor = "generic"\nservice = "web"\nsource = "x"\n'
        '[[port]]\nport = 80\nproto = "tcp"\nvendor = "generic"\nservice = "web"\nsource = "y"\n'
        '[[port]]\nport = 81\nproto = "tcp"\nvendor = "generic"\nservice = "web"\n'
    )
    clear_profiles_cache()
    with pytest.raises(ProfileError) as caught:
        load_profiles(tmp_path / "p")
    text = str(caught.value)
    assert "port[2]: port: 80 is listed twice" in text
    assert "port[3]: source: missing" in text
