"""signatures.toml: the shipped proposal loads; validation lists every error with its place."""

from __future__ import annotations

import pytest

from camaudit.errors import ProfileError
from camaudit.knowledge.profiles import default_profiles_dir
from camaudit.knowledge.signatures import load_signatures, parse_signatures


def test_shipped_signatures_load_and_every_fact_has_a_source():
    signatures = load_signatures(default_profiles_dir())
    assert signatures.vendors == ("hikvision", "dahua", "other")
    entries = [
        *signatures.signatures,
        *signatures.oems,
        *signatures.makes,
        *signatures.oui_families,
        *signatures.endpoints,
    ]
    assert entries and all(entry.source for entry in entries)
    assert {oem.brand for oem in signatures.oems} >= {
        "EZVIZ",
        "Prama",
        "LTS",
        "Annke",
        "HiWatch",
        "Lorex",
        "Amcrest",
        "IC Realtime",
        "IMOU",
    }


def test_every_make_outside_the_tracked_families_is_named_and_has_its_oui_blocks():
    signatures = load_signatures(default_profiles_dir())
    makes = {make.brand: make for make in signatures.makes}
    assert set(makes) >= {"Axis", "Bosch", "Hanwha Vision", "Mobotix", "Uniview", "Vivotek"}
    assert {"i-PRO", "Sony"} <= set(makes)
    assert all(make.family == "other" for make in makes.values())
    # the OUI organisation never names a make: "Sony" also registers game consoles
    assert all("oui_organisation" not in make.facts for make in makes.values())
    brands = {family.oem_brand for family in signatures.oui_families if family.vendor == "other"}
    assert brands == set(makes)


def test_a_make_whose_family_is_not_declared_is_refused(tmp_path):
    path = tmp_path / "signatures.toml"
    path.write_text(
        'schema_version = 1\nvendors = ["hikvision"]\n'
        '[[make]]\nbrand = "Axis"\nfamily = "other"\nnames = ["axis"]\n'
        'verified = true\nsource = "s"\n'
    )
    with pytest.raises(ProfileError, match=r"make\[1\] \(Axis\): family: expected one of"):
        parse_signatures(path)


def test_no_unauthenticated_endpoint_carries_credentials():
    for endpoint in load_signatures(default_profiles_dir()).endpoints:
        if not endpoint.auth:
            assert '"password":""' in endpoint.body or not endpoint.body


def test_every_error_is_reported_with_file_entry_and_field(tmp_path):
    path = tmp_path / "signatures.toml"
    path.write_text(
        'schema_version = 1\nvendors = ["hikvision"]\n'
        '[[signature]]\nid = "x"\nvendor = "acme"\nfacts = ["server"]\nmatch = "glob"\n'
        'values = ["a"]\nweight = 2\nverified = true\nsource = "s"\n'
        '[[version_format]]\nid = "v"\npattern = "(unclosed"\nsource = "s"\n'
    )
    with pytest.raises(ProfileError) as caught:
        parse_signatures(path)
    errors = caught.value.errors
    assert any("signature[1] (x): match:" in e for e in errors)
    assert any("signature[1] (x): weight:" in e for e in errors)
    assert any("version_format[1] (v): pattern:" in e for e in errors)
