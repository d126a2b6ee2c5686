"""Matching: attempts and sightings joined with the signatures into one identity."""

from __future__ import annotations

import datetime as dt

from camaudit.attempt import AttemptStatus
from camaudit.discover.interface import Sighting
from camaudit.fingerprint.interface import ProbeAttempt
from camaudit.fingerprint.match import identify


def attempt(probe: str, **facts: str) -> ProbeAttempt:
    return ProbeAttempt(probe, "10.66.0.21", AttemptStatus.COMPLETED, tuple(facts.items()))


def fact(attempt_: ProbeAttempt, key: str, value: str) -> ProbeAttempt:
    return ProbeAttempt(
        attempt_.probe, attempt_.host, AttemptStatus.COMPLETED, (*attempt_.facts, (key, value))
    )


def test_hikvision_banner_device_info_and_onvif_agree_on_a_confident_identity():
    http = attempt(
        "http:80",
        server="Hikvision-Webs",
        model="DS-2CD2043G2-I",
        firmware="V5.5.0",
        build="build 210101",
        manufacturer="hikvision",
    )
    onvif = attempt(
        "onvif:80", manufacturer="HIKVISION", model="DS-2CD2043G2-I", firmware="V5.5.0 build 210101"
    )
    identity = identify([http, onvif])
    assert identity.vendor == "hikvision" and identity.oem_brand is None
    assert identity.model == "DS-2CD2043G2-I"
    assert identity.firmware == "V5.5.0 build 210101"
    assert identity.build_date == dt.date(2021, 1, 1)
    assert identity.confidence >= 0.9
    assert identity.conflicts == ()
    assert any(line.startswith("http:80: server 'Hikvision-Webs'") for line in identity.evidence)


def test_dahua_realm_and_magicbox_version_give_dahua_with_its_build_date():
    http = attempt(
        "http:80",
        rpc2_realm="Login to 4L0123PAZ12345",
        model="IPC-HFW2431S-S-S2",
        firmware="2.800.0000016.0.R,build:2020-06-05",
    )
    rtsp = attempt("rtsp:554", rtsp_server="Rtsp Server/3.0", rtsp_realm="Login to 4L0123PAZ12345")
    identity = identify([http, rtsp])
    assert identity.vendor == "dahua"
    assert identity.build_date == dt.date(2020, 6, 5)
    assert identity.confidence >= 0.9


def test_ezviz_oui_makes_a_hikvision_device_an_ezviz_relabel():
    http = attempt("http:80", firmware="V5.3.2 build 230112")
    sighting = Sighting("arp", "10.66.0.21", "58:8f:cf:11:22:33")
    identity = identify([http], [sighting])
    assert identity.vendor == "hikvision" and identity.oem_brand == "EZVIZ"


def test_lorex_realm_makes_a_dahua_device_a_lorex_relabel():
    identity = identify([attempt("http:80", realm="Login to ND0123456789")])
    assert identity.vendor == "dahua" and identity.oem_brand == "Lorex"


def test_amcrest_manufacturer_from_onvif_makes_a_dahua_relabel():
    onvif = attempt(
        "onvif:80", manufacturer="Amcrest", model="IP2M-841", firmware="2.623.00AC004.0.R.200316"
    )
    identity = identify([onvif])
    assert identity.vendor == "dahua" and identity.oem_brand == "Amcrest"
    assert identity.build_date == dt.date(2020, 3, 16)


def test_lts_model_prefix_names_a_hikvision_relabel():
    identity = identify(
        [attempt("onvif:80", model="LTH-7132-WIFI", firmware="V5.2.7 build 200101")]
    )
    assert identity.vendor == "hikvision" and identity.oem_brand == "LTS"


def test_dahua_oui_against_hikvision_banners_is_reported_as_a_conflict():
    http = attempt("http:80", server="Hikvision-Webs", realm="hikvision")
    sighting = Sighting("arp", "10.66.0.21", "08:ed:ed:11:22:33")
    identity = identify([http], [sighting])
    assert identity.vendor == "hikvision"
    assert any(
        "dahua" in line and "disagrees with hikvision" in line for line in identity.conflicts
    )
    clean = identify([http])
    assert identity.confidence < clean.confidence


