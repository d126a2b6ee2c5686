"""`camaudit baseline`: a policy from a known-good capture that loads, enforces, and never
bakes a leak in."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from camaudit.api import baseline, verify
from camaudit.cli import app
from camaudit.errors import UsageError
from camaudit.policy.load import load_policy
from tests.conftest import ROOT

PCAPS = ROOT / "pcaps"
SITE = ("10.66.0.0/24", "fd66::/64")
runner = CliRunner()


def _written(tmp_path: Path, case: str) -> tuple[Path, str]:
    result = baseline([PCAPS / case], SITE)
    path = tmp_path / "policy.toml"
    path.write_text(result.policy_text, encoding="utf-8")
    return path, result.policy_text


def _uncomment_exceptions(text: str) -> str:
    """What a reviewer does after accepting every exception: uncomment those blocks."""
    lines, inside = [], False
    for line in text.splitlines():
        inside = (inside or line == "# [[exception]]") and bool(line)
        if inside and not line.startswith("# expires"):
            line = line[2:].replace("TODO: ", "accepted in ticket CCTV-1: ")
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_baseline_of_a_quiet_camera_allows_the_nvr_and_verifies_isolated(tmp_path: Path) -> None:
    path, text = _written(tmp_path, "quiet-camera")
    policy = load_policy(path)
    assert policy.closed_network == SITE
    assert not policy.closed_network_is_default
    assert [(r.hosts, r.proto, r.ports) for r in policy.allow] == [
        (("10.66.0.10/32",), "tcp", (554,))
    ]
    assert all(r.reason.startswith("TODO") for r in policy.allow)
    assert "[[exception]]" not in text
    assert verify([PCAPS / "quiet-camera"], (), path).assessment.verdict.value == "isolated"


@pytest.mark.parametrize("case", ["udp-p2p-ntp", "pcapng-two-interfaces"])
def test_outbound_traffic_in_the_baseline_is_never_allowed_silently(
    tmp_path: Path, case: str
) -> None:
    path, text = _written(tmp_path, case)
    policy = load_policy(path)
    assert policy.exceptions == ()
    assert all(policy.is_inside(h.split("/")[0]) for r in policy.allow for h in r.hosts)
    assert "# [[exception]]" in text
    assert "WARNING:" in text
    result = verify([PCAPS / case], (), path)
    assert result.assessment.verdict.value == "not_isolated"


def test_the_commented_exceptions_once_accepted_cover_exactly_the_baseline(
    tmp_path: Path,
) -> None:
    _, text = _written(tmp_path, "udp-p2p-ntp")
    accepted = tmp_path / "accepted.toml"
    accepted.write_text(_uncomment_exceptions(text), encoding="utf-8")
    policy = load_policy(accepted)
    assert {r.name for r in policy.exceptions} == {
        "crossed udp/123 198.51.100.10",
        "crossed udp/8800 203.0.113.5",
        "look-up of www.easy4ipcloud.com",
    }
    assert verify([PCAPS / "udp-p2p-ntp"], (), accepted).assessment.verdict.value == "isolated"


def test_udp_p2p_ntp_baseline_allows_the_nvr_and_the_resolver_but_not_outside_names(
    tmp_path: Path,
) -> None:
    path, text = _written(tmp_path, "udp-p2p-ntp")
    data = tomllib.loads(text)
    assert [(a["hosts"], a["proto"], a["ports"]) for a in data["allow"]] == [
        (["10.66.0.1/32"], "udp", [53]),
        (["10.66.0.10/32"], "tcp", [554]),
    ]
    # allowing the site's resolver by address accepts the flows to it, never the outside
    # names a camera asks it for: that look-up stays a finding until a rule names it
    findings = verify([PCAPS / "udp-p2p-ntp"], (), path).assessment.findings
    assert any(f.rule == "DNS-EXTERNAL-RESOLVED" for f in findings)


def test_baseline_is_deterministic() -> None:
    first = baseline([PCAPS / "udp-p2p-ntp"], SITE).policy_text
    assert baseline([PCAPS / "udp-p2p-ntp"], SITE).policy_text == first


def test_baseline_needs_a_stated_closed_network() -> None:
    with pytest.raises(UsageError, match="closed-network"):
        baseline([PCAPS / "quiet-camera"], ())


def test_cli_writes_the_policy_and_warns_about_crossings(tmp_path: Path) -> None:
    out = tmp_path / "site.toml"
    result = runner.invoke(
        app,
        ["baseline", str(PCAPS / "udp-p2p-ntp"), "-n", SITE[0], "-n", SITE[1], "-o", str(out)],
    )
    assert result.exit_code == 0, result.stderr
    assert "warning: 2 destination(s) outside the closed network were reached" in result.stderr
    assert load_policy(out).closed_network == SITE


def test_cli_refuses_to_write_the_policy_over_the_capture(tmp_path: Path) -> None:
    capture = tmp_path / "c.pcap"
    capture.write_bytes((PCAPS / "quiet-camera" / "quiet-camera.pcap").read_bytes())
    before = capture.read_bytes()
    result = runner.invoke(app, ["baseline", str(capture), "-n", SITE[0], "-o", str(capture)])
    assert result.exit_code == 2
    assert "overwrite the evidence" in result.stderr
    assert "Traceback" not in result.stderr
    assert capture.read_bytes() == before


def test_cli_without_closed_network_is_a_usage_error() -> None:
    result = runner.invoke(app, ["baseline", str(PCAPS / "quiet-camera")])
    assert result.exit_code == 2


def test_hostile_names_cannot_break_out_of_a_comment_or_string(tmp_path: Path) -> None:
    from camaudit.model import Verdict
    from camaudit.policy.baseline import Baseline, Crossing, render_policy

    evil = 'x.example\n[[allow]]\nname = "all"\nports = [443]\n"'
    item = Crossing("dns", None, "udp", 53, (evil,), ("10.66.0.21",), evil, 1, evil)
    text = render_policy(
        Baseline("b\n[[allow]]", SITE, (evil,), Verdict.NOT_ISOLATED, (), (item,), (evil,))
    )
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)
    assert policy.allow == ()
    assert policy.exceptions == ()
    assert policy.name == "b\n[[allow]]"


CASES = sorted(p.name for p in PCAPS.iterdir() if (p / "expect.toml").is_file())


@pytest.mark.parametrize("case", CASES)
def test_the_policy_as_written_flags_everything_the_closed_network_alone_flags(
    tmp_path: Path, case: str
) -> None:
    path, _ = _written(tmp_path, case)
    bare = verify([PCAPS / case], SITE).assessment
    written = verify([PCAPS / case], (), path).assessment
    assert written.verdict == bare.verdict
    assert [f.rule for f in written.findings] == [f.rule for f in bare.findings]


def test_allowing_the_site_resolver_keeps_outside_look_ups_flagged(tmp_path: Path) -> None:
    path, text = _written(tmp_path, "dns-nxdomain")
    assert [r.name for r in load_policy(path).allow] == [
        "dns udp/53 on 10.66.0.1",
        "tcp/554 on 10.66.0.10",
    ]
    assert "NOT allowed: this entry would also accept" not in text
    written = verify([PCAPS / "dns-nxdomain"], (), path).assessment
    assert written.verdict.value == "isolated_with_attempts"
    assert {f.rule for f in written.findings} == {"DNS-EXTERNAL-LOOKUP"}
