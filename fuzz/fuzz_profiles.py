"""One profile file (oui, phone_home, cve, ports, signatures, bio TOML) through its loader.

The first byte picks the file; the rest is its content. Each file has a loader of its own
(the ones :func:`camaudit.knowledge.load_knowledge` calls), so only that one runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from _harness import SCRATCH, instrumented, main

with instrumented():
    from camaudit.errors import ProfileError
    from camaudit.knowledge import profiles
    from camaudit.knowledge.bio import parse_bio
    from camaudit.knowledge.signatures import parse_signatures


def _collected(load: Callable[[Path, list[str]], object]) -> Callable[[Path], object]:
    def run(path: Path) -> object:
        errors: list[str] = []
        loaded = load(path.parent, errors)
        if errors:
            raise ProfileError(str(path), errors)
        return loaded

    return run


LOADERS: dict[str, Callable[[Path], object]] = {
    profiles.OUI_FILE: _collected(profiles._load_ouis),
    profiles.PHONE_HOME_FILE: _collected(profiles._load_rules),
    profiles.CVE_FILE: _collected(profiles._load_cves),
    profiles.PORTS_FILE: _collected(profiles._load_ports),
    "signatures.toml": parse_signatures,
    "bio.toml": parse_bio,
}
NAMES = tuple(LOADERS)
DIRECTORY = SCRATCH / "profiles"


def one(data: bytes) -> None:
    name = NAMES[data[0] % len(NAMES)] if data else NAMES[0]
    DIRECTORY.mkdir(exist_ok=True)
    path = DIRECTORY / name
    path.write_bytes(data[1:])
    LOADERS[name](path)


if __name__ == "__main__":
    main(one)
