"""The wheel, installed alone into a fresh virtual environment, audits the lab captures
exactly as expect.toml says, and reads the TLS server name (issue 8, item 5).

Nothing of the development environment leaks in: no PYTHONPATH, no source tree on
sys.path, no lab or test packages; only what pyproject.toml declares, from PyPI, in the
versions constraints.txt locks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PCAPS, ROOT
from tests.replay.cases import Case, cases
from tests.replay.test_pcaps_cases import check_case

pytestmark = pytest.mark.install

CASES = cases()
INSTALL_TIMEOUT = 900


@dataclass(frozen=True)
class CleanInstall:
    venv: Path
    workdir: Path
    env: dict[str, str]

    @property
    def camaudit(self) -> Path:
        return self.venv / "bin" / "camaudit"

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return self.run([str(self.venv / "bin" / "python"), "-c", code])

    def run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )

    def verify(
        self, capture: Path, nets: Sequence[str], policy: Path | None = None
    ) -> dict[str, Any]:
        argv = [str(self.camaudit), "verify", str(capture), "--format", "json"]
        for net in nets:
            argv += ["--closed-network", net]
        if policy is not None:
            argv += ["--policy", str(policy)]
        done = self.run(argv)
        assert done.returncode in (0, 1, 4), done.stderr
        report: dict[str, Any] = json.loads(done.stdout)
        return report


def _clean_env() -> dict[str, str]:
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _must(done: subprocess.CompletedProcess[str], what: str) -> None:
    assert done.returncode == 0, f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> CleanInstall:
    base = tmp_path_factory.mktemp("clean-install")
    clean = CleanInstall(venv=base / "venv", workdir=base, env=_clean_env())
    dist = base / "dist"
    wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)]
    _must(clean.run(wheel), "pip wheel")
    wheels = sorted(dist.glob("camaudit-*.whl"))
    assert len(wheels) == 1, wheels
    _must(clean.run([sys.executable, "-m", "venv", str(clean.venv)]), "venv")
    # the versions a fresh install gets are the locked ones (constraints.txt, `make lock`)
    locked = ["-c", str(ROOT / "constraints.txt")]
    pip = [str(clean.venv / "bin" / "python"), "-m", "pip", "install", "-q", *locked]
    pip.append(str(wheels[0]))
    _must(clean.run(pip), "pip install")
    return clean


def test_the_installed_package_is_the_wheel_alone(installed: CleanInstall) -> None:
    done = installed.python(
        "import camaudit, importlib.util as u; print(camaudit.__file__); "
        "print([m for m in ('ipycam', 'pytest', 'mypy') if u.find_spec(m)])"
    )
    _must(done, "import")
    where, extras = done.stdout.splitlines()
    assert Path(where).is_relative_to(installed.venv), where
    assert not Path(where).is_relative_to(ROOT)
    assert extras == "[]", "the clean venv holds lab/test packages"
    profiles = installed.python(
        "from camaudit.knowledge.profiles import default_profiles_dir as d; print(d())"
    )
    _must(profiles, "profiles")
    assert Path(profiles.stdout.strip()).is_relative_to(installed.venv)


def test_the_installed_camaudit_reads_the_tls_server_name(installed: CleanInstall) -> None:
    capture = PCAPS / "tls-established" / "tls-established.pcap"
    report = installed.verify(capture, ["10.66.0.0/24"])
    assert [row["sni"] for row in report["outbound"] if row["dport"] == 443] == [
        "litedev.hik-connect.com"
    ]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_installed_camaudit_matches_each_lab_case(installed: CleanInstall, case: Case) -> None:
    check_case(case, installed.verify)


def test_the_installed_camaudit_ships_the_dutch_catalogue(installed: CleanInstall) -> None:
    done = installed.python(
        "from camaudit.i18n import LOCALE_DIR, translator; print(LOCALE_DIR); "
        "t = translator('nl', strict=True); print(t.gettext('closed network'), "
        "t.format_number(1234.5), t.format_date(__import__('datetime').date(2026, 12, 1)))"
    )
    _must(done, "i18n")
    where, words = done.stdout.splitlines()
    assert Path(where).is_relative_to(installed.venv)
    assert words == "gesloten netwerk 1.234,5 1 december 2026"


def test_the_installed_camaudit_renders_the_html_report_from_its_own_template(
    installed: CleanInstall,
) -> None:
    """The template and jinja2 come with the wheel: the pages (English and Dutch) are the
    golden ones, byte for byte, in the form tests/golden stores them."""
    from tests.report.golden import html_goldens

    report = ROOT / "tests" / "golden" / "verify-tls-established.json"
    pages: dict[str, str] = {}
    for lang in ("en", "nl"):
        done = installed.python(
            "import sys, camaudit.report.html as h; from camaudit.i18n import translator; "
            "from camaudit.report.model import from_json; "
            f"r = from_json(open({str(report)!r}, encoding='utf-8').read()); "
            f"sys.stdout.write(h.render(r, translator({lang!r}, strict=True))); print(h.__file__)"
        )
        _must(done, "html")
        page, _, where = done.stdout.rpartition("\n</html>\n")
        assert Path(where.strip()).is_relative_to(installed.venv)
        pages[f"verify-tls-established.{lang}.html"] = page + "\n</html>\n"
    made = html_goldens(pages)
    assert len(made) == 3  # the shared head, the English body, the Dutch words
    for name, text in made.items():
        assert text == (ROOT / "tests" / "golden" / name).read_text(encoding="utf-8"), name
