"""Every make named: fake cameras of makers outside the Hikvision/Dahua families (issue 9).

Each persona in lab/devices/personas of family "other" is served on 127.0.0.1 and
fingerprinted through real sockets; its ``[expected]`` table is the oracle. The Axis
camera of the issue (ONVIF name scope ``AXIS%20M3046-V``, an Axis MAC, RTSP realm
``AXIS_WS_<MAC>``) must get its make without credentials, from discovery facts alone.
"""

from __future__ import annotations

import pytest

from camaudit.discover import Sighting, Target
from camaudit.discover.wsdiscovery import WsDiscovery
from camaudit.fingerprint import fingerprint
from camaudit.fingerprint.interface import Credentials
from lab.devices import all_personas, load_persona, start_device

MAKES = sorted(p.name for p in all_personas() if p.expected.vendor == "other")


def test_there_is_a_persona_for_every_make_councils_list() -> None:
    brands = {load_persona(name).expected.oem_brand for name in MAKES}
    assert brands >= {
        "Axis",
        "Bosch",
        "Hanwha Vision",
        "Mobotix",
        "Uniview",
        "Vivotek",
        "i-PRO",
        "Sony",
    }


@pytest.mark.parametrize("name", MAKES)
def test_with_credentials_each_make_is_named_with_its_model_and_firmware(name: str) -> None:
    persona = load_persona(name)
    with start_device(name) as device:
        ports = {
            "http": device.ports["http"],
            "rtsp": device.ports["rtsp"],
            "onvif": device.ports["http"],
        }
        result = fingerprint(
            "127.0.0.1", ports, Credentials(persona.username, persona.password), 3.0
        )
    identity, want = result.identity, persona.expected
    assert (identity.vendor, identity.oem_brand) == ("other", want.oem_brand), identity
    assert identity.model == want.model
    assert identity.firmware == want.firmware
    assert any(want.oem_brand in line for line in identity.evidence)
    assert result.cves == ()


@pytest.mark.parametrize("name", MAKES)
def test_without_credentials_the_make_comes_from_the_oui_and_the_onvif_name_scope(
    name: str,
) -> None:
    persona = load_persona(name)
    with start_device(name) as device:
        found = WsDiscovery(port=device.ports["wsd"]).run(
            Target(networks=("127.0.0.1/32",), timeout=1.0)
        )
        (seen,) = found.sightings
        arp = Sighting("arp", "127.0.0.1", persona.mac.lower())
        ports = {"http": device.ports["http"], "rtsp": device.ports["rtsp"]}
        result = fingerprint("127.0.0.1", ports, None, 3.0, (), [seen, arp])
    identity = result.identity
    assert (identity.vendor, identity.oem_brand) == ("other", persona.expected.oem_brand)
    assert identity.model == persona.expected.model
    assert identity.conflicts == ()


def test_the_axis_camera_of_the_issue_is_named_axis_from_each_source_it_gives() -> None:
    persona = load_persona("axis-ipc")
    with start_device("axis-ipc") as device:
        (seen,) = (
            WsDiscovery(port=device.ports["wsd"])
            .run(Target(networks=("127.0.0.1/32",), timeout=1.0))
            .sightings
        )
        arp = Sighting("arp", "127.0.0.1", persona.mac.lower())
        result = fingerprint(
            "127.0.0.1", {"rtsp": device.ports["rtsp"]}, None, 3.0, (), [seen, arp]
        )
    lines = "\n".join(result.identity.evidence)
    assert "names the maker Axis" in lines  # ONVIF scope name/AXIS%20M3046-V
    assert "rtsp_realm 'AXIS_WS_ACCC8E3A2109'" in lines  # RTSP DESCRIBE challenge
    assert "registered to a axis block" in lines  # the MAC's OUI
    assert result.identity.model == "M3046-V"
