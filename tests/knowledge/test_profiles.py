"""Profiles: the shipped TOML data loads, look-ups answer correctly, validation reports all."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from camaudit.errors import ProfileError
from camaudit.knowledge.profiles import (
    Profiles,
    clear_profiles_cache,
    default_profiles_dir,
    load_profiles,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "profiles"


def entry(table: str, **fields: object) -> str:
    """One ``[[table]]`` entry of a profile file (values written as JSON, which TOML reads)."""
    return f"\n[[{table}]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items())


def rule(rule_id: str, kind: str, **fields: object) -> str:
    """A phone-home rule of vendor ezviz with the fields every rule needs."""
    return entry("rule", id=rule_id, vendor="ezviz", label="x", kind=kind, **fields) + (
        'purpose = "x"\nverified = true\nsource = "x"\n'
    )


OUI_OK = (
    'schema_version = 1\nvendors = ["hikvision", "other-oem"]\n'
    + entry(
        "oui", prefix="04:03:12", organisation="Test Hikvision", vendor="hikvision", source="test"
    )
    + entry(
        "oui",
        prefix="04:03:12:50:00:00/28",
        organisation="Test Hikrobot",
        vendor="other-oem",
        source="test",
    )
)

PHONE_HOME_OK = 'schema_version = 1\nvendors = ["ezviz"]\n' + entry(
    "rule",
    id="ezviz-cloud",
    vendor="ezviz",
    label="EZVIZ cloud",
    kind="dns",
    domains=["ezvizlife.com"],
    purpose="test",
    verified=True,
    source="test",
)

CVE_OK = """\
schema_version = 1
vendors = ["hikvision"]

[[cve]]
id = "CVE-2021-36260"
vendor = "hikvision"
product_scope = "cameras"
applies_to_cameras = true
affected = "build<210628"
cvss = 9.8
source = "test"

  [[cve.range]]
  build_before = 2021-06-28
