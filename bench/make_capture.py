#!/usr/bin/env python3
"""Write a large, realistic camera-network capture for benchmarking camaudit.

Files only: every packet is built in memory with ``struct`` and written to OUT;
nothing is ever sent on a network.  The "internet" side uses documentation
ranges only (203.0.113.0/24, 198.51.100.0/24, 2001:db8::/32).

The mix (see bench/README.md): 40 cameras (10.66.0.21-.60) stream H.264 to an
NVR (10.66.0.10), 30 of them as RTP/UDP set up by RTSP (the NVR pulls from
camera:554), 10 as RTSP-interleaved RTP over TCP (the camera pushes to nvr:554
with ANNOUNCE/RECORD), plus local chatter (ARP, WS-Discovery, DNS to 10.66.0.1)
and a small share of outbound attempts: unanswered SYNs to :8666, SYNs rejected
with RST on :443, established TLS with an SNI, plain HTTP with a Host header,
``DHGET`` UDP to :8800, NTP, and DNS look-ups of vendor clouds answered NXDOMAIN.
Cameras .29/.39/.49/.59 sit on VLAN 66 (their frames are 802.1Q-tagged), and a
little IPv6 (fd66::/64 inside, 2001:db8::/32 outside) is mixed in.

Usage: make_capture.py OUT [--size-mb 1100 | --packets N] [--seed N] [--format pcap|pcapng]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

START_US = 1_700_000_000 * 1_000_000  # 2023-11-14 22:13:20 UTC
VLAN_ID = 66
FPS = 25
FLUSH_BYTES = 16 << 20

U16 = struct.Struct("!H")
U32 = struct.Struct("!I")
IP_LEN_ID = struct.Struct("!HH")
RTP_HDR = struct.Struct("!BBHI")
INTERLEAVE = struct.Struct("!BBH")
PCAP_REC = struct.Struct("<IIII")
EPB_HDR = struct.Struct("<IIIIIII")

LOCAL_NAMES = ("nvr.cam.lan", "ntp.cam.lan", "gw.cam.lan", "syslog.cam.lan")
CLOUD_NAMES = (
    "litedev.ezvizlife.com",
    "devlog.ezvizlife.com",
    "dev.hik-connect.com",
    "p2p.easy4ipcloud.com",
    "www.easy4ip.com",
    "pool.ntp.org",
)
HTTP_HOSTS = ("upgrade.hikvision.com", "update.ezvizlife.com", "config.dahuasecurity.com")
SNI_NAMES = ("litedev.ezvizlife.com", "dev.hik-connect.com", "p2p.easy4ipcloud.com")


# --------------------------------------------------------------------------- wire helpers


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


def ip6(prefix: str, host: int) -> bytes:
    """A /64 address: ``prefix`` is the first four groups, e.g. 'fd66:0:0:0'."""
    groups = [int(g, 16) for g in prefix.split(":")] + [0, 0, 0, host]
    return struct.pack("!8H", *groups)


def fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    return fold(sum(struct.unpack(f"!{len(data) // 2}H", data)))


def pseudo_header(src: bytes, dst: bytes, proto: int, length: int) -> bytes:
    if len(src) == 4:
        return src + dst + struct.pack("!BBH", 0, proto, length)
    return src + dst + struct.pack("!I3xB", length, proto)


def ip_packet(src: bytes, dst: bytes, proto: int, l4: bytes, ident: int, ttl: int) -> bytes:
    if len(src) == 4:
        hdr = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000, ttl, proto, 0, src, dst
        )
        return hdr[:10] + U16.pack(checksum(hdr)) + hdr[12:] + l4
    return struct.pack("!IHBB16s16s", 0x6000_0000, len(l4), proto, ttl, src, dst) + l4


def udp_segment(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    csum = checksum(pseudo_header(src, dst, 17, len(seg)) + seg) or 0xFFFF
    return seg[:6] + U16.pack(csum) + seg[8:]


def tcp_segment(
    src: bytes,
    dst: bytes,
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    payload: bytes,
    window: int,
    options: bytes = b"",
) -> bytes:
    offset = (20 + len(options)) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset << 4, flags, window, 0, 0)
    seg += options + payload
    csum = checksum(pseudo_header(src, dst, 6, len(seg)) + seg)
    return seg[:16] + U16.pack(csum) + seg[18:]


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
SYN_OPTIONS = bytes.fromhex("020405b40103030701010402")  # MSS 1460, WS 7, SACK permitted


def dns_name(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_query(txid: int, name: str, qtype: int = 1) -> bytes:
    return (
        struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0)
        + dns_name(name)
        + struct.pack("!HH", qtype, 1)
    )


def dns_response(query: bytes, rcode: int, answer: bytes | None = None) -> bytes:
    """Answer ``query`` with ``rcode``; ``answer`` is an IPv4 address for one A record."""
    flags = 0x8180 | rcode
    body = query[12:]
    if answer is None:
        return struct.pack("!HHHHHH", U16.unpack_from(query)[0], flags, 1, 0, 0, 0) + body
    record = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + answer
    return struct.pack("!HHHHHH", U16.unpack_from(query)[0], flags, 1, 1, 0, 0) + body + record


def ntp_packet(mode: int, t_us: int, stratum: int = 0) -> bytes:
    seconds = t_us // 1_000_000 + 2_208_988_800
    frac = (t_us % 1_000_000) * (1 << 32) // 1_000_000
    head = struct.pack("!BBbb", (4 << 3) | mode, stratum, 6, -20)
    return head + bytes(40) + struct.pack("!II", seconds, frac)


def tls_record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", content_type, version, len(body)) + body


def tls_ext(ext_type: int, data: bytes) -> bytes:
    return struct.pack("!HH", ext_type, len(data)) + data


def client_hello(rng: random.Random, sni: str) -> bytes:
    host = sni.encode()
    server_name = struct.pack("!HBH", len(host) + 3, 0, len(host)) + host
    ciphers = bytes.fromhex("130113021303c02bc02fc02cc030cca9cca8c013c014009c009d002f0035")
    extensions = b"".join(
        (
            tls_ext(0x0000, server_name),
            tls_ext(0x000B, bytes.fromhex("0100")),  # ec_point_formats
            tls_ext(0x000A, bytes.fromhex("0006001d00170018")),  # supported_groups
            tls_ext(0x0010, bytes.fromhex("000c02683208687474702f312e31")),  # ALPN h2, http/1.1
            tls_ext(0x000D, bytes.fromhex("000c040305030603080408050806")),  # signature_algorithms
            tls_ext(0x002B, bytes.fromhex("0403040303")),  # supported_versions 1.3, 1.2
            tls_ext(0x0033, struct.pack("!HHH", 36, 0x001D, 32) + rng.randbytes(32)),  # key_share
        )
    )
    body = (
        struct.pack("!H", 0x0303)
        + rng.randbytes(32)
        + b"\x20"
        + rng.randbytes(32)
        + U16.pack(len(ciphers))
        + ciphers
        + b"\x01\x00"
        + U16.pack(len(extensions))
        + extensions
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return tls_record(0x16, handshake, version=0x0301)


def server_hello(rng: random.Random, session_id: bytes) -> bytes:
    extensions = tls_ext(0x002B, b"\x03\x04") + tls_ext(
        0x0033, struct.pack("!HH", 0x001D, 32) + rng.randbytes(32)
    )
    body = (
        b"\x03\x03"
        + rng.randbytes(32)
        + b"\x20"
        + session_id
        + b"\x13\x01\x00"
        + U16.pack(len(extensions))
        + extensions
    )
    handshake = b"\x02" + len(body).to_bytes(3, "big") + body
    return tls_record(0x16, handshake)


# --------------------------------------------------------------------------- hosts and output


@dataclass(frozen=True)
class Host:
    mac: bytes
    ip: bytes
    ip6: bytes
    vlan: int | None = None
    ttl: int = 64


class Writer:
    """Buffered pcap (µs, Ethernet) or pcapng writer."""

    def __init__(self, out: BinaryIO, fmt: str) -> None:
        self.out, self.pcapng = out, fmt == "pcapng"
        self.buf = bytearray()
        self.packets = self.bytes = 0
        if self.pcapng:
            shb = struct.pack("<IIIHHqI", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1, 28)
            idb = struct.pack("<IIHHII", 1, 20, 1, 0, 262144, 20)
            self.buf += shb + idb
        else:
            self.buf += struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)

    def write(self, t_us: int, frame: bytes | memoryview) -> None:
        n = len(frame)
        buf = self.buf
        if self.pcapng:
            pad = -n % 4
            total = 32 + n + pad
            buf += EPB_HDR.pack(6, total, 0, t_us >> 32, t_us & 0xFFFFFFFF, n, n)
            buf += frame
            buf += bytes(pad) + struct.pack("<I", total)
        else:
            buf += PCAP_REC.pack(t_us // 1_000_000, t_us % 1_000_000, n, n)
            buf += frame
        self.packets += 1
        if len(buf) >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        self.bytes += len(self.buf)
        self.out.write(self.buf)
        self.buf = bytearray()

    @property
    def size(self) -> int:
        return self.bytes + len(self.buf)


class Source(Protocol):
    t: int

    def step(self) -> bytes | memoryview | None: ...


class Net:
    """Builds frames between hosts and queues them by timestamp."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.heap: list[tuple[int, int, bytes | Source]] = []
        self.order = itertools.count()
        self.flows = 0

    def push(self, t: int, item: bytes | Source) -> None:
        heapq.heappush(self.heap, (t, next(self.order), item))

    def ether(
        self, src: Host, dst: Host, ethertype: int, payload: bytes, dst_mac: bytes | None = None
    ) -> bytes:
        vlan = src.vlan or dst.vlan
        tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
        frame = (dst_mac or dst.mac) + src.mac + tag + U16.pack(ethertype) + payload
        return frame.ljust(60, b"\0")

    def ip(self, src: Host, dst: Host, proto: int, l4: bytes, v6: bool) -> bytes:
        s, d = (src.ip6, dst.ip6) if v6 else (src.ip, dst.ip)
        packet = ip_packet(s, d, proto, l4, self.rng.getrandbits(16), src.ttl)
        return self.ether(src, dst, 0x86DD if v6 else 0x0800, packet)

    def udp(
        self, t: int, src: Host, dst: Host, sport: int, dport: int, payload: bytes, v6: bool = False
    ) -> None:
        s, d = (src.ip6, dst.ip6) if v6 else (src.ip, dst.ip)
        self.push(t, self.ip(src, dst, 17, udp_segment(s, d, sport, dport, payload), v6))

    def port(self) -> int:
        return self.rng.randint(32768, 60999)


