"""Build hook: compile camaudit's one C extension (the traffic fast pass) at install.

hatchling calls :class:`FastPassHook` for ``pip install .``, ``pip wheel .`` and editable
installs; ``python hatch_build.py`` builds it in place for a source checkout (tests run
with ``PYTHONPATH=$PWD``). Needs a C compiler and the Python headers (Debian: ``gcc``,
``python3-dev``).
"""

from __future__ import annotations

import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
SOURCE = "camaudit/traffic/_fastpass.c"
MODULE = "camaudit.traffic._fastpass"
# -ffp-contract=off: timestamps must round exactly as Python's float arithmetic does.
CFLAGS = ["-O2", "-ffp-contract=off", "-fno-strict-aliasing", "-Wall"]


def ext_filename() -> str:
    """``camaudit/traffic/_fastpass.<abi>.so`` for this interpreter."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return MODULE.replace(".", "/") + suffix


def build(out_dir: Path) -> Path:
    """Compile the extension into ``out_dir`` (a package root); return the file made."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    dist = Distribution(
        {"ext_modules": [Extension(MODULE, [str(ROOT / SOURCE)], extra_compile_args=CFLAGS)]}
    )
    cmd = build_ext(dist)
    cmd.build_lib = str(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        cmd.build_temp = tmp
        cmd.ensure_finalized()
        cmd.run()
    return out_dir / ext_filename()


try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # running as a script without hatchling
    BuildHookInterface = object  # type: ignore[assignment,misc]


class FastPassHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    """Compiles the extension; in place for editable installs, into the wheel otherwise."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        if version == "editable":
            build(ROOT)  # the editable install imports from the source tree
            return
        out = Path(tempfile.mkdtemp(prefix="camaudit-ext-"))
        built = build(out)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["force_include"][str(built)] = ext_filename()


if __name__ == "__main__":
    print(build(ROOT), file=sys.stderr)
