"""ONVIF WS-Discovery: a SOAP Probe for ``dn:NetworkVideoTransmitter`` over UDP 3702.

On the wire: one SOAP 1.2 envelope (WS-Addressing 2004/08, WS-Discovery 2005/04) to
239.255.255.250:3702 out of the target interface and unicast to every target host; each
device answers the sender with a ProbeMatches envelope. Devices and simulators answer
loosely (other prefixes, no namespaces, stray whitespace, missing fields), which strict
parsers drop, so matches are read by local element name. The EPR address, XAddrs,
Types and Scopes become facts; ONVIF scopes (``onvif://www.onvif.org/<key>/<value>``)
give ``model`` (hardware), ``name``, ``location``, ``device_type`` (type) and, where a
device publishes them, ``mac`` and ``serial``.
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

from camaudit.attempt import Facts
from camaudit.discover import _xml
from camaudit.discover._common import ReplyError, normal_mac
from camaudit.discover._udp import Datagram, UdpDiscovery
from camaudit.discover.interface import Sighting

PORT = 3702
GROUP = "239.255.255.250"

_PROBE = """<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" \
xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" \
xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" \
xmlns:dn="http://www.onvif.org/ver10/network/wsdl">
<s:Header>
<a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action>
<a:MessageID>uuid:{message_id}</a:MessageID>
<a:ReplyTo><a:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous\
</a:Address></a:ReplyTo>
<a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>
</s:Header>
<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>
</s:Envelope>"""

_SCOPE_FACTS = {
    "hardware": "model",
    "name": "name",
    "location": "location",
    "type": "device_type",
    "serial": "serial",
    "mac": "mac",
    "manufacturer": "vendor",
}


def probe_message(message_id: str | None = None) -> bytes:
    """A WS-Discovery Probe for ONVIF network video transmitters."""
    return _PROBE.format(message_id=message_id or str(uuid.uuid4())).encode()


def parse_probe_matches(payload: bytes) -> list[Facts]:
    """The facts of every ProbeMatch in one reply; ``[]`` for a Probe (not a reply).

    Raises :class:`ReplyError` for XML that is refused (DTD, entities) or unparsable, and
    for a document that is neither a Probe nor carries any match.
    """
    root = _xml.parse(payload)
    matches = _xml.find_all(root, "ProbeMatch")
    if not matches:
        if _xml.find_all(root, "Probe") or _xml.find_all(root, "Resolve"):
            return []  # another client's request, or our own looped back
        if not _xml.find_all(root, "XAddrs"):
            raise ReplyError("no ProbeMatch in the reply")
        matches = [root]  # a loose reply: the fields without their ProbeMatch wrapper
    return [_match_facts(match) for match in matches]


def _match_facts(match: Element) -> Facts:
    facts = Facts()
    references = _xml.find_all(match, "EndpointReference")
    address = _xml.child_text(references[0], "Address") if references else None
    address = address or _xml.child_text(match, "Address")
    if address:
        facts.add("epr", address)
        if address.lower().startswith("urn:uuid:"):
            facts.add("uuid", address[len("urn:uuid:") :])
    xaddrs = _xml.child_text(match, "XAddrs")
    if xaddrs:
        facts.add("xaddrs", " ".join(xaddrs.split()), limit=1024)
    types = _xml.child_text(match, "Types")
    if types:
        facts.add("types", " ".join(types.split()))
    scopes = (_xml.child_text(match, "Scopes") or "").split()
    if scopes:
        facts.add("scopes", " ".join(scopes), limit=2048)
    for scope in scopes:
        key, value = _onvif_scope(scope)
        if key in _SCOPE_FACTS and value:
            fact = _SCOPE_FACTS[key]
            facts.add(fact, (normal_mac(value) or value) if fact == "mac" else value)
    version = _xml.child_text(match, "MetadataVersion")
    if version:
        facts.add("metadata_version", version, limit=32)
    return facts


def _onvif_scope(scope: str) -> tuple[str, str]:
    """``onvif://www.onvif.org/hardware/DS-2CD2xx`` -> (``hardware``, ``DS-2CD2xx``)."""
    try:
        parts = urlsplit(scope)
    except ValueError:  # "onvif://[..." without its "]": not a scope we can read
        return "", ""
    if parts.scheme.lower() != "onvif":
        return "", ""
    key, _, value = parts.path.strip("/").partition("/")
    return key.lower(), unquote(value).strip()


class WsDiscovery(UdpDiscovery, name="wsdiscovery", port=PORT, group=GROUP, request=probe_message):
    """ONVIF devices answering a WS-Discovery Probe."""

    def parse(self, reply: Datagram) -> Sighting | None:
        """One sighting per reply; a reply with several matches keeps them all as facts."""
        matches = parse_probe_matches(reply.payload)
        if not matches:
            return None
        facts: list[tuple[str, str]] = []
        for match in matches:
            facts.extend(match.items())
        mac = next((normal_mac(m.get("mac")) for m in matches if m.get("mac")), None)
        return self.sighting(reply, tuple(facts), mac)