class Tcp:
    """One TCP connection; ``c``/``s`` send from the client/server with correct seq/ack."""

    def __init__(
        self, net: Net, cli: Host, srv: Host, sport: int, dport: int, v6: bool = False
    ) -> None:
        self.net, self.cli, self.srv, self.v6 = net, cli, srv, v6
        self.sport, self.dport = sport, dport
        self.cseq, self.sseq = net.rng.getrandbits(32), net.rng.getrandbits(32)
        net.flows += 1

    def _send(self, t: int, from_cli: bool, flags: int, data: bytes, options: bytes) -> None:
        src, dst = (self.cli, self.srv) if from_cli else (self.srv, self.cli)
        sport, dport = (self.sport, self.dport) if from_cli else (self.dport, self.sport)
        seq, ack = (self.cseq, self.sseq) if from_cli else (self.sseq, self.cseq)
        s, d = (src.ip6, dst.ip6) if self.v6 else (src.ip, dst.ip)
        seg = tcp_segment(
            s,
            d,
            sport,
            dport,
            seq,
            ack if flags & ACK else 0,
            flags,
            data,
            64240 if flags & SYN else 502,
            options,
        )
        self.net.push(t, self.net.ip(src, dst, 6, seg, self.v6))
        used = len(data) + (1 if flags & (SYN | FIN) else 0)
        if from_cli:
            self.cseq = (self.cseq + used) & 0xFFFFFFFF
        else:
            self.sseq = (self.sseq + used) & 0xFFFFFFFF

    def c(self, t: int, flags: int, data: bytes = b"") -> None:
        self._send(t, True, flags, data, SYN_OPTIONS if flags & SYN else b"")

    def s(self, t: int, flags: int, data: bytes = b"") -> None:
        self._send(t, False, flags, data, SYN_OPTIONS if flags & SYN else b"")

    def handshake(self, t: int, rtt: int) -> int:
        self.c(t, SYN)
        self.s(t + rtt // 2, SYN | ACK)
        self.c(t + rtt, ACK)
        return t + rtt

    def exchange(self, t: int, request: bytes, reply: bytes, rtt: int) -> int:
        """Client request, server reply (in MSS-sized segments), client ACK."""
        self.c(t, PSH | ACK, request)
        t += rtt
        for i in range(0, len(reply), 1448):
            self.s(t, PSH | ACK, reply[i : i + 1448])
            t += 40
        self.c(t + 30, ACK)
        return t + 30

    def close(self, t: int, rtt: int, by_client: bool) -> None:
        """FIN from one side at ``t``, FIN back half a round trip later, the last ACK after one."""
        first, second = (self.c, self.s) if by_client else (self.s, self.c)
        first(t, FIN | ACK)
        second(t + rtt // 2, FIN | ACK)
        first(t + rtt, ACK)


# --------------------------------------------------------------------------- video


class Noise:
    """Random bytes to copy into payloads, with prefix sums of their 16-bit words so that a
    payload's share of a TCP/UDP checksum costs two look-ups instead of a pass over it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.words = (len(data) - 2048) // 2
        self.prefix: list[int] = [
            0,
            *itertools.accumulate(struct.unpack(f"!{len(data) // 2}H", data)),
        ]

    def put(self, buf: bytearray, at: int, n: int, key: int) -> int:
        """Copy ``n`` bytes chosen by ``key`` to ``buf[at:]``; return their word sum."""
        i = key * 1237 % self.words
        k = 2 * i
        buf[at : at + n] = self.data[k : k + n]
        total = self.prefix[i + n // 2] - self.prefix[i]
        return total + (self.data[k + n - 1] << 8 if n & 1 else 0)


class Ip4Template:
    """An IPv4 frame rewritten in place per packet, IP and TCP/UDP checksums kept right."""

    def __init__(self, frame: bytes, l2: int, l4_header: int) -> None:
        self.buf = bytearray(frame)
        self.ip, self.l4 = l2, l2 + 20
        head = bytearray(frame[l2 : l2 + 20])
        head[2:6], head[10:12] = bytes(4), bytes(2)  # length, id, checksum: set per packet
        self.base = sum(struct.unpack("!10H", head))
        self.pseudo = sum(struct.unpack("!4H", head[12:20])) + head[9]
        self.l4_words = struct.Struct(f"!{l4_header // 2}H")
        self.l4_csum = self.l4 + (16 if head[9] == 6 else 6)
        self.zero_csum = 0 if head[9] == 6 else 0xFFFF  # UDP sends a computed 0 as 0xFFFF
        self.ident = 0

    def finish(self, l4_len: int, payload_sum: int = 0) -> None:
        """Set lengths, id and checksums once the L4 header and payload are in place."""
        buf = self.buf
        self.ident = (self.ident + 1) & 0xFFFF
        IP_LEN_ID.pack_into(buf, self.ip + 2, 20 + l4_len, self.ident)
        U16.pack_into(buf, self.ip + 10, fold(self.base + 20 + l4_len + self.ident))
        U16.pack_into(buf, self.l4_csum, 0)
        words = sum(self.l4_words.unpack_from(buf, self.l4))
        csum = fold(self.pseudo + l4_len + words + payload_sum)
        U16.pack_into(buf, self.l4_csum, csum or self.zero_csum)


class Video:
    """A camera's H.264 stream as RTP: 25 fps, an IDR frame every 2 s, MTU-sized chunks."""

    def __init__(self, rng: random.Random, t0: int, noise: Noise) -> None:
        self.rng = random.Random(rng.getrandbits(64))
        self.noise = noise
        self.t = t0
        self.frame_t = t0
        self.frame_no = 0
        self.left = 0
        self.idr = False
        self.chunk = self.rng.randint(1160, 1350)  # RTP payload per packet
        self.rtp_seq = self.rng.getrandbits(16)
        self.rtp_ts0 = self.rng.getrandbits(32)
        self.ssrc = self.rng.getrandbits(32)

    def next_chunk(self) -> tuple[int, bool, bool]:
        """Payload size of the next RTP packet, and whether it starts / ends a frame."""
        first = self.left == 0
        if first:
            self.idr = self.frame_no % (2 * FPS) == 0
            size = self.rng.randint(28_000, 56_000) if self.idr else self.rng.randint(1_500, 5_200)
            self.left = size + (64 if size % self.chunk < 64 else 0)  # no tiny tail packets
        n = min(self.left, self.chunk)
        self.left -= n
        return n, first, self.left == 0

    def advance(self, last: bool) -> None:
        if last:
            self.frame_no += 1
            self.frame_t += 1_000_000 // FPS
            self.t = self.frame_t + self.rng.randint(0, 3000)
        else:
            self.t += self.rng.randint(60, 140)

    def fill_rtp(self, buf: bytearray, at: int, n: int, first: bool, last: bool) -> int:
        """Write the RTP header and an FU-A H.264 payload; return the payload's word sum."""
        self.rtp_seq = (self.rtp_seq + 1) & 0xFFFF
        ts = (self.rtp_ts0 + self.frame_no * (90_000 // FPS)) & 0xFFFFFFFF
        RTP_HDR.pack_into(buf, at, 0x80, 96 | (0x80 if last else 0), self.rtp_seq, ts)
        body = at + 12
        total = self.noise.put(buf, body, n, self.rtp_seq + self.ssrc)
        old: int = U16.unpack_from(buf, body)[0]
        fu = 0x7C00 | (0x80 if first else 0) | (0x40 if last else 0) | (5 if self.idr else 1)
        U16.pack_into(buf, body, fu)  # FU-A indicator (NRI 3) and header
        return total - old + fu


class UdpVideo(Video):
    """RTP/UDP from camera:server_port to NVR:client_port."""

    def __init__(
        self,
        rng: random.Random,
        t0: int,
        noise: Noise,
        net: Net,
        cam: Host,
        nvr: Host,
        sport: int,
        dport: int,
    ) -> None:
        super().__init__(rng, t0, noise)
        udp = struct.pack("!HHHH", sport, dport, 0, 0)
        frame = net.ether(cam, nvr, 0x0800, ip_packet(cam.ip, nvr.ip, 17, udp + bytes(1400), 0, 64))
        self.l2 = 18 if cam.vlan else 14
        self.tpl = Ip4Template(frame, self.l2, 8 + 12)
        U32.pack_into(self.tpl.buf, self.l2 + 28 + 8, self.ssrc)

    def step(self) -> memoryview:
        n, first, last = self.next_chunk()
        tpl, ip = self.tpl, self.l2
        U16.pack_into(tpl.buf, ip + 24, 8 + 12 + n)
        payload_sum = self.fill_rtp(tpl.buf, ip + 28, n, first, last)
        tpl.finish(8 + 12 + n, payload_sum)
        self.advance(last)
        return memoryview(tpl.buf)[: ip + 40 + n]


class TcpVideo(Video):
    """RTSP-interleaved RTP over an established TCP connection; the NVR ACKs every 2nd segment."""

    def __init__(
        self, rng: random.Random, t0: int, noise: Noise, net: Net, conn: Tcp, sender_is_client: bool
    ) -> None:
        super().__init__(rng, t0, noise)
        src, dst = (conn.cli, conn.srv) if sender_is_client else (conn.srv, conn.cli)
        sport, dport = (conn.sport, conn.dport) if sender_is_client else (conn.dport, conn.sport)
        self.seq = conn.cseq if sender_is_client else conn.sseq
        peer_seq = conn.sseq if sender_is_client else conn.cseq
        self.l2 = 18 if (src.vlan or dst.vlan) else 14
        data = struct.pack("!HHIIBBHHH", sport, dport, 0, peer_seq, 0x50, PSH | ACK, 502, 0, 0)
        self.data = Ip4Template(
            net.ether(src, dst, 0x0800, ip_packet(src.ip, dst.ip, 6, data + bytes(1420), 0, 64)),
            self.l2,
            20 + 4 + 12,
        )
        U32.pack_into(self.data.buf, self.l2 + 40 + 4 + 8, self.ssrc)
        ack = struct.pack("!HHIIBBHHH", dport, sport, peer_seq, 0, 0x50, ACK, 2048, 0, 0)
        self.ack = Ip4Template(
            net.ether(dst, src, 0x0800, ip_packet(dst.ip, src.ip, 6, ack, 0, 64)), self.l2, 20
        )
        self.ack_len = len(self.ack.buf)
        self.unacked = 0
        self.ack_due = False
        self.next_t = t0

    def step(self) -> memoryview:
        if self.ack_due:
            self.ack_due = False
            U32.pack_into(self.ack.buf, self.l2 + 28, self.seq)
            self.ack.finish(20)
            self.t = self.next_t
            return memoryview(self.ack.buf)[: self.ack_len]
        n, first, last = self.next_chunk()
        tpl, ip = self.data, self.l2
        seg = 4 + 12 + n
        U32.pack_into(tpl.buf, ip + 24, self.seq)
        INTERLEAVE.pack_into(tpl.buf, ip + 40, 0x24, 0, 12 + n)
        payload_sum = self.fill_rtp(tpl.buf, ip + 44, n, first, last)
        tpl.finish(20 + seg, payload_sum)
        self.seq = (self.seq + seg) & 0xFFFFFFFF
        t = self.t
        self.advance(last)
        self.unacked += 1
        if self.unacked == 2 or last:
            self.unacked = 0
            self.ack_due, self.next_t = True, self.t
            self.t = t + 45
        return memoryview(tpl.buf)[: ip + 40 + seg]


# --------------------------------------------------------------------------- chatter


def sdp(ip: str) -> bytes:
    return (
        f"v=0\r\no=- 1700000000 1 IN IP4 {ip}\r\ns=Media Presentation\r\nc=IN IP4 0.0.0.0\r\n"
        "t=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
        "a=fmtp:96 packetization-mode=1;profile-level-id=640029\r\n"
        "a=control:trackID=1\r\n"
    ).encode()


def rtsp(lines: list[str], body: bytes = b"") -> bytes:
    if body:
        lines = [*lines, "Content-Type: application/sdp", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass(frozen=True)
class RtspStep:
    """One RTSP request (``METHOD URL``, its headers after CSeq, its body) and the headers
    and body of its 200 OK."""

    request: str
    headers: tuple[str, ...] = ()
    body: bytes = b""
    reply_headers: tuple[str, ...] = ()
    reply_body: bytes = b""


def rtsp_dialogue(conn: Tcp, t: int, rtt: int, steps: list[RtspStep]) -> int:
    """The client's requests on ``conn`` from ``t`` (CSeq 1, 2 ...), each answered 200 OK;
    returns when the last exchange ends."""
    for cseq, step in enumerate(steps, 1):
        request = rtsp([f"{step.request} RTSP/1.0", f"CSeq: {cseq}", *step.headers], step.body)
        reply = rtsp(["RTSP/1.0 200 OK", f"CSeq: {cseq}", *step.reply_headers], step.reply_body)
        t = conn.exchange(t, request, reply, rtt)
    return t


WSD_PROBE = (
    '<?xml version="1.0" encoding="utf-8"?><Envelope xmlns:tds="http://www.onvif.org/ver10/'
    'device/wsdl" xmlns="http://www.w3.org/2003/05/soap-envelope"><Header><wsa:MessageID '
    'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">uuid:{uuid}</wsa:MessageID>'
    '<wsa:To xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:schemas-xmlsoap-'
    'org:ws:2005:04:discovery</wsa:To><wsa:Action xmlns:wsa="http://schemas.xmlsoap.org/ws/2004'
    '/08/addressing">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action></Header>'
    '<Body><Probe xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.'
    'w3.org/2001/XMLSchema" xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>'
    "tds:Device</Types></Probe></Body></Envelope>"
)
WSD_MATCH = (
    '<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/'
    'soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http'
    '://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/'
    'wsdl"><env:Header><wsa:MessageID>uuid:{uuid}</wsa:MessageID><wsa:RelatesTo>uuid:{rel}'
    "</wsa:RelatesTo><wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches"
    "</wsa:Action></env:Header><env:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference>"
    "<wsa:Address>urn:uuid:{dev}</wsa:Address></wsa:EndpointReference><d:Types>dn:"
    "NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/type/video_encoder "
    "onvif://www.onvif.org/Profile/Streaming onvif://www.onvif.org/hardware/DS-2CD2143G2-I "
    "onvif://www.onvif.org/name/CAMERA</d:Scopes><d:XAddrs>http://{ip}/onvif/device_service"
    "</d:XAddrs><d:MetadataVersion>10</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches>"
    "</env:Body></env:Envelope>"
)


class Chatter:
    """Poisson arrivals of short flows; each event queues its packets ahead in time."""

    def __init__(self, net: Net, t0: int, gw: Host, nvr: Host, cams: list[Host]) -> None:
        self.net, self.rng, self.t = net, net.rng, t0
        self.gw, self.nvr, self.cams = gw, nvr, cams
        self.mcast = Host(
            mac("01:00:5e:7f:ff:fa"),
            ip4("239.255.255.250"),
            bytes.fromhex("ff02000000000000000000000000000c"),
        )
        self.bcast = Host(mac("ff:ff:ff:ff:ff:ff"), bytes(4), bytes(16))
        self.events = (  # (flows per second, event)
            (12.0, self.local_dns),
            (0.1, self.wsd_probe),
            (3.0, self.arp),
            (8.0, self.syn_8666),
            (5.0, self.rst_443),
            (0.3, self.tls),
            (3.0, self.dhget),
            (0.3, self.http),
            (2.0, self.ntp),
            (3.0, self.cloud_dns),
            (1.0, self.ipv6),
        )
        self.rate = sum(r for r, _ in self.events)
        self.funcs = [f for _, f in self.events]
        self.weights = list(itertools.accumulate(r for r, _ in self.events))

    def remote(self, net: str, host: int) -> Host:
        return Host(self.gw.mac, ip4(f"{net}.{host}"), ip6("2001:db8:66:0", host), ttl=52)

    def step(self) -> None:
        t = self.t
        self.rng.choices(self.funcs, cum_weights=self.weights)[0](t)
        self.t = t + int(self.rng.expovariate(self.rate) * 1_000_000) + 1

    def cam(self) -> Host:
        return self.rng.choice(self.cams)

    def ms(self, lo: float, hi: float) -> int:
        return int(self.rng.uniform(lo, hi) * 1000)

    def local_dns(self, t: int) -> None:
        cam, net, rng = self.cam(), self.net, self.rng
        cloud = rng.random() < 0.3
        name = rng.choice(CLOUD_NAMES if cloud else LOCAL_NAMES)
        query = dns_query(rng.getrandbits(16), name)
        port = net.port()
        net.flows += 1
        net.udp(t, cam, self.gw, port, 53, query)
        reply = dns_response(query, 3) if cloud else dns_response(query, 0, ip4("10.66.0.10"))
        net.udp(t + self.ms(0.3, 2), self.gw, cam, 53, port, reply)

    def cloud_dns(self, t: int) -> None:
        """A camera with a hard-coded outside resolver; the answer is NXDOMAIN."""
        cam, net, rng = self.cam(), self.net, self.rng
        resolver = self.remote("198.51.100", 53)
        query = dns_query(rng.getrandbits(16), rng.choice(CLOUD_NAMES))
        port = net.port()
        net.flows += 1
        net.udp(t, cam, resolver, port, 53, query)
        net.udp(t + self.ms(15, 60), resolver, cam, 53, port, dns_response(query, 3))

    def wsd_probe(self, t: int) -> None:
        net, rng = self.net, self.rng
        uuid = f"{rng.getrandbits(128):032x}"
        port = net.port()
        net.flows += 1
        net.udp(t, self.nvr, self.mcast, port, 3702, WSD_PROBE.format(uuid=uuid).encode())
        for cam in self.cams:
            net.flows += 1
            text = WSD_MATCH.format(
                uuid=f"{rng.getrandbits(128):032x}",
                rel=uuid,
                dev=cam.mac.hex(),
                ip=".".join(map(str, cam.ip)),
            )
            net.udp(t + self.ms(5, 400), cam, self.nvr, 3702, port, text.encode())

    def arp(self, t: int) -> None:
        cam, net = self.cam(), self.net
        ask = struct.pack(
            "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, cam.mac, cam.ip, bytes(6), self.gw.ip
        )
        net.push(t, net.ether(cam, self.bcast, 0x0806, ask))
        tell = struct.pack(
            "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, self.gw.mac, self.gw.ip, cam.mac, cam.ip
        )
        net.push(t + self.ms(0.1, 1), net.ether(self.gw, cam, 0x0806, tell))

    def outbound(self, net: str, hosts: tuple[int, int], port: int) -> Tcp:
        """A TCP connection from a random camera to a host of ``net`` in ``hosts`` (inclusive)."""
        return Tcp(
            self.net, self.cam(), self.remote(net, self.rng.randint(*hosts)), self.net.port(), port
        )

    def connected(
        self, t: int, net: str, hosts: tuple[int, int], port: int
    ) -> tuple[Tcp, int, int]:
        """An ``outbound`` connection after its handshake at ``t``: it, its round trip, and the
        time the handshake ends."""
        conn = self.outbound(net, hosts, port)
        rtt = self.ms(25, 90)
        return conn, rtt, conn.handshake(t, rtt)

    def syn_8666(self, t: int) -> None:
        """Unanswered SYN with the usual retransmissions (Zeek S0)."""
        conn = self.outbound("203.0.113", (10, 19), 8666)
        for delay in (0, 1, 3, 7):
            conn.cseq = (conn.cseq - (1 if delay else 0)) & 0xFFFFFFFF
            conn.c(t + delay * 1_000_000 + self.ms(0, 5), SYN)

    def rst_443(self, t: int) -> None:
        """SYN answered by RST (Zeek REJ)."""
        conn = self.outbound("198.51.100", (20, 29), 443)
        conn.c(t, SYN)
        conn.s(t + self.ms(20, 80), RST | ACK)

    def tls(self, t: int) -> None:
        """A full TLS 1.3 session with an SNI, closed with FINs (Zeek SF)."""
        rng = self.rng
        conn, rtt, t = self.connected(t, "203.0.113", (40, 49), 443)
        hello = client_hello(rng, rng.choice(SNI_NAMES))
        flight = (
            server_hello(rng, hello[44:76])
            + tls_record(0x14, b"\x01")
            + tls_record(0x17, rng.randbytes(rng.randint(2400, 3600)))
        )
        t = conn.exchange(t + 50, hello, flight, rtt)
        finished = tls_record(0x14, b"\x01") + tls_record(0x17, rng.randbytes(69))
        conn.c(t + 200, PSH | ACK, finished)
        t += 400
        for _ in range(rng.randint(2, 6)):
            t = conn.exchange(
                t + self.ms(50, 1500),
                tls_record(0x17, rng.randbytes(rng.randint(120, 700))),
                tls_record(0x17, rng.randbytes(rng.randint(80, 4000))),
                rtt,
            )
        conn.close(t + self.ms(100, 2000), rtt, by_client=True)

    def dhget(self, t: int) -> None:
        cam, net = self.cam(), self.net
        dst = self.remote("203.0.113", self.rng.randint(80, 89))
        net.flows += 1
        body = f"DHGET /p2p/register?sn=6G0{cam.mac.hex().upper()}&ver=2.820 HTTP/1.1\r\n\r\n"
        net.udp(t, cam, dst, net.port(), 8800, body.encode())

    def http(self, t: int) -> None:
        """A plain-HTTP firmware check with a Host header, answered 404 (Zeek SF)."""
        conn, rtt, t = self.connected(t, "198.51.100", (60, 69), 80)
        host = self.rng.choice(HTTP_HOSTS)
        request = (
            f"GET /api/firmware/check?model=DS-2CD2143G2-I&ver=V5.7.3 HTTP/1.1\r\n"
            f"Host: {host}\r\nUser-Agent: CameraUpgrade/1.0\r\nAccept: */*\r\n\r\n"
        )
        reply = (
            b"HTTP/1.1 404 Not Found\r\nServer: nginx\r\nContent-Type: text/html\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        t = conn.exchange(t, request.encode(), reply, rtt)
        conn.close(t + 1000, rtt, by_client=False)

    def ntp(self, t: int) -> None:
        cam, net = self.cam(), self.net
        server = self.remote(self.rng.choice(("203.0.113", "198.51.100")), 123)
        port = net.port()
        net.flows += 1
        net.udp(t, cam, server, port, 123, ntp_packet(3, t))
        reply_t = t + self.ms(20, 70)
        net.udp(reply_t, server, cam, 123, port, ntp_packet(4, reply_t, stratum=2))

    def ipv6(self, t: int) -> None:
        cam, net, rng = self.cam(), self.net, self.rng
        kind = rng.randrange(4)
        port = net.port()
        if kind == 0:  # AAAA look-up to the local resolver
            net.flows += 1
            query = dns_query(rng.getrandbits(16), rng.choice(LOCAL_NAMES), qtype=28)
            net.udp(t, cam, self.gw, port, 53, query, v6=True)
            net.udp(t + self.ms(0.3, 2), self.gw, cam, 53, port, dns_response(query, 0), v6=True)
        elif kind == 1:  # unanswered SYN to the outside
            conn = Tcp(net, cam, self.remote("203.0.113", 44), port, 443, v6=True)
            conn.c(t, SYN)
        elif kind == 2:  # NTP to the outside, answered
            net.flows += 1
            server = self.remote("203.0.113", 123)
            net.udp(t, cam, server, port, 123, ntp_packet(3, t), v6=True)
            net.udp(t + self.ms(20, 70), server, cam, 123, port, ntp_packet(4, t, 2), v6=True)
        else:  # WS-Discovery probe over IPv6 multicast
            net.flows += 1
            probe = WSD_PROBE.format(uuid=f"{rng.getrandbits(128):032x}").encode()
            mcast6 = Host(mac("33:33:00:00:00:0c"), self.mcast.ip, self.mcast.ip6)
            net.udp(t, cam, mcast6, port, 3702, probe, v6=True)


# --------------------------------------------------------------------------- the network


def build(net: Net, noise: Noise) -> None:
    rng = net.rng
    gw = Host(mac("00:0d:b9:66:00:01"), ip4("10.66.0.1"), ip6("fd66:0:0:0", 1))
    nvr = Host(mac("c0:56:e3:66:00:0a"), ip4("10.66.0.10"), ip6("fd66:0:0:0", 0x10))
    cams = [
        Host(
            mac(f"{'44:19:b6' if i % 2 else '3c:ef:8c'}:66:00:{i:02x}"),
            ip4(f"10.66.0.{i}"),
            ip6("fd66:0:0:0", i),
            VLAN_ID if i % 10 == 9 else None,
        )
        for i in range(21, 61)
    ]
    t = START_US
    for cam in cams:
        t += rng.randint(5_000, 25_000)
        ip = ".".join(map(str, cam.ip))
        url = f"rtsp://{ip}:554/Streaming/Channels/102"
        nvr_ip = ".".join(map(str, nvr.ip))
        rtt = rng.randint(200, 600)
        if cam.ip[3] <= 50:  # NVR pulls: RTSP over TCP to camera:554, RTP over UDP
            conn = Tcp(net, nvr, cam, net.port(), 554)
            cport, sport = 2 * rng.randint(20000, 29999), 2 * rng.randint(4000, 4999)
            ssrc = rng.getrandbits(32)
            u = rtsp_dialogue(
                conn,
                conn.handshake(t, rtt),
                rtt,
                [
                    RtspStep(
                        f"OPTIONS {url}",
                        reply_headers=(
                            "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER",
                        ),
                    ),
                    RtspStep(
                        f"DESCRIBE {url}",
                        ("Accept: application/sdp",),
                        reply_headers=(f"Content-Base: {url}/",),
                        reply_body=sdp(ip),
                    ),
                    RtspStep(
                        f"SETUP {url}/trackID=1",
                        (f"Transport: RTP/AVP;unicast;client_port={cport}-{cport + 1}",),
                        reply_headers=(
                            "Session: 1273222;timeout=60",
                            f"Transport: RTP/AVP;unicast;client_port={cport}-{cport + 1};"
                            f"server_port={sport}-{sport + 1};ssrc={ssrc:08X}",
                        ),
                    ),
                    RtspStep(
                        f"PLAY {url}",
                        ("Session: 1273222", "Range: npt=0.000-"),
                        reply_headers=("Session: 1273222",),
                    ),
                ],
            )
            net.flows += 1
            net.push(u + 2000, UdpVideo(rng, u + 2000, noise, net, cam, nvr, sport, cport))
        else:  # camera pushes: ANNOUNCE/SETUP/RECORD to nvr:554, RTP interleaved on the TCP
            conn = Tcp(net, cam, nvr, net.port(), 554)
            url = f"rtsp://{nvr_ip}:554/live/cam{cam.ip[3]}"
            record = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;mode=record"
            u = rtsp_dialogue(
                conn,
                conn.handshake(t, rtt),
                rtt,
                [
                    RtspStep(f"ANNOUNCE {url}", body=sdp(ip)),
                    RtspStep(
                        f"SETUP {url}/trackID=1",
                        (record,),
                        reply_headers=("Session: 88123;timeout=60", record),
                    ),
                    RtspStep(
                        f"RECORD {url}", ("Session: 88123",), reply_headers=("Session: 88123",)
                    ),
                ],
            )
            net.push(u + 2000, TcpVideo(rng, u + 2000, noise, net, conn, sender_is_client=True))
    chatter = Chatter(net, START_US + 500_000, gw, nvr, cams)
    net.push(chatter.t, chatter)


@dataclass(frozen=True)
class Stats:
    packets: int
    bytes: int
    flows: int
    seconds: float  # of traffic, by timestamps


def generate(path: Path, *, size_mb: float, packets: int | None, seed: int, fmt: str) -> Stats:
    rng = random.Random(seed)
    net = Net(rng)
    build(net, Noise(rng.randbytes(1 << 20)))
    max_packets = packets if packets is not None else 1 << 62
    max_bytes = int(size_mb * (1 << 20)) if packets is None else 1 << 62
    heap, pop, push, order = net.heap, heapq.heappop, heapq.heappush, net.order
    with path.open("wb") as out:
        writer = Writer(out, fmt)
        write = writer.write
        next_report = 1 << 28
        while heap:
            t, _, item = pop(heap)
            if isinstance(item, bytes):
                write(t, item)
            else:
                frame = item.step()
                push(heap, (item.t, next(order), item))
                if frame is None:
                    continue
                write(t, frame)
            if writer.packets >= max_packets or writer.size >= max_bytes:
                break
            if writer.bytes >= next_report:
                print(f"  {writer.bytes >> 20} MiB, {writer.packets:,} packets", file=sys.stderr)
                next_report += 1 << 28
        writer.flush()
    return Stats(writer.packets, writer.bytes, net.flows, (t - START_US) / 1e6)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="capture file to write")
    ap.add_argument("--size-mb", type=float, default=1100, help="stop at this size (MiB)")
    ap.add_argument("--packets", type=int, help="stop after N packets instead (small files)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    st = generate(
        args.out, size_mb=args.size_mb, packets=args.packets, seed=args.seed, fmt=args.format
    )
    elapsed = time.perf_counter() - started
    print(
        f"{args.out}: {st.bytes:,} bytes, {st.packets:,} packets, ~{st.flows:,} flows, "
        f"{st.seconds:.0f} s of traffic; written in {elapsed:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
