"""constraints.txt pins every dependency pyproject.toml and lab/requirements.txt declare, and
every install the Makefile does goes through it (issue 14, item 7).

Adding a dependency, an extra, or a lab package without re-locking (``make lock``) fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from tests.conftest import ROOT

CONSTRAINTS = ROOT / "constraints.txt"
PIN = re.compile(r"^([a-z0-9]+(?:-[a-z0-9]+)*)==(\S+)$")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(text: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin of a normalised name: {line!r}"
        assert match[1] not in pins, f"pinned twice: {match[1]}"
        pins[match[1]] = match[2]
    return pins


def _header(text: str, key: str) -> list[str]:
    for line in text.splitlines():
        if line.startswith(f"# {key}:"):
            return line.split(":", 1)[1].split()
    return []


def _pyproject() -> dict[str, list[str]]:
    """Requirement strings by group: ``dependencies``, each extra, ``lab/requirements.txt``."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    groups = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
    lab = (ROOT / "lab" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    groups["lab/requirements.txt"] = [r for r in lab if r.strip() and not r.startswith("#")]
    return groups


def _unlocked(groups: dict[str, list[str]], pins: dict[str, str]) -> list[str]:
    """Each declared requirement (and what its own extras add) that no pin satisfies."""
    missing = []
    for group, requirements in groups.items():
        for text in requirements:
            requirement = Requirement(text)
            name = _normal(requirement.name)
            pinned = pins.get(name)
            if pinned is None:
                missing.append(f"{name} ({group}) is not pinned")
            elif not requirement.specifier.contains(pinned, prereleases=True):
                missing.append(f"{name}=={pinned} does not satisfy {text!r} ({group})")
            missing += [
                f"{dep} ({text}, {group}) is not pinned"
                for dep in _extra_deps(requirement)
                if dep not in pins
            ]
    return missing


def _extra_deps(requirement: Requirement) -> list[str]:
    """The packages ``name[extra]`` adds, from the installed distribution's metadata."""
    if not requirement.extras:
        return []
    try:
        declared = metadata.requires(requirement.name) or []
    except metadata.PackageNotFoundError:
        return [f"{_normal(requirement.name)} (not installed here: its extras cannot be read)"]
    found = []
    for text in declared:
        dep = Requirement(text)
        if (
            dep.marker is not None
            and any(dep.marker.evaluate({"extra": extra}) for extra in requirement.extras)
            and not dep.marker.evaluate({"extra": ""})
        ):
            found.append(_normal(dep.name))
    return found


def test_every_declared_dependency_and_extra_is_pinned() -> None:
    text = CONSTRAINTS.read_text(encoding="utf-8")
    groups = _pyproject()
    assert not _unlocked(groups, _pins(text)), "\n".join(_unlocked(groups, _pins(text)))
    extras = sorted(set(groups) - {"dependencies", "lab/requirements.txt"})
    assert _header(text, "extras") == extras, "an extra was added or removed: run `make lock`"


def test_the_check_finds_a_dependency_nobody_locked() -> None:
    pins = _pins(CONSTRAINTS.read_text(encoding="utf-8"))
    assert {"numpy", "scapy", "pytest", "atheris", "distributed", "pip"} <= set(pins)
    groups = {"dependencies": ["numpy>=1.24", "not-locked-yet>=1"], "dev": ["pytest>=9999"]}
    found = _unlocked(groups, pins)
    assert found[0] == "not-locked-yet (dependencies) is not pinned"
    assert found[1].startswith("pytest==") and "pytest>=9999" in found[1]
    assert len(found) == 2


def test_every_makefile_install_goes_through_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [
        line for line in makefile.splitlines() if "pip install" in line and "$(VPY)" in line
    ]
    assert len(installs) >= 3, installs  # setup (pip itself, then camaudit), bench, fuzz
    for line in installs:
        assert "-c $(CONSTRAINTS)" in line, line
    assert re.search(r"^CONSTRAINTS = constraints\.txt$", makefile, re.M)


def test_the_pins_keep_to_the_machine_pip_constraints() -> None:
    # A pip configuration may name constraints files of its own (this machine caps torch):
    # an install applies both, so a pin outside one of them could never be installed.
    done = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.constraint"],
        capture_output=True,
        text=True,
        check=False,
    )
    pins = _pins(CONSTRAINTS.read_text(encoding="utf-8"))
    for name in done.stdout.split():
        path = Path(name)
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            requirement = Requirement(line)
            pinned = pins.get(_normal(requirement.name))
            if pinned is not None:
                assert requirement.specifier.contains(pinned, prereleases=True), (path, line)
