"""ARP reply parsing: a frame that is not an IPv4-over-Ethernet ARP reply is no sighting.

The sweep itself runs in the netns tests (test_local_netns, test_segment_netns); these
frames are crafted malformed input, never a stand-in for a device.
"""

from __future__ import annotations

import struct

from camaudit.discover.arp import ARP_REPLY, ARP_REQUEST, _parse, _request

OWN_MAC = bytes.fromhex("02000000000a")
OWN_IP = bytes([10, 66, 0, 10])


def _reply(op: int = ARP_REPLY, ptype: int = 0x0800, ether_type: bytes = b"\x08\x06") -> bytes:
    device = bytes.fromhex("e0508b3a2606")
    ether = OWN_MAC + bytes.fromhex("e0508b3a2607") + ether_type
    arp = struct.pack("!HHBBH", 1, ptype, 6, 4, op) + device + bytes([10, 66, 0, 21])
    return ether + arp + OWN_MAC + OWN_IP


def test_a_reply_names_the_claimed_address_its_mac_and_the_ethernet_source() -> None:
    reply = _parse(_reply())
    assert reply is not None
    assert (reply.ip, reply.mac, reply.ether_source) == (
        "10.66.0.21",
        "e0:50:8b:3a:26:06",
        "e0:50:8b:3a:26:07",
    )


def test_requests_other_protocols_and_truncated_frames_are_not_replies() -> None:
    assert _parse(_reply(op=ARP_REQUEST)) is None
    assert _parse(_reply(ptype=0x86DD)) is None
    assert _parse(_reply(ether_type=b"\x08\x00")) is None
    assert _parse(_reply()[:41]) is None
    assert _parse(b"") is None


def test_a_request_asks_who_has_the_host_from_the_scanners_own_addresses() -> None:
    frame = _request(OWN_MAC, OWN_IP, "10.66.0.21")
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == OWN_MAC and frame[12:14] == b"\x08\x06"
    assert struct.unpack("!HHBBH", frame[14:22]) == (1, 0x0800, 6, 4, ARP_REQUEST)
    assert (
        frame[22:28] == OWN_MAC
        and frame[28:32] == OWN_IP
        and frame[38:42] == bytes([10, 66, 0, 21])
    )
