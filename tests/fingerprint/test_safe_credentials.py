"""Credentials go only where they belong (issue 9, items 2 and 8).

Basic only when allowed, Digest preferred, challenges with control characters refused,
secrets echoed back hidden, TLS certificates pinned on first use (a changed one gets no
credentials), IP-less sightings nobody's evidence, one default closed network.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

from camaudit.api import identify
from camaudit.attempt import hide_secrets
from camaudit.discover.interface import Sighting
from camaudit.fingerprint import KnownHosts, fingerprint, fingerprint_many, secret_forms
from camaudit.fingerprint.http import HttpProbe
from camaudit.fingerprint.interface import ProbeTarget
from camaudit.policy import DEFAULT_CLOSED_NETWORK
from camaudit.report.model import to_dict
from lab.devices import RunningDevice
from lab.devices.replies import hik_device_info, http_response
from tests.fingerprint.fakes import HIK, crafted, credentials, variant

CREDS = credentials(HIK)
BASIC_OK = credentials(HIK, allow_basic=True)
INFO = "/ISAPI/System/deviceInfo"
TOKEN = base64.b64encode(f"{HIK.username}:{HIK.password}".encode()).decode()
OK = http_response(200, "OK", [])


def challenge(*offers: bytes) -> bytes:
    """A 401 with one WWW-Authenticate header per offer (as sent, control bytes and all)."""
    return http_response(401, "Unauthorized", [("WWW-Authenticate", offer) for offer in offers])


BASIC_401 = challenge(b'Basic realm="cam"')
DIGEST_401 = challenge(b'Digest realm="cam", qop="auth", nonce="abc"')


def authorizations(camera: RunningDevice) -> list[str]:
    return [r.headers["authorization"] for r in camera.requests if "authorization" in r.headers]


def test_basic_over_unverified_tls_gets_no_password_unless_basic_auth_is_allowed(device):
    camera = device(crafted({INFO: BASIC_401}, serve="https"))
    target = ProbeTarget("127.0.0.1", camera.ports["http"], 3.0, True, CREDS)
    attempt = HttpProbe(tls=True).run(target)
    assert authorizations(camera) == []
    refused = dict(attempt.facts)[f"endpoint_error:{INFO}"]
    assert "basic authentication not allowed" in refused and "--allow-basic-auth" in refused


def test_basic_is_sent_over_plain_http_only_when_the_user_allows_it(device):
    camera = device(crafted({INFO: BASIC_401}))
    HttpProbe().run(ProbeTarget("127.0.0.1", camera.ports["http"], 3.0, False, BASIC_OK))
    assert authorizations(camera) == [f"Basic {TOKEN}"]


def test_digest_is_preferred_when_the_device_offers_basic_too(device):
    both = challenge(b'Basic realm="cam"', b'Digest realm="cam", qop="auth", nonce="abc"')
    camera = device(crafted({INFO: both}))
    HttpProbe().run(ProbeTarget("127.0.0.1", camera.ports["http"], 3.0, False, BASIC_OK))
    (sent,) = authorizations(camera)
    assert sent.startswith("Digest ") and TOKEN not in sent


def test_a_bare_line_feed_in_a_digest_realm_is_never_copied_into_a_request(device):
    forged = challenge(b'Digest realm="cam\nX-Forged: yes", qop="auth", nonce="abc"')
    camera = device(crafted({INFO: forged}))
    attempt = HttpProbe().run(ProbeTarget("127.0.0.1", camera.ports["http"], 3.0, False, CREDS))
    assert authorizations(camera) == []
    assert "control characters" in dict(attempt.facts)[f"endpoint_error:{INFO}"]


def test_a_basic_token_reflected_by_the_device_is_hidden_in_the_facts(device):
    echoed = hik_device_info(variant(HIK, model=f"Basic {TOKEN}"))
    server = [("Server", f"echo {TOKEN}".encode())]
    camera = device(crafted({INFO: http_response(200, "OK", server, echoed)}))
    attempt = HttpProbe().run(ProbeTarget("127.0.0.1", camera.ports["http"], 3.0, False, BASIC_OK))
    text = json.dumps(attempt.facts)
    assert TOKEN.rstrip("=") not in text and HIK.password not in text
    assert "<hidden>" in text


def test_digest_responses_are_hidden_wherever_they_are_echoed():
    echoed = 'Digest username="a", response="0123456789abcdef0123456789abcdef", nc=1'
    assert (
        hide_secrets(echoed, secret_forms(CREDS))
        == 'Digest username="a", response="<hidden>", nc=1'
    )


def test_a_certificate_is_pinned_on_first_use_and_shown_in_the_report(device, tmp_path):
    camera = device(crafted({"/": OK}, serve="https"))
    port, sha256 = camera.ports["http"], camera.certificates["http"]
    pins = tmp_path / "state" / "known_hosts"
    result = identify(["127.0.0.1"], {"https": port}, None, 3.0, known_hosts=pins)
    assert f"127.0.0.1 {port} sha256:{sha256}" in pins.read_text()
    (found,) = to_dict(result.report)["inventory"]["devices"]
    assert found["tls_certificates"] == [{"probe": f"https:{port}", "sha256": sha256}]
    assert found["warnings"] == []


def test_a_changed_certificate_is_a_warning_and_the_device_gets_no_credentials(device, tmp_path):
    camera = device(crafted({"/": OK, INFO: DIGEST_401}, serve="https"))
    port, sha256 = camera.ports["http"], camera.certificates["http"]
    pins = tmp_path / "known_hosts"
    pins.write_text(f"127.0.0.1 {port} sha256:{'ab' * 32}\n")
    (result,) = fingerprint_many(
        ["127.0.0.1"], {"https": port}, CREDS, 3.0, known_hosts=KnownHosts(pins)
    )
    assert authorizations(camera) == []
    (warning,) = result.warnings
    assert f"now sha256:{sha256}" in warning and "credentials were not sent" in warning
    assert pins.read_text() == f"127.0.0.1 {port} sha256:{'ab' * 32}\n"  # never overwritten


def test_a_sighting_without_an_address_is_no_host_s_evidence(device):
    port = device("printer").ports["http"]
    stray = Sighting("sadp", None, "44:19:b6:00:00:01", (("model", "DS-2CD2143G0-I"),))
    result = fingerprint("127.0.0.1", {"http": port}, None, 3.0, sightings=[stray])
    assert result.identity.vendor is None
    assert not any("sadp" in line for line in result.identity.evidence)


def test_without_a_closed_network_verify_s_default_applies_and_the_report_says_so(device):
    onvif = device(HIK).ports["http"]
    result = identify(["127.0.0.1"], {"onvif": onvif}, CREDS, 3.0)
    (fp,) = result.fingerprints
    assert "NTP server 192.0.2.123 is outside the closed network" in " ".join(
        f.summary.text for f in fp.config_findings
    )
    scope = to_dict(result.report)["inventory"]["closed_network"]
    assert scope == {"networks": list(DEFAULT_CLOSED_NETWORK), "default": True}
    given = identify(["127.0.0.1"], {"onvif": onvif}, CREDS, 3.0, ["192.0.2.0/24"])
    assert to_dict(given.report)["inventory"]["closed_network"]["default"] is False
    assert not any("NTP" in f.summary.text for f in given.fingerprints[0].config_findings)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camaudit", "fingerprint", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def test_the_cli_sends_basic_only_with_allow_basic_auth_and_names_the_default_scope(
    device, tmp_path
):
    camera = device(crafted({INFO: BASIC_401}))
    port = camera.ports["http"]
    env = {
        "CAMAUDIT_USERNAME": HIK.username,
        "CAMAUDIT_PASSWORD": HIK.password,
        "CAMAUDIT_KNOWN_HOSTS": str(tmp_path / "known_hosts"),
        "COLUMNS": "200",
    }
    plain = run_cli("127.0.0.1", "--port", f"http={port}", "--timeout", "3", env=env)
    assert plain.returncode == 0, plain.stderr
    assert authorizations(camera) == []
    assert "default closed network" in plain.stdout
    allowed = run_cli(
        "127.0.0.1",
        "--port",
        f"http={port}",
        "--timeout",
        "3",
        "--allow-basic-auth",
        env=env,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert authorizations(camera) == [f"Basic {TOKEN}"]
    assert HIK.password not in allowed.stdout + allowed.stderr


def test_a_malformed_known_hosts_file_is_one_clear_error(tmp_path):
    pins = tmp_path / "known_hosts"
    pins.write_text("127.0.0.1 443 md5:abc\n")
    done = run_cli("127.0.0.1", "--known-hosts", str(pins), env={})
    assert done.returncode == 3
    assert done.stderr.startswith("camaudit: error: known hosts file") and "line 1" in done.stderr
    assert "Traceback" not in done.stderr
