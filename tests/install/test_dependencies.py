"""What camaudit imports is what pyproject.toml declares; a broken install is never silent."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from camaudit.traffic import apps
from tests.conftest import ROOT

PACKAGE = ROOT / "camaudit"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        deps = tomllib.load(handle)["project"]["dependencies"]
    return {_normal(re.split(r"[ <>=!~;\[]", d, maxsplit=1)[0]) for d in deps}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module → files of camaudit/ that import it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "camaudit":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


# Optional packages: imported only inside the one module that needs them, which turns their
# absence into a one-line usage error (tested with the feature); declared in their extra.
OPTIONAL = {"distributed": ("cluster", {"camaudit/traffic/cluster.py"})}


def _extra(name: str) -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        deps = tomllib.load(handle)["project"]["optional-dependencies"][name]
    return {_normal(re.split(r"[ <>=!~;\[]", d, maxsplit=1)[0]) for d in deps}


def test_every_module_camaudit_imports_is_a_declared_dependency() -> None:
    declared = _declared()
    dists = packages_distributions()
    imports = _third_party_imports()
    for module, (extra, allowed) in OPTIONAL.items():
        files = imports.pop(module, set())
        assert files <= allowed, f"{module} is optional: import it only in {sorted(allowed)}"
        assert _normal(module) in _extra(extra), f"{module} is not in the extra {extra!r}"
    undeclared = {
        f"{module} ({', '.join(dists.get(module, [module]))}) in {sorted(files)}"
        for module, files in imports.items()
        if not any(_normal(d) in declared for d in dists.get(module, [module]))
    }
    assert not undeclared, "imported but not in [project] dependencies: " + "; ".join(
        sorted(undeclared)
    )


def test_the_checker_sees_the_imports_it_must_see() -> None:
    # Guards the test above against passing because it found nothing.
    modules = _third_party_imports()
    assert {"scapy", "cryptography", "dns", "numpy", "typer"} <= set(modules)
    assert "cryptography" in _declared()


def test_sni_parser_needs_no_optional_package() -> None:
    # scapy's TLS layer without `cryptography` failed on every ClientHello and made every
    # sni null. The reader is now plain code: it names the server with scapy not loaded.
    import subprocess

    script = (
        "import sys\n"
        "from camaudit.traffic import apps\n"
        "hello = bytes.fromhex(sys.argv[1])\n"
        "assert apps.parse_sni(hello) == 'dev.hik-connect.com', apps.parse_sni(hello)\n"
        "assert not [m for m in sys.modules if m.startswith(('scapy', 'cryptography'))]\n"
    )
    name = b"dev.hik-connect.com"
    sni = b"\x00" + len(name).to_bytes(2, "big") + name
    ext = b"\x00\x00" + (len(sni) + 2).to_bytes(2, "big") + len(sni).to_bytes(2, "big") + sni
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += len(ext).to_bytes(2, "big") + ext
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    hello = b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake
    subprocess.run([sys.executable, "-c", script, hello.hex()], check=True, cwd=ROOT)


def test_sni_parser_turns_garbage_into_no_name() -> None:
    assert apps.parse_sni(b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\xff\xff\xff\xff") is None