def test_different_models_from_two_sources_are_a_conflict_not_a_silent_choice():
    http = attempt("http:80", server="Hikvision-Webs", model="DS-2CD2043G2-I")
    sadp = Sighting("sadp", "10.66.0.21", None, (("model", "DS-2CD2143G0-I"),))
    identity = identify([http], [sadp])
    assert any("model" in line and "DS-2CD2143G0-I" in line for line in identity.conflicts)


def test_sadp_sighting_with_software_version_identifies_firmware():
    sadp = Sighting(
        "sadp",
        "10.66.0.21",
        "04:03:12:aa:bb:cc",
        (("model", "DS-2CD2043G2-I"), ("firmware", "V5.7.3 build 220112")),
    )
    identity = identify([], [sadp])
    assert identity.vendor == "hikvision"
    assert identity.build_date == dt.date(2022, 1, 12)
    assert any(line.startswith("sadp sighting: discovered_by") for line in identity.evidence)


def test_non_camera_gets_no_vendor_and_nothing_invented():
    http = attempt("http:80", server="nginx/1.24.0", title="Welcome to nginx!")
    identity = identify([http])
    assert identity.vendor is None and identity.oem_brand is None
    assert identity.model is None and identity.firmware is None
    assert identity.confidence == 0.0
    assert identity.evidence == ("no fact matched a camera signature",)


AXIS_SCOPES = (
    "onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/AXIS%20M3046-V "
    "onvif://www.onvif.org/hardware/M3046-V"
)


def test_the_axis_of_issue_9_has_a_make_not_only_a_model():
    wsd = Sighting("wsdiscovery", "10.66.0.21", None, (("scopes", AXIS_SCOPES),))
    arp = Sighting("arp", "10.66.0.21", "ac:cc:8e:01:02:03")
    rtsp = attempt("rtsp:554", rtsp_realm="AXIS_WS_ACCC8E010203")
    identity = identify([rtsp], [wsd, arp])
    assert (identity.vendor, identity.oem_brand, identity.model) == ("other", "Axis", "M3046-V")
    assert identity.conflicts == ()


def test_each_source_alone_names_the_make():
    scope = Sighting("wsdiscovery", "10.66.0.21", None, (("scopes", AXIS_SCOPES),))
    oui = Sighting("arp", "10.66.0.21", "00:1c:44:01:02:03")  # Bosch Security Systems BV
    cases = [
        (identify([], [scope]), "Axis"),
        (identify([attempt("rtsp:554", rtsp_realm="AXIS_WS_ACCC8E010203")]), "Axis"),
        (identify([], [oui]), "Bosch"),
        (identify([attempt("http:80", server="VCS-VideoJet-Webserver")]), "Bosch"),
        (identify([attempt("onvif:80", manufacturer="Hanwha Vision")]), "Hanwha Vision"),
        (identify([attempt("onvif:80", manufacturer="Samsung Techwin")]), "Hanwha Vision"),
        (identify([attempt("http:80", server="NetEVI/3.14")]), "Sony"),
        (identify([attempt("onvif:80", manufacturer="VIVOTEK")]), "Vivotek"),
        (identify([attempt("onvif:80", manufacturer="MOBOTIX")]), "Mobotix"),
        (identify([attempt("onvif:80", manufacturer="Uniview")]), "Uniview"),
        (identify([attempt("onvif:80", manufacturer="Panasonic")]), "i-PRO"),
    ]
    assert [(i.vendor, i.oem_brand) for i, _ in cases] == [("other", b) for _, b in cases]


def test_a_game_console_is_not_named_a_camera_maker_by_its_oui_organisation():
    console = Sighting("arp", "10.66.0.30", "00:04:1f:01:02:03")  # Sony Interactive Entertainment
    assert identify([], [console]).vendor is None


def test_a_make_that_disagrees_with_a_tracked_family_is_kept_as_a_conflict():
    wsd = Sighting("wsdiscovery", "10.66.0.21", None, (("scopes", AXIS_SCOPES),))
    http = attempt("http:80", realm="hikvision", server="Hikvision-Webs")
    identity = identify([http], [wsd])
    assert identity.vendor == "hikvision"
    assert any("names the maker Axis" in c and "disagrees" in c for c in identity.conflicts)


def test_two_makes_of_family_other_are_a_brand_conflict():
    axis = attempt("onvif:80", manufacturer="AXIS")
    bosch = attempt("http:80", server="VCS-VideoJet-Webserver")
    identity = identify([axis, bosch])
    assert identity.vendor == "other"
    assert any(c.startswith("relabel brand") for c in identity.conflicts)