"""


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_profiles_cache()
    yield
    clear_profiles_cache()


@pytest.fixture
def shipped() -> Profiles:
    return load_profiles(SHIPPED)


def write_profiles(
    directory: Path, oui: str = OUI_OK, phone_home: str = PHONE_HOME_OK, cve: str = CVE_OK
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "oui.toml").write_text(oui, encoding="utf-8")
    (directory / "phone_home.toml").write_text(phone_home, encoding="utf-8")
    (directory / "cve.toml").write_text(cve, encoding="utf-8")
    return directory


def errors_of(directory: Path) -> tuple[str, ...]:
    with pytest.raises(ProfileError) as info:
        load_profiles(directory)
    return info.value.errors


def only_error(tmp_path: Path, **files: str) -> tuple[Path, str]:
    """A profiles directory with ``files`` (oui, phone_home, cve) in place of the good ones,
    and the one error it gets."""
    directory = write_profiles(tmp_path / "p", **files)
    (error,) = errors_of(directory)
    return directory, error


# -- the shipped data ----------------------------------------------------------------------


def test_shipped_profiles_load_without_error(shipped: Profiles) -> None:
    assert len(shipped.ouis) == 84 + 17  # oui.tsv + profiles/tools/camera_makers_oui.tsv
    assert len(shipped.cves) == 25
    assert len({c.id for c in shipped.cves}) == 14
    assert len(shipped.rules) >= 49
    assert shipped.directory == str(SHIPPED.resolve())


def test_every_rule_has_a_source_label_and_purpose(shipped: Profiles) -> None:
    for rule in shipped.rules:
        assert rule.source.strip(), rule.id
        assert rule.label.strip(), rule.id
        assert rule.purpose.strip(), rule.id


def test_every_oui_and_cve_has_a_source(shipped: Profiles) -> None:
    assert all(entry.source.strip() for entry in shipped.ouis)
    assert all(entry.source.strip() for entry in shipped.cves)


def test_unverified_reference_rows_are_marked_unverified(shipped: Profiles) -> None:
    for rule in shipped.rules:
        if rule.purpose.startswith("unverified"):
            assert rule.verified is False, rule.id


def test_derived_rules_point_at_existing_rules(shipped: Profiles) -> None:
    ids = {rule.id for rule in shipped.rules}
    derived = [rule for rule in shipped.rules if rule.derived_from]
    assert derived
    assert all(rule.derived_from in ids for rule in derived)


def test_product_code_holds_no_phone_home_domain(shipped: Profiles) -> None:
    domains = {d for rule in shipped.rules for d in rule.domains}
    for path in (REPO / "camaudit").rglob("*.py"):
        text = path.read_text(encoding="utf-8").lower()
        found = sorted(d for d in domains if d in text)
        assert not found, f"{path} hard-codes {found}"


# -- names ---------------------------------------------------------------------------------


# name -> the rule it must match: an exact name, a subdomain, case and a trailing dot
# ignored, the most specific domain winning, a wildcard pattern beating a shorter suffix
NAME_RULES = {
    "litedev.ezvizlife.com": "ezviz-litedev",
    "apiieu.ezvizlife.com": "ezviz-cloud",
    "A.LiteDev.EZVIZLIFE.com.": "ezviz-litedev",
    "time.ys7.com": "ezviz-ntp",
    "open.ys7.com": "ezviz-ys7",
    "cellphonepush.quickddns.com": "dahua-push",
    "vtmtxeu.ezvizlife.com": "ezviz-vtm",
}


@pytest.mark.parametrize(("name", "rule_id"), NAME_RULES.items())
def test_a_name_matches_its_most_specific_rule(shipped: Profiles, name: str, rule_id: str) -> None:
    rule = shipped.match_name(name)
    assert rule is not None
    assert rule.id == rule_id


def test_a_rule_match_carries_its_label(shipped: Profiles) -> None:
    labels = {"apiieu.ezvizlife.com": "EZVIZ / Hik-Connect cloud", "time.ys7.com": "vendor NTP"}
    for name, label in labels.items():
        found = shipped.match_name(name)
        assert found is not None
        assert found.label == label


def test_look_alike_domain_does_not_match(shipped: Profiles) -> None:
    assert shipped.match_name("notezvizlife.com") is None
    assert shipped.match_name("ezvizlife.com.attacker.example") is None
    assert shipped.match_name("") is None


def test_public_ntp_names_are_not_attributed_to_a_vendor(shipped: Profiles) -> None:
    rule = shipped.match_name("2.pool.ntp.org")
    assert rule is not None
    assert rule.label == "public NTP"
    assert rule.vendor == "generic"


# -- MAC prefixes --------------------------------------------------------------------------


def test_oui_lookup_finds_a_hikvision_ma_l(shipped: Profiles) -> None:
    entry = shipped.oui_lookup("04:03:12:aa:bb:cc")
    assert entry is not None
    assert (entry.vendor, entry.bits, entry.prefix) == ("hikvision", 24, "04:03:12")


def test_shipped_ma_m_block_is_found(shipped: Profiles) -> None:
    inside = shipped.oui_lookup("b0:b3:53:6f:ff:ff")
    assert inside is not None
    assert (inside.bits, inside.vendor) == (28, "other-oem")
    assert "Hikrobot" in inside.organisation
    assert shipped.oui_lookup("b0:b3:53:70:00:00", fallback=False) is None


def test_ma_m_block_beats_an_overlapping_ma_l(tmp_path: Path) -> None:
    profiles = load_profiles(write_profiles(tmp_path / "p"))
    robot = profiles.oui_lookup("04:03:12:5a:bc:de")
    assert robot is not None
    assert (robot.bits, robot.organisation) == (28, "Test Hikrobot")
    hik = profiles.oui_lookup("04:03:12:6a:bc:de")
    assert hik is not None
    assert (hik.bits, hik.organisation) == (24, "Test Hikvision")


@pytest.mark.parametrize(
    "mac",
    ["08:ed:ed:01:02:03", "08-ED-ED-01-02-03", "08ed.ed01.0203", "08eded010203", "8:ed:ed:1:2:3"],
)
def test_mac_formats_are_accepted(shipped: Profiles, mac: str) -> None:
    entry = shipped.oui_lookup(mac)
    assert entry is not None
    assert entry.vendor == "dahua"


@pytest.mark.parametrize("mac", ["", "not-a-mac", "08:ed:ed:01:02", "0a:ed:ed:01:02:03"])
def test_invalid_and_locally_administered_macs_have_no_oui(shipped: Profiles, mac: str) -> None:
    assert shipped.oui_lookup(mac) is None


def test_fallback_names_a_non_camera_maker_other(shipped: Profiles) -> None:
    entry = shipped.oui_lookup("00:00:0c:12:34:56")  # Cisco, in every IEEE registry
    assert entry is not None
    assert entry.vendor == "other"
    assert "cisco" in entry.organisation.lower()
    assert "netaddr" in entry.source
    assert shipped.oui_lookup("00:00:0c:12:34:56", fallback=False) is None


def test_fallback_reads_one_block_without_loading_netaddrs_whole_index() -> None:
    # netaddr.OUI() first parses the index of all ~40 000 blocks (a quarter of a second);
    # a verify names a device outside our blocks with one look-up.
    script = (
        "import sys\n"
        "from camaudit.knowledge.profiles import load_profiles\n"
        "entry = load_profiles(None).oui_lookup('00:00:0c:12:34:56')\n"
        "assert 'netaddr.eui.ieee' not in sys.modules, 'the whole index was loaded'\n"
        "import netaddr\n"
        "assert entry.organisation == netaddr.OUI(0x00000C).registration().org.strip()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)


def test_fallback_names_every_block_as_netaddr_does(shipped: Profiles) -> None:
    import netaddr
    from netaddr.eui import ieee

    blocks = sorted(ieee.OUI_INDEX)  # a spread of the registry, its first and last block too
    unregistered = next(n for n in range(1 << 24) if n not in ieee.OUI_INDEX)
    for oui in [*blocks[::97], blocks[0], blocks[-1], unregistered]:
        mac = ":".join(f"{b:02x}" for b in (oui << 24 | 0x000001).to_bytes(6, "big"))
        if (oui >> 16) & 0x03 or shipped.oui_lookup(mac, fallback=False) is not None:
            continue  # multicast or local: no maker; one of our blocks: our own entry
        try:
            expected = str(netaddr.OUI(oui).registration().org).strip()
        except netaddr.NotRegisteredError:
            expected = ""
        found = shipped.oui_lookup(mac)
        if found is None:
            assert not expected or any(s in expected.lower() for s in shipped.fallback_skip)
        else:
            assert found.organisation == expected, mac


def test_fallback_maps_a_newer_vendor_block_through_the_registrant_table(
    shipped: Profiles,
) -> None:
    entry = shipped.oui_lookup("08:cc:81:00:00:01")  # Hikvision, allocated after 2022-08
    if entry is None:
        pytest.skip("this netaddr version does not know 08:CC:81")
    assert entry.vendor == "hikvision"
    assert "netaddr" in entry.source


# -- ports and payloads --------------------------------------------------------------------


def test_dahua_p2p_payload_matches_dhget_rule(shipped: Profiles) -> None:
    payload = b"DHGET /probe/p2psrv HTTP/1.1\r\nX-WSSE: x\r\n\r\n"
    rule = shipped.match_payload("udp", 8800, payload)
    assert rule is not None
    assert rule.id == "dahua-p2p-dhget"
    assert rule.label == "Dahua Easy4IP P2P"
    assert rule.vendor == "dahua"
    assert shipped.match_payload("tcp", 8800, payload) is None


def test_payload_length_is_enforced(shipped: Profiles) -> None:
    punch = bytes.fromhex("fffeffe7") + bytes(40)
    rule = shipped.match_payload("udp", 40000, punch)
    assert rule is not None
    assert rule.id == "dahua-p2p-punch"
    assert shipped.match_payload("udp", 40000, punch + b"\x00") is None


def test_payload_rule_with_ports_only_matches_those_ports(shipped: Profiles) -> None:
    rule = shipped.match_payload("tcp", 31006, b"\x10\x2a\x00\x04MQTT")
    assert rule is not None
    assert rule.id == "ezviz-mqtt-connect"
    assert shipped.match_payload("tcp", 1883, b"\x10\x2a\x00\x04MQTT") is None


def test_upnp_igd_search_is_labelled_but_other_ssdp_is_not(shipped: Profiles) -> None:
    igd = b"M-SEARCH * HTTP/1.1\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
    rule = shipped.match_payload("udp", 1900, igd)
    assert rule is not None
    assert rule.label == "UPnP IGD discovery"
    assert shipped.match_payload("udp", 1900, b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n") is None


def test_port_rule_prefers_verified_and_protocol_specific(shipped: Profiles) -> None:
    udp = shipped.match_port("udp", 8800)
    assert udp is not None
    assert udp.label == "Dahua Easy4IP P2P"
    tcp = shipped.match_port("TCP", 8800)
    assert tcp is not None
    assert tcp.vendor == "ezviz"
    dvrip = shipped.match_port("tcp", 37777)
    assert dvrip is not None
    assert dvrip.label == "Dahua DVRIP"


def test_generic_ports_have_no_port_rule(shipped: Profiles) -> None:
    for proto, port in (("udp", 123), ("tcp", 443), ("tcp", 80), ("udp", 53), ("icmp", 8800)):
        assert shipped.match_port(proto, port) is None


def test_info_rules_never_match(shipped: Profiles) -> None:
    info = [rule for rule in shipped.rules if rule.kind == "info"]
    assert info
    assert all(not (r.domains or r.patterns or r.payload_prefix) for r in info)


# -- CVEs ----------------------------------------------------------------------------------


def test_cve_affected_strings_are_parsed_into_ranges(shipped: Profiles) -> None:
    by_id = {c.id: c for c in shipped.cves}
    hik = by_id["CVE-2021-36260"]
    assert hik.ranges[0].build_before == dt.date(2021, 6, 28)
    assert hik.kev_date_added == dt.date(2022, 1, 10)
    assert hik.affected_verified is False
    assert by_id["CVE-2021-33044"].ranges[0].build_before == dt.date(2021, 6, 1)
    amcrest = by_id["CVE-2020-5735"]
    assert len(amcrest.ranges) == 6
    assert all(
        r.branch and (r.below_version or "").startswith(r.branch) for r in amcrest.ranges if r
    )
    old = next(c for c in shipped.cves if c.id == "CVE-2017-7921").ranges[0]
    assert (old.min_version, old.min_build) == ("5.2.0", dt.date(2014, 7, 21))
    assert by_id["CVE-2017-9765"].ranges[0].component == "gsoap"


def test_storage_and_bridge_cves_do_not_apply_to_cameras(shipped: Profiles) -> None:
    not_cameras = {c.id for c in shipped.cves if not c.applies_to_cameras}
    assert not_cameras == {"CVE-2022-28171", "CVE-2022-28172", "CVE-2022-28173", "CVE-2023-28808"}


def test_kev_dates_match_the_snapshot(shipped: Profiles) -> None:
    in_kev = {c.id for c in shipped.cves if c.kev_date_added is not None}
    assert in_kev == {"CVE-2021-36260", "CVE-2021-33044", "CVE-2021-33045", "CVE-2020-5735"}


# -- validation ----------------------------------------------------------------------------


def test_minimal_profiles_directory_loads(tmp_path: Path) -> None:
    profiles = load_profiles(write_profiles(tmp_path / "p"))
    assert [r.id for r in profiles.rules] == ["ezviz-cloud"]


def test_validation_reports_several_errors_at_once_with_file_and_field(tmp_path: Path) -> None:
    broken_rules = PHONE_HOME_OK + rule("ezviz-mqtt", "port", ports=[31006, 70000]).replace(
        "verified = true", 'verified = "yes"'
    )
    broken_cve = CVE_OK.replace("cvss = 9.8", "cvss = 12")
    directory = write_profiles(tmp_path / "p", phone_home=broken_rules, cve=broken_cve)
    errors = errors_of(directory)
    phone_home = f"{directory / 'phone_home.toml'}: rule[2] (ezviz-mqtt)"
    assert f"{phone_home}: ports: expected a list of integers 1-65535" in "\n".join(errors)
    assert any(e.startswith(f"{phone_home}: verified: expected true or false") for e in errors)
    assert any(
        e.startswith(f"{directory / 'cve.toml'}: cve[1] (CVE-2021-36260): cvss:") for e in errors
    )
    assert len(errors) == 3


def test_unknown_field_is_reported_with_file_and_field(tmp_path: Path) -> None:
    directory, error = only_error(
        tmp_path, oui=OUI_OK.replace('source = "test"', 'source = "test"\nsorce = "x"', 1)
    )
    assert error.startswith(f"{directory / 'oui.toml'}: oui[1] (04:03:12): 'sorce': unknown field")
    assert "did you mean 'source'" in error


def test_missing_required_field_is_reported(tmp_path: Path) -> None:
    _, error = only_error(tmp_path, phone_home=PHONE_HOME_OK.replace('source = "test"\n', ""))
    assert error.endswith("rule[1] (ezviz-cloud): source: missing (required)")


def test_duplicate_rule_ids_are_errors(tmp_path: Path) -> None:
    twice = PHONE_HOME_OK + PHONE_HOME_OK.split("\n", 3)[3].replace("ezvizlife.com", "ys7.com")
    errors = errors_of(write_profiles(tmp_path / "p", phone_home=twice))
    assert any("rule[2] (ezviz-cloud): id: duplicate of rule[1]" in e for e in errors)


def test_domain_in_two_rules_is_an_error(tmp_path: Path) -> None:
    twice = PHONE_HOME_OK + PHONE_HOME_OK.split("\n", 3)[3].replace('"ezviz-cloud"', '"other"')
    errors = errors_of(write_profiles(tmp_path / "p", phone_home=twice))
    assert any("domains: 'ezvizlife.com' is already in rule 'ezviz-cloud'" in e for e in errors)


def test_vendor_outside_the_file_vocabulary_is_an_error(tmp_path: Path) -> None:
    typo = PHONE_HOME_OK.replace('vendor = "ezviz"', 'vendor = "ezivz"')
    _, error = only_error(tmp_path, phone_home=typo)
    assert "rule[1] (ezviz-cloud): vendor: expected one of the file's vendors (ezviz)" in error


def test_kind_specific_fields_are_checked(tmp_path: Path) -> None:
    rules = (
        PHONE_HOME_OK
        + rule("port-with-domain", "port", domains=["example.com"])
        + rule("payload-mismatch", "payload", payload_prefix_hex="44 48", payload_prefix_text="XX")
    )
    errors = "\n".join(errors_of(write_profiles(tmp_path / "p", phone_home=rules)))
    assert "rule[2] (port-with-domain): ports: required for kind 'port'" in errors
    assert "rule[2] (port-with-domain): domains: not allowed for kind 'port'" in errors
    assert (
        "rule[3] (payload-mismatch): payload_prefix_hex: 44 48 is not payload_prefix_text" in errors
    )


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    directory, error = only_error(tmp_path, cve=CVE_OK.replace("cvss = 9.8", "cvss = = 9.8"))
    assert error.startswith(f"{directory / 'cve.toml'}: line 10, column ")
    assert "TOML syntax error" in error


def test_missing_profile_file_and_bad_schema_are_both_reported(tmp_path: Path) -> None:
    directory = write_profiles(
        tmp_path / "p", oui=OUI_OK.replace("schema_version = 1", "schema_version = 2")
    )
    (directory / "cve.toml").unlink()
    errors = errors_of(directory)
    assert any(
        e.startswith(f"{directory / 'oui.toml'}: schema_version: unsupported version 2")
        for e in errors
    )
    assert any(e.startswith(f"{directory / 'cve.toml'}: cannot read file") for e in errors)


def test_missing_profiles_directory_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="profiles directory not found"):
        load_profiles(tmp_path / "nowhere")


def test_cve_range_needs_a_bound(tmp_path: Path) -> None:
    cve = CVE_OK.replace("build_before = 2021-06-28", 'component = "firmware"')
    _, error = only_error(tmp_path, cve=cve)
    assert "cve[1] (CVE-2021-36260): range[1]: expected at least one of" in error


# -- locating and caching ------------------------------------------------------------------


def test_profiles_are_cached_per_directory(tmp_path: Path) -> None:
    first = load_profiles(write_profiles(tmp_path / "a"))
    assert load_profiles(tmp_path / "a") is first
    assert load_profiles(write_profiles(tmp_path / "b")) is not first


def test_default_profiles_dir_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMAUDIT_PROFILES", str(tmp_path))
    assert default_profiles_dir() == tmp_path


def test_default_profiles_dir_in_a_checkout_is_the_repo_profiles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CAMAUDIT_PROFILES", raising=False)
    if (REPO / "camaudit" / "_profiles").is_dir():
        pytest.skip("running from an installed layout")
    assert default_profiles_dir() == SHIPPED
    assert load_profiles() is load_profiles(SHIPPED)
