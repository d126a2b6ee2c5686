"""The stored lab captures in ``pcaps/<case>/`` and their ``expect.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import PCAPS

_CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz", ".cap")


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path
    expect: dict[str, Any]

    @property
    def captures(self) -> list[Path]:
        listed = self.expect.get("files")
        if listed:
            return [self.folder / name for name in listed]
        found = [p for p in sorted(self.folder.iterdir()) if p.name.endswith(_CAPTURE_SUFFIXES)]
        assert len(found) == 1, f"{self.folder}: expected one capture, found {found}"
        return found


def cases() -> list[Case]:
    found = []
    for expect in sorted(PCAPS.glob("*/expect.toml")):
        with expect.open("rb") as handle:
            found.append(Case(expect.parent.name, expect.parent, tomllib.load(handle)))
    return found


def capture_files() -> list[Path]:
    return [path for case in cases() for path in case.captures]
