"""Policy files: defaults, --closed-network overrides, validation, expiry, is_inside."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from camaudit.errors import PolicyError, UsageError
from camaudit.exitcodes import USAGE
from camaudit.fingerprint import closed_network_scope
from camaudit.policy import DEFAULT_CLOSED_NETWORK, Policy, ServiceRule, load_policy

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "profiles" / "policies"

GOOD = """\
schema_version = 1
name = "lab"
closed_network = ["10.66.0.0/24", "fd66::/64"]
devices = ["10.66.0.32/27"]
gateways = ["10.66.0.1"]
internal_domains = ["Cams.Example.Internal."]
fail_on = "leaks"

[[allow]]
name = "site NTP"
hosts = ["10.70.0.5"]
proto = "udp"
ports = [123]
reason = "internal NTP"

[[exception]]
name = "doorbell"
names = ["cloud.example.com"]
ports = [443]
reason = "accepted until replacement"
expires = 2027-01-01
"""


def write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> tuple[str, ...]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.path == str(path)
    return info.value.errors


def field_of(error: str) -> str:
    """The field an error names: the part after the file and the optional entry."""
    parts = error.split(": ")
    return parts[2] if "[" in parts[1] else parts[1]


# -- defaults and overrides ----------------------------------------------------------------


def test_default_policy_without_a_file() -> None:
    policy = load_policy(None)
    assert policy.name == "default"
    assert policy.path is None
    assert policy.closed_network == DEFAULT_CLOSED_NETWORK
    assert policy.closed_network_is_default is True
    assert policy.fail_on == "attempts"
    assert (policy.devices, policy.allow, policy.exceptions) == ((), (), ())


def test_shipped_default_policy_file_is_the_builtin_default() -> None:
    policy = load_policy(EXAMPLES / "default.toml")
    builtin = load_policy(None)
    assert policy.closed_network == builtin.closed_network
    assert policy.fail_on == builtin.fail_on
    assert (policy.allow, policy.exceptions, policy.devices) == ((), (), ())


def test_shipped_council_example_loads() -> None:
    policy = load_policy(EXAMPLES / "example-council.toml")
    assert policy.closed_network == ("10.66.0.0/24", "fd66::/64")
    assert policy.allow[0].name == "site NTP"
    (exception,) = policy.exceptions
    assert exception.reason
    assert exception.expires == dt.date(2027, 1, 1)


def test_policy_file_is_loaded_and_normalised(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD))
    assert policy.name == "lab"
    assert policy.path == str(tmp_path / "policy.toml")
    assert policy.closed_network_is_default is False
    assert policy.internal_domains == ("cams.example.internal",)
    assert policy.fail_on == "leaks"
    assert policy.allow == (
        ServiceRule(
            name="site NTP",
            reason="internal NTP",
            hosts=("10.70.0.5/32",),
            ports=(123,),
            proto="udp",
        ),
    )


def test_override_replaces_the_file_closed_network(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD), ["192.168.7.9/24", " 2001:db8::/32 "])
    assert policy.closed_network == ("192.168.7.0/24", "2001:db8::/32")
    assert policy.closed_network_is_default is False
    assert policy.is_inside("192.168.7.200")
    assert not policy.is_inside("10.66.0.5")


def test_override_without_a_file() -> None:
    policy = load_policy(None, ["10.66.0.0/24"])
    assert policy.closed_network == ("10.66.0.0/24",)
    assert policy.closed_network_is_default is False


def test_file_without_closed_network_uses_the_default(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, 'name = "x"\n'))
    assert policy.closed_network == DEFAULT_CLOSED_NETWORK
    assert policy.closed_network_is_default is True


def test_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, "", name="site-a.toml")).name == "site-a"


def test_bad_override_cidr_is_a_usage_error_on_one_line() -> None:
    with pytest.raises(UsageError) as info:
        load_policy(None, ["10.0.0.0/33"])
    assert "--closed-network" in str(info.value)
    assert "10.0.0.0/33" in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == USAGE


def test_missing_policy_file_is_a_policy_error_on_one_line(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path / "absent.toml")
    assert error.startswith(f"{tmp_path / 'absent.toml'}: cannot read file")
    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path / "absent.toml")
    assert "\n" not in str(info.value)


# -- validation ----------------------------------------------------------------------------


def test_unknown_key_is_reported_with_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("fail_on", "fial_on"))
    (error,) = errors_of(path)
    assert error == f"{path}: 'fial_on': unknown field (did you mean 'fail_on'?)"


def test_invalid_cidr_is_reported_with_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"fd66::/64"', '"fd66::/129"'))
    (error,) = errors_of(path)
    assert error.startswith(f"{path}: closed_network: expected a list of CIDRs")
    assert "fd66::/129" in error


def test_wrong_type_is_reported_with_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('devices = ["10.66.0.32/27"]', 'devices = "10.66.0.32/27"'))
    (error,) = errors_of(path)
    assert error.startswith(f"{path}: devices: expected a list of CIDRs")


def test_exception_without_reason_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('reason = "accepted until replacement"\n', ""))
    (error,) = errors_of(path)
    assert error == f"{path}: exception[1] (doorbell): reason: missing (required)"


def test_allow_without_reason_is_accepted(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD.replace('reason = "internal NTP"\n', "")))
    assert policy.allow[0].reason == ""


def test_bad_fail_on_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"leaks"', '"never"'))
    (error,) = errors_of(path)
    assert error == f"{path}: fail_on: expected one of attempts, leaks, got 'never'"


def test_port_out_of_range_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("ports = [123]", "ports = [123, 65536]"))
    (error,) = errors_of(path)
    assert error.startswith(
        f"{path}: allow[1] (site NTP): ports: expected a list of integers 1-65535"
    )


def test_gateways_must_be_addresses(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('gateways = ["10.66.0.1"]', 'gateways = ["10.66.0.0/24"]'))
    (error,) = errors_of(path)
    assert error.startswith(f"{path}: gateways: expected a list of IP addresses")


def test_empty_closed_network_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "closed_network = []\n")
    (error,) = errors_of(path)
    assert error.startswith(f"{path}: closed_network: expected a non-empty list")


def test_rule_must_say_what_it_accepts(tmp_path: Path) -> None:
    path = write(tmp_path, '[[allow]]\nname = "anything"\nproto = "tcp"\n')
    (error,) = errors_of(path)
    assert error == f"{path}: allow[1] (anything): expected at least one of hosts, names, ports"


def test_duplicate_rule_names_are_errors(tmp_path: Path) -> None:
    rule = '[[allow]]\nname = "ntp"\nports = [123]\n'
    (error,) = errors_of(write(tmp_path, rule + rule))
    assert error.endswith("allow[2] (ntp): name: duplicate of allow[1]")


def test_every_error_is_listed_at_once(tmp_path: Path) -> None:
    bad = (
        GOOD.replace('"leaks"', '"never"')
        .replace('"10.70.0.5"', '"10.70.0.300"')
        .replace('reason = "accepted until replacement"\n', "")
        .replace("expires = 2027-01-01", 'expires = "soon"')
        + "colour = 1\n"
    )
    errors = errors_of(write(tmp_path, bad))
    fields = sorted(field_of(error) for error in errors)
    assert fields == ["'colour'", "expires", "fail_on", "hosts", "reason"]


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\nclosed_network = ["10.0.0.0/8",, "fd00::/8"]\n')
    (error,) = errors_of(path)
    assert error.startswith(f"{path}: line 2, column 32: TOML syntax error: ")


def test_toml_error_at_end_of_file_names_the_last_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "x"\nclosed_network = ["10.0.0.0/8"\n')
    (error,) = errors_of(path)
    assert error == f"{path}: line 3 (end of file): TOML syntax error: Unclosed array"


def test_unsupported_schema_version_is_reported(tmp_path: Path) -> None:
    (error,) = errors_of(write(tmp_path, "schema_version = 2\n"))
    assert "schema_version: unsupported version 2" in error


# -- expiry --------------------------------------------------------------------------------


def test_expiry_accepts_a_toml_date_or_an_iso_string(tmp_path: Path) -> None:
    native = load_policy(write(tmp_path, GOOD, "a.toml"))
    text = load_policy(write(tmp_path, GOOD.replace("2027-01-01", '"2027-01-01"'), "b.toml"))
    assert native.exceptions[0].expires == text.exceptions[0].expires == dt.date(2027, 1, 1)


def test_expiry_rejects_a_datetime(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("2027-01-01", "2027-01-01T00:00:00"))
    (error,) = errors_of(path)
    assert error.startswith(f"{path}: exception[1] (doorbell): expires: expected a date")


def test_exception_applies_through_its_expiry_day() -> None:
    rule = ServiceRule(name="x", reason="y", ports=(1,), expires=dt.date(2027, 1, 1))
    assert not rule.is_expired(dt.date(2027, 1, 1))
    assert rule.is_expired(dt.date(2027, 1, 2))
    assert not ServiceRule(name="x", reason="y", ports=(1,)).is_expired()


def test_only_exceptions_expire(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace('reason = "internal NTP"', 'reason = "x"\nexpires = 2027-01-01')
    )
    (error,) = errors_of(path)
    assert error == f"{path}: allow[1] (site NTP): expires: only [[exception]] entries expire"


# -- is_inside -----------------------------------------------------------------------------


def test_is_inside_ipv4() -> None:
    policy = Policy(name="t", path=None, closed_network=("10.66.0.0/24",))
    assert policy.is_inside("10.66.0.7")
    assert not policy.is_inside("10.66.1.7")
    assert not policy.is_inside("8.8.8.8")
    assert policy.is_inside("::ffff:10.66.0.7")


def test_is_inside_ipv6() -> None:
    policy = load_policy(None)
    assert policy.is_inside("fd66::1")
    assert policy.is_inside("fe80::1%eth0")
    assert not policy.is_inside("2001:db8::1")
    assert not policy.is_inside("not-an-address")


def test_is_inside_results_are_stable_when_cached() -> None:
    policy = Policy(name="t", path=None, closed_network=("192.168.0.0/16",))
    assert [policy.is_inside("192.168.1.1") for _ in range(3)] == [True, True, True]


def test_names_are_not_trusted_from_sni_or_host_unless_the_rule_says_so(tmp_path: Path) -> None:
    rules = (
        '[[allow]]\nname = "updates"\nnames = ["updates.vendor.example"]\n\n'
        '[[exception]]\nname = "doorbell"\nnames = ["cloud.example.com"]\nreason = "x"\n'
        "trust_client_names = true\n"
    )
    policy = load_policy(write(tmp_path, rules))
    assert policy.allow[0].trust_client_names is False
    assert policy.exceptions[0].trust_client_names is True


def test_trust_client_names_must_be_a_boolean(tmp_path: Path) -> None:
    rule = '[[allow]]\nname = "u"\nnames = ["a.example"]\ntrust_client_names = "yes"\n'
    (error,) = errors_of(write(tmp_path, rule))
    assert error == (
        f"{tmp_path / 'policy.toml'}: allow[1] (u): trust_client_names: "
        "expected true or false, got 'yes'"
    )


def test_trust_client_names_needs_names_to_trust(tmp_path: Path) -> None:
    rule = '[[allow]]\nname = "u"\nports = [443]\ntrust_client_names = true\n'
    (error,) = errors_of(write(tmp_path, rule))
    assert error.endswith("allow[1] (u): trust_client_names: needs names to trust")


def test_the_closed_network_is_one_scope_with_one_membership_test() -> None:
    scope = load_policy(None).scope
    assert scope.is_default and scope.cidrs == DEFAULT_CLOSED_NETWORK
    assert scope.contains("::ffff:10.66.0.7")
    assert scope.contains("fe80::1%eth0")
    assert not scope.contains("203.0.113.5")
    assert closed_network_scope(()) == scope


def test_always_local_addresses_never_leave_the_link_whatever_the_scope() -> None:
    scope = load_policy(None, ["10.66.0.0/24"]).scope
    assert not scope.is_default
    for address in ("127.0.0.1", "224.0.0.251", "ff02::fb", "255.255.255.255", "169.254.1.1"):
        assert scope.is_local(address), address
    assert not scope.is_local("10.66.1.7")
