"""Address text made and read by the C library is, to the letter, what :mod:`ipaddress` makes
and reads: a flow's addresses, the policy's membership tests and every report read the same
whichever of the two did the work (camaudit/addresses.py)."""

from __future__ import annotations

import ipaddress
import platform
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from camaudit import addresses
from camaudit.addresses import ipv4_text, ipv6_text, parse_address
from camaudit.policy import evaluate
from camaudit.policy.load import in_networks, load_policy, networks
from camaudit.traffic.slowpath import address

MANY = settings(max_examples=400, deadline=None)

# Eight groups, mostly zero or all-ones, so that runs of zero groups of every length and
# place (where spellings differ: which run becomes ::) come up often.
_GROUP = st.one_of(st.just(0), st.just(0), st.just(0xFFFF), st.integers(0, 0xFFFF))
IPV6 = st.one_of(
    st.integers(0, 2**128 - 1),
    st.lists(_GROUP, min_size=8, max_size=8).map(
        lambda groups: sum(g << (16 * (7 - i)) for i, g in enumerate(groups))
    ),
)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="checked against glibc only")
def test_the_c_library_writes_ipv6_as_ipaddress_does_here() -> None:
    assert addresses._NTOP  # else every IPv6 address is printed by ipaddress (slow)


@MANY
@given(IPV6)
@example(0)
@example(1)
@example(0xFFFF_0102_0304)  # ::ffff:1.2.3.4, which the C library writes as a dotted quad
@example(0x0102_0304)  # ::1.2.3.4, the same
@example(0x2001_0DB8_0000_0000_0001_0000_0000_0001)  # two equal runs: the first is ::
@example(0x2001_0DB8_0000_0001_0001_0001_0001_0001)  # a lone zero group stays 0
def test_ipv6_text_is_what_ipaddress_prints(value: int) -> None:
    assert ipv6_text(value) == str(ipaddress.IPv6Address(value))


@MANY
@given(st.integers(0, 2**32 - 1))
def test_ipv4_text_is_what_ipaddress_prints(value: int) -> None:
    assert ipv4_text(value) == str(ipaddress.IPv4Address(value))


@MANY
@given(IPV6)
def test_a_flow_end_is_spelled_as_before(value: int) -> None:
    """The traffic stage's text for an address held as two halves (IPv4 as v4-mapped)."""
    hi, lo = value >> 64, value & (2**64 - 1)
    mapped = ipaddress.IPv6Address(value).ipv4_mapped
    assert address(hi, lo) == str(mapped or ipaddress.IPv6Address(value))


def _read(
    reader: Callable[[str], ipaddress.IPv4Address | ipaddress.IPv6Address], text: str
) -> object:
    """What ``reader`` makes of ``text``: the address's kind, value and zone, or ValueError."""
    try:
        parsed = reader(text)
    except ValueError:
        return ValueError
    return (type(parsed), int(parsed), getattr(parsed, "scope_id", None))


EXAMPLES = (
    "fe80::1%eth0",
    "::ffff:10.66.0.7",
    "::10.66.0.7",
    "010.66.0.7",  # a leading zero: ipaddress refuses it (octal or decimal?)
    "1.2.3.4 ",
    "fd66::21\x00",
    "",
    "fd66:0:0:0::21",
    "2001:db8::٣",  # an Arabic-Indic digit
    "fe80::1%" + "e" * 100,  # longer than any address text: not cached
    "0000:0000:0000:0000:0000:ffff:255.255.255.255",  # 45 characters
)


# Address text as the stages meet it: canonical, exploded, upper case, with a zone, junk.
TEXTS = (
    IPV6.map(lambda v: str(ipaddress.IPv6Address(v)))
    | st.integers(0, 2**32 - 1).map(lambda v: str(ipaddress.IPv4Address(v)))
    | IPV6.map(lambda v: ipaddress.IPv6Address(v).exploded)
    | IPV6.map(lambda v: str(ipaddress.IPv6Address(v)).upper())
    | IPV6.map(lambda v: f"{ipaddress.IPv6Address(v)}%eth0")
    | st.text(alphabet="0123456789abcdefABCDEF:.%/ x\x00", max_size=45)
)


def _text_examples(test: Callable[[str], None]) -> Callable[[str], None]:
    """Texts where readers are known to differ."""
    for text in EXAMPLES:
        test = example(text)(test)
    return test


@MANY
@given(TEXTS)
@_text_examples
def test_address_text_reads_as_ipaddress_reads_it(text: str) -> None:
    assert _read(parse_address, text) == _read(ipaddress.ip_address, text)


@MANY
@given(IPV6, st.integers(0, 128), IPV6)
def test_membership_by_integer_ranges_is_ipaddress_membership(
    base: int, prefix: int, value: int
) -> None:
    nets = networks((str(ipaddress.IPv6Network((base, prefix), strict=False)), "10.0.0.0/8"))
    text = str(ipaddress.IPv6Address(value))
    parsed = ipaddress.IPv6Address(value)
    mapped = parsed.ipv4_mapped
    expected = any(
        (mapped or parsed).version == net.version and (mapped or parsed) in net for net in nets
    )
    assert in_networks(text, nets) == expected
    scope = load_policy(None, [n.with_prefixlen for n in nets]).scope
    assert scope.contains(text) == expected


def _normal_before(text: str) -> str | None:
    """policy/evaluate.py's ``_normal`` as it was, all by ipaddress."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _network_before(text: str) -> str:
    """policy/evaluate.py's ``_network`` as it was."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@MANY
@given(TEXTS)
@_text_examples
def test_the_policy_spells_addresses_and_their_networks_as_before(text: str) -> None:
    assert evaluate._normal(text) == _normal_before(text)
    assert evaluate._network(text) == _network_before(text)
