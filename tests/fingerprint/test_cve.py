"""CVE mapping: firmware version and build date against the ranges of profiles/cve.toml."""

from __future__ import annotations

import datetime as dt

from camaudit.fingerprint.cve import compare_versions, explain_cves, match_cves
from camaudit.fingerprint.interface import Identity


def identity(vendor: str | None, firmware: str | None, build: dt.date | None = None) -> Identity:
    return Identity(vendor, None, None, firmware, build, 0.9, ())


def ids(found) -> set[str]:  # type: ignore[no-untyped-def]
    return {m.cve for m in found}


def test_hikvision_build_before_210628_gets_cve_2021_36260_with_its_kev_date():
    found = match_cves(identity("hikvision", "V5.5.0 build 210101", dt.date(2021, 1, 1)))
    match = next(m for m in found if m.cve == "CVE-2021-36260")
    assert match.kev_date_added == dt.date(2022, 1, 10)
    assert match.cvss == 9.8
    assert "2021-01-01 before 2021-06-28" in match.reason


def test_patched_hikvision_build_does_not_get_cve_2021_36260():
    found = match_cves(identity("hikvision", "V5.5.800 build 210628", dt.date(2021, 6, 28)))
    assert "CVE-2021-36260" not in ids(found)


def test_hikvision_firmware_in_the_2017_range_gets_cve_2017_7921_once():
    found = match_cves(identity("hikvision", "V5.4.0 build 160401", dt.date(2016, 4, 1)))
    assert [m.cve for m in found].count("CVE-2017-7921") == 1
    assert "CVE-2021-36260" in ids(found)


def test_storage_only_cves_never_match_a_camera():
    hik = identity("hikvision", "V2.3.8-6 build 200101", dt.date(2020, 1, 1))
    report = explain_cves(hik)
    assert not {"CVE-2023-28808", "CVE-2022-28171", "CVE-2022-28172", "CVE-2022-28173"} & ids(
        report.matches
    )
    assert any(
        n.startswith("CVE-2023-28808") and "not a camera product" in n
        for n in report.not_applicable
    )


def test_dahua_build_date_before_the_advisories_gets_the_kev_cves():
    found = match_cves(identity("dahua", "2.800.0000016.0.R,build:2020-06-05", dt.date(2020, 6, 5)))
    assert {"CVE-2021-33044", "CVE-2022-30563", "CVE-2025-31700"} <= ids(found)
    kev = {m.cve: m.kev_date_added for m in found}
    assert kev["CVE-2021-33044"] == dt.date(2024, 8, 21)
    assert kev["CVE-2022-30563"] is None


def test_amcrest_branch_bound_applies_only_to_its_own_branch():
    old = match_cves(identity("dahua", "2.623.00AC004.0.R.200101", dt.date(2020, 1, 1)))
    fixed = match_cves(identity("dahua", "2.623.00AC004.0.R.200316", dt.date(2020, 3, 16)))
    other = match_cves(identity("dahua", "2.700.0000000.0.R.200101", dt.date(2020, 1, 1)))
    assert "CVE-2020-5735" in ids(old)
    assert "CVE-2020-5735" not in ids(fixed)
    assert "CVE-2020-5735" not in ids(other)


def test_other_vendors_and_unknown_firmware_get_no_cves():
    assert match_cves(identity(None, None)) == ()
    assert match_cves(identity("hikvision", None)) == ()
    assert "CVE-2021-36260" not in ids(match_cves(identity("dahua", "V5.5.0 build 210101")))


def test_versions_compare_numerically_part_by_part():
    assert compare_versions("5.10.0", "5.9.9") == 1
    assert compare_versions("V5.4.0", "5.4") == 0
    assert compare_versions("2.800.00AC000.0.R", "2.800.0000000.0.R") == 1
