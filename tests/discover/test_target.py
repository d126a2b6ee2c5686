"""The network rule: explicit, non-public targets only; refusals are one line with a reason."""

from __future__ import annotations

import pytest

from camaudit.discover import MAX_ADDRESSES, Target, discover, target_hosts, target_networks
from camaudit.discover.registry import METHODS, create
from camaudit.errors import UsageError

# Documentation ranges play "the internet" in the lab; to discovery they are public space.
PUBLIC = "203.0.113.0/24"


def test_public_address_space_is_refused_with_a_one_line_reason() -> None:
    with pytest.raises(UsageError) as refused:
        target_networks(Target(networks=(PUBLIC,)))
    message = str(refused.value)
    assert "public address space" in message
    assert "--allow-public" in message
    assert "\n" not in message


@pytest.mark.parametrize("network", ["192.0.2.7", "198.51.100.0/25", "203.0.113.9/32", "0.0.0.0/0"])
def test_any_public_network_in_the_list_refuses_the_whole_target(network: str) -> None:
    with pytest.raises(UsageError):
        target_networks(Target(networks=("10.66.0.0/24", network)))


def test_public_space_is_accepted_only_with_allow_public() -> None:
    assert [str(n) for n in target_networks(Target(networks=(PUBLIC,)), allow_public=True)] == [
        PUBLIC
    ]


@pytest.mark.parametrize(
    "network", ["10.66.0.0/24", "172.16.5.0/24", "192.168.1.64", "127.0.0.1/32", "169.254.0.0/24"]
)
def test_private_loopback_and_link_local_networks_are_accepted(network: str) -> None:
    assert target_networks(Target(networks=(network,)))


def test_there_is_no_default_network() -> None:
    with pytest.raises(UsageError, match="never chooses"):
        target_networks(Target(networks=()))


@pytest.mark.parametrize(
    ("network", "reason"),
    [
        ("10.0.0.0/19", "at most"),
        ("239.255.255.250/32", "multicast"),
        ("fd66::/120", "IPv6"),
        ("10.66.0.300/24", "not an IPv4"),
    ],
)
def test_unusable_targets_are_refused_with_the_reason(network: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        target_networks(Target(networks=(network,)), allow_public=True)


def test_a_slash_20_is_the_largest_sweep() -> None:
    assert MAX_ADDRESSES == 4096
    assert target_networks(Target(networks=("10.1.0.0/20",)))


def test_hosts_leave_out_network_and_broadcast_addresses() -> None:
    hosts = target_hosts(target_networks(Target(networks=("10.66.0.0/30", "10.66.0.1"))))
    assert hosts == ("10.66.0.1", "10.66.0.2")


def test_discover_refuses_public_space_before_sending_anything() -> None:
    with pytest.raises(UsageError, match="public address space"):
        discover(Target(networks=(PUBLIC,)), methods=["sadp"])


def test_discover_refuses_an_unknown_interface() -> None:
    with pytest.raises(UsageError, match="no network interface"):
        discover(Target(networks=("127.0.0.1/32",), interface="nosuchif0"), methods=[])


def test_discover_refuses_an_unknown_method_naming_the_known_ones() -> None:
    with pytest.raises(UsageError, match="known: arp, wsdiscovery, sadp, dhip, nmap"):
        discover(Target(networks=("127.0.0.1/32",)), methods=["telnet"])


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_run_directly_refuses_public_space_as_an_error_attempt(name: str) -> None:
    attempt = create(name).run(Target(networks=(PUBLIC,), timeout=0.2))
    assert attempt.status == "error"
    assert attempt.error is not None
    assert attempt.error.startswith("refused:")
    assert attempt.sightings == ()
