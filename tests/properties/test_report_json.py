"""Any report camaudit writes reads back from its JSON as the same report.

Verify reports of any few stored lab captures together, inventories of any devices
(names as a device could send them, cleaned at the edge as camaudit does), and the
audit reports that join the two.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camaudit.api import verify
from camaudit.report.model import DeviceEntry, IdentityEntry
from camaudit.sanitize import clean_text
from tests.audit.reports import CLOSED, audit_of, capture, device, inventory
from tests.replay.cases import cases
from tests.report.test_round_trip import _assert_round_trip

# each verify reads captures and the profiles: a few examples keep the suite quick
PROPERTY = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# cases stored as pcaps/<case>/<case>.pcap (how tests.audit.reports names a case's capture)
CASES = sorted(c.name for c in cases() if [p.name for p in c.captures] == [f"{c.name}.pcap"])
some_cases = st.lists(st.sampled_from(CASES), min_size=1, max_size=3, unique=True)
device_text = st.text(max_size=80).map(clean_text)


@st.composite
def devices(draw: st.DrawFn) -> tuple[DeviceEntry, ...]:
    hosts = draw(st.sets(st.integers(2, 254), min_size=1, max_size=4))
    found = []
    for host in sorted(hosts):
        mac = draw(st.none() | st.just(f"02:66:00:00:00:{host:02x}"))
        ident = draw(
            st.none()
            | st.builds(
                IdentityEntry,
                st.sampled_from(["hikvision", "dahua", "axis"]),
                st.none() | device_text,
                device_text,
                st.none() | device_text,
                st.none(),
                st.floats(0, 1),
                st.just(("sadp",)),
                st.just(()),
            )
        )
        found.append(device(f"10.66.0.{host}", mac, ident))
    return tuple(found)


@PROPERTY
@given(names=some_cases)
def test_a_verify_report_of_any_stored_captures_reads_back_equal(names: list[str]) -> None:
    _assert_round_trip(verify([capture(name) for name in names], CLOSED).report)


@settings(PROPERTY, max_examples=40)
@given(found=devices())
def test_an_inventory_of_any_devices_reads_back_equal(found: tuple[DeviceEntry, ...]) -> None:
    _assert_round_trip(inventory(*found))


@PROPERTY
@given(names=some_cases, found=devices(), credentials=st.booleans())
def test_an_audit_of_any_stored_captures_and_devices_reads_back_equal(
    names: list[str], found: tuple[DeviceEntry, ...], credentials: bool
) -> None:
    _assert_round_trip(audit_of(names, *found, credentials=credentials))
