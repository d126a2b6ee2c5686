"""One profile file (oui, phone_home, cve, ports, signatures, bio TOML) through the loaders.

The other files of the directory are the project's own; the first byte picks the file the
rest of the input replaces.
"""

from __future__ import annotations

import shutil

from _harness import ROOT, SCRATCH, instrumented, main

with instrumented():
    from camaudit.knowledge import bio, load_knowledge, profiles, signatures

FILES = ("oui.toml", "phone_home.toml", "cve.toml", "ports.toml", "signatures.toml", "bio.toml")
DIRECTORY = SCRATCH / "profiles"


def one(data: bytes) -> None:
    name = FILES[data[0] % len(FILES)] if data else FILES[0]
    DIRECTORY.mkdir(exist_ok=True)
    for each in FILES:
        shutil.copyfile(ROOT / "profiles" / each, DIRECTORY / each)
    (DIRECTORY / name).write_bytes(data[1:])
    profiles.clear_profiles_cache()
    signatures._cache.clear()
    bio._cached.cache_clear()
    load_knowledge(DIRECTORY)


if __name__ == "__main__":
    main(one)
