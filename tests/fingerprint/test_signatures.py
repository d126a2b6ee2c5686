"""signatures.toml: the shipped proposal loads; validation lists every error with its place."""

from __future__ import annotations

import pytest

from camaudit.errors import ProfileError
from camaudit.fingerprint.signatures import load_signatures, parse_signatures


def test_shipped_signatures_load_and_every_fact_has_a_source():
    signatures = load_signatures()
    assert signatures.vendors == ("hikvision", "dahua")
    entries = [*signatures.signatures, *signatures.oems, *signatures.endpoints]
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


def test_no_unauthenticated_endpoint_carries_credentials():
    for endpoint in load_signatures().endpoints:
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
