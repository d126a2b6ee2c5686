"""Rebuild camaudit's stored capture cases from the namespace lab.

Run as root from the repository root::

    python pcaps/make_pcaps.py            # every case
    python pcaps/make_pcaps.py syn-dropped vlan

Each case directory ``pcaps/<case>/`` gets its capture file(s), a README.md
and an expect.toml.  The expectations are derived from the capture with
**tshark** (an oracle independent of camaudit), then checked against the
verdict each case was designed to produce; a mismatch stops the script, so a
flaky lab run can never write wrong expectations silently.

Why one lab per case: fresh namespaces mean fresh ARP/neighbour caches (so
every capture shows ARP), no leftover connections and no cross-talk.
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.netlab import (  # noqa: E402
    AGENTS,
    CLOSED_NETWORK,
    CLOUD_V4,
    CLOUD_V6,
    GW_INSIDE_V4,
    GW_INSIDE_V6,
    HOSTS,
    INET_V4,
    Capture,
    Lab,
)

PCAPS = ROOT / "pcaps"
CAM1, CAM2, NVR = HOSTS["cam1"], HOSTS["cam2"], HOSTS["nvr"]

RTSP_OPTIONS = r"OPTIONS rtsp://10.66.0.10:554/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: cam1\r\n\r\n"
RTSP_OK = r"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
DHGET = r"DHGET /probe/p2psrv HTTP/1.1\r\nCSeq: 1\r\nX-Lab: camaudit\r\n\r\n"
DH_REPLY = r"HTTP/1.1 200 OK\r\nCSeq: 1\r\nContent-Length: 0\r\n\r\n"
HTTP_GET = r"GET /register HTTP/1.1\r\nHost: dev.hik-connect.com\r\nUser-Agent: cam1\r\n\r\n"
HTTP_OK = r"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

#: Connect timeout for dropped SYNs. Linux >= 6.5 retransmits a SYN at linear
#: 1 s intervals for the first 4 tries (net.ipv4.tcp_syn_linear_timeouts), so
#: 2.5 s gives SYNs at ~0, 1, 2 s with half a second of margin either side;
#: 4 s would race the fourth retransmission at ~4.1 s.
SYN_TIMEOUT = 2.5

VERDICTS = ("isolated", "isolated_with_attempts", "not_isolated", "inconclusive")
CAM_PORT = "the bridge-side end of cam1's veth (`p-cam1` in the `switch` namespace)"


# ======================================================================
# case descriptions


@dataclass(frozen=True)
class Timer:
    """A fake camera's retry timer: connects from ``device`` to ``dst:port``; ``every``
    seconds apart, or (``regular`` False) a seeded random gap instead."""

    device: str
    dst: str
    port: int
    times: int
    every: float
    regular: bool = True


@dataclass
class Case:
    """What a case is, how it is made, and what camaudit must conclude."""

    name: str
    description: str
    verdict: str
    files: list[str]
    traffic: str  # markdown: what was generated
    why: str  # markdown: why this verdict
    build: Callable[[Case, Path], None]
    capture_note: str = ""  # filled by build(): interface + exact command
    problems: list[str] = field(default_factory=list)
    depends: tuple[str, ...] = ()
    policy: str = ""  # TOML text; written as policy.toml and passed with --policy
    rhythm: list[Timer] = field(default_factory=list)  # timers the fake camera ran


# ======================================================================
# traffic building blocks


def fresh_lab() -> Lab:
    return Lab()


def settle_lab() -> None:
    """Wait out the MLD reports every interface sends right after link-up."""
    time.sleep(1.5)


def local_services(lab: Lab, dns: dict[str, dict[str, list[str]]] | None = None) -> None:
    """The NVR's RTSP port and the gateway's resolver (unknown names: NXDOMAIN)."""
    lab.tcp_listener("nvr", NVR.v4, 554, RTSP_OK)
    lab.dns_server(dns or {})


def background(lab: Lab, *, ssdp: bool = False, cam2: bool = False) -> None:
    """Realistic local chatter: WS-Discovery Hello, an RTSP exchange with the
    NVR (ARP comes with it on a fresh lab), optionally SSDP and cam2's Hello."""
    lab.agent("cam1", "multicast", "wsd-hello", "--src", CAM1.v4, "--sport", "3702")
    if cam2:
        lab.agent("cam2", "multicast", "wsd-hello", "--src", CAM2.v4, "--sport", "3702")
    lab.agent(
        "cam1",
        "tcp-client",
        "--dst",
        NVR.v4,
        "--port",
        "554",
        "--sport",
        "40554",
        "--send",
        RTSP_OPTIONS,
    )
    if ssdp:
        lab.agent("cam1", "multicast", "ssdp", "--src", CAM1.v4, "--sport", "41900")


def dns_query(
    lab: Lab,
    name: str,
    qtype: str = "A",
    *,
    server: str = GW_INSIDE_V4,
    sport: int = 45353,
    qid: int = 0x6601,
) -> str:
    return lab.agent(
        "cam1",
        "dns-query",
        "--server",
        server,
        "--sport",
        str(sport),
        "--id",
        str(qid),
        name,
        qtype,
    )


def tcp_connect(
    lab: Lab, dst: str, port: int, sport: int, send: str = "", timeout: float = 4.0
) -> str:
    return lab.agent(
        "cam1",
        "tcp-client",
        "--dst",
        dst,
        "--port",
        str(port),
        "--sport",
        str(sport),
        "--send",
        send,
        "--timeout",
        str(timeout),
    )


def expect_out(result: str, wanted: str) -> None:
    """Fail early when the lab did not behave as the case needs."""
    if not result.startswith(wanted):
        raise RuntimeError(f"lab step gave {result!r}, wanted {wanted!r}")


def cam_capture(lab: Lab, path: Path, extra: Iterable[str] = ()) -> Capture:
    return lab.capture("switch", "p-cam1", path, extra=list(extra))


def describe_capture(cap: Capture, where: str) -> str:
    cmd = " ".join([*cap.argv[:-1], Path(cap.argv[-1]).name])
    return f"Captured on {where}:\n\n```\nip netns exec {cap.role}-<suffix> {cmd}\n```\n"


def scenario_syn_dropped(lab: Lab) -> None:
    background(lab)
    expect_out(tcp_connect(lab, CLOUD_V4, 8666, 48666, timeout=SYN_TIMEOUT), "timeout")


CLOUD_ACK = r"\x01\x00\x00\x04ack!"  # what the lab's cloud server on 203.0.113.5:8000 answers
CLOUD_HELLO = r"\x01\x00\x00\x05hello"  # what cam1 sends it


def hello_cloud(lab: Lab, sport: int) -> None:
    """cam1 opens TCP ``sport`` -> 203.0.113.5:8000, sends 9 bytes and reads the answer."""
    expect_out(tcp_connect(lab, CLOUD_V4, 8000, sport, CLOUD_HELLO), "established")


@contextmanager
def recording(
    case: Case,
    path: Path,
    policy: str | None,
    dns: dict[str, dict[str, list[str]]] | None = None,
    *,
    setup: Callable[[Lab], object] | None = None,
    chatter: bool = True,
    accept: Sequence[str] = (),
    extra: Iterable[str] = (),
) -> Iterator[Lab]:
    """The usual case: a fresh lab (gateway ``policy``, the NVR's RTSP, the resolver with
    ``dns``, then ``setup``, e.g. a server), settled; cam1's switch port recorded to
    ``path`` while the local chatter (unless ``chatter`` is off) and the body run; the
    capture note says where."""
    with settled_lab(policy, dns, setup=setup, accept=accept) as lab:
        with cam_capture(lab, path, extra) as cap:
            if chatter:
                background(lab)
            yield lab
        case.capture_note = describe_capture(cap, CAM_PORT)


@contextmanager
def settled_lab(
    policy: str | None,
    dns: dict[str, dict[str, list[str]]] | None = None,
    *,
    setup: Callable[[Lab], object] | None = None,
    accept: Sequence[str] = (),
) -> Iterator[Lab]:
    """A fresh lab: gateway ``policy`` (None: the lab's default), the NVR's RTSP, the
    resolver with ``dns``, then ``setup`` (e.g. a server); settled before it is used."""
    with fresh_lab() as lab:
        if policy is not None:
            lab.gw_policy(policy, accept)
        local_services(lab, dns)
        if setup is not None:
            setup(lab)
        settle_lab()
        yield lab


@contextmanager
def capturing_both(first: Capture, second: Capture) -> Iterator[None]:
    """Two captures running at once; both stopped (the second without waiting again)."""
    first.start()
    second.start()
    try:
        yield
    finally:
        first.stop()
        second.stop(settle=0)


def cam1_client(lab: Lab, kind: str, dst: str, port: int, sport: int, *more: str) -> str:
    """cam1's ``kind`` agent (``udp-client``, ``tls-client`` ...) from ``sport`` to ``dst``."""
    return lab.agent("cam1", kind, "--dst", dst, "--port", str(port), "--sport", str(sport), *more)


def cloud_server(lab: Lab) -> None:
    """The lab's cloud server on 203.0.113.5:8000 (answers ``CLOUD_ACK``)."""
    lab.tcp_listener("inet", CLOUD_V4, 8000, CLOUD_ACK)


# ======================================================================
# case builders (each writes its files into `out`)


def ntp_request(lab: Lab) -> str:
    """cam1's NTP request, UDP 40123 -> 198.51.100.10:123."""
    return cam1_client(lab, "udp-client", INET_V4, 123, 40123)


def build_quiet(case: Case, out: Path) -> None:
    with recording(case, out / case.files[0], None, chatter=False) as lab:
        background(lab, ssdp=True, cam2=True)


def build_dns_nxdomain(case: Case, out: Path) -> None:
    with recording(case, out / case.files[0], "drop") as lab:
        expect_out(dns_query(lab, "litedev.ezvizlife.com", sport=45353, qid=0x6601), "NXDOMAIN")
        expect_out(dns_query(lab, "www.easy4ipcloud.com", sport=45354, qid=0x6602), "NXDOMAIN")


def build_syn_dropped(case: Case, out: Path) -> None:
    with recording(case, out / case.files[0], "drop", chatter=False) as lab:
        scenario_syn_dropped(lab)


def build_syn_rejected(case: Case, out: Path) -> None:
    with recording(case, out / case.files[0], "reject") as lab:
        expect_out(tcp_connect(lab, CLOUD_V4, 443, 48443), "refused")
        expect_out(ntp_request(lab), "refused")


RANDOM_GAPS = ("0.3", "3.7")  # seconds: the irregular sender's uniform random gap


def timer_argv(timer: Timer) -> list[str]:
    """lab/agents.py `retry` arguments for one timer (time scaled down in the fake)."""
    argv = ["retry", "--dst", timer.dst, "--port", str(timer.port), "--times", str(timer.times)]
    if timer.regular:
        return [*argv, "--every", str(timer.every)]
    return [*argv, "--random", *RANDOM_GAPS]


def build_rhythm(case: Case, out: Path) -> None:
    regular, irregular = case.rhythm
    with fresh_lab() as lab:
        lab.gw_policy("reject")
        local_services(lab)
        settle_lab()
        with cam_capture(lab, out / case.files[0]) as cap:
            background(lab)
            other = lab.popen("cam1", [sys.executable, str(AGENTS), *timer_argv(irregular)])
            expect_out(lab.agent("cam1", *timer_argv(regular), timeout=90), "refused 15")
            said, _ = other.communicate(timeout=90)
            lab.forget(other)
            expect_out(said.decode().strip(), "refused 15")
        case.capture_note = describe_capture(cap, CAM_PORT)


def syn_times(path: Path, timer: Timer) -> list[float]:
    """tshark: when each new connection of ``timer`` began (first SYNs, no retransmission)."""
    wanted = (
        f"ip.src == {timer.device} && ip.dst == {timer.dst} && tcp.dstport == {timer.port} && "
        "tcp.flags.syn == 1 && tcp.flags.ack == 0 && !tcp.analysis.retransmission"
    )
    proc = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", wanted, "-T", "fields", "-e", "frame.time_epoch"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(t) for t in proc.stdout.split()]


def check_rhythm(case: Case, path: Path) -> list[dict[str, object]]:
    """Each timer as tshark sees it: connection count and median interval."""
    rows: list[dict[str, object]] = []
    for timer in case.rhythm:
        times = syn_times(path, timer)
        gaps = sorted(b - a for a, b in pairwise(times))
        period = round(gaps[len(gaps) // 2], 2) if gaps else 0.0
        if len(times) != timer.times or (timer.regular and abs(period - timer.every) > 0.1):
            raise RuntimeError(f"{case.name}: {timer} gave {len(times)} SYNs, median {period}")
        rows.append(
            {
                "device": timer.device,
                "dst": timer.dst,
                "port": timer.port,
                "count": len(times),
                "median_interval": period,
                "regular": timer.regular,
            }
        )
    return rows


def build_tls(case: Case, out: Path) -> None:
    sni = "litedev.hik-connect.com"

    def listen(lab: Lab) -> None:
        lab.tls_listener("inet", CLOUD_V4, 443, sni, r"\x00\x01lab-ack")

    dns = {sni: {"A": [CLOUD_V4]}}
    with recording(case, out / case.files[0], "forward", dns, setup=listen) as lab:
        expect_out(dns_query(lab, sni), "NOERROR")
        tls = ("--sni", sni, "--send", r"\x00\x01hello")
        expect_out(cam1_client(lab, "tls-client", CLOUD_V4, 443, 48444, *tls), "established")


def build_udp(case: Case, out: Path) -> None:
    name = "www.easy4ipcloud.com"

    def listen(lab: Lab) -> None:
        lab.udp_listener("inet", CLOUD_V4, 8800, DH_REPLY)
        lab.ntp_server("inet", INET_V4)

    dns = {name: {"A": [CLOUD_V4]}}
    with recording(case, out / case.files[0], "forward", dns, setup=listen) as lab:
        expect_out(dns_query(lab, name), "NOERROR")
        expect_out(cam1_client(lab, "udp-client", CLOUD_V4, 8800, 48800, "--send", DHGET), "reply")
        expect_out(ntp_request(lab), "reply")


def build_icmp(case: Case, out: Path) -> None:
    with recording(case, out / case.files[0], "forward") as lab:
        lab.run("cam1", ["ping", "-n", "-c", "2", "-i", "0.5", "-W", "2", CLOUD_V4])


def build_vlan(case: Case, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        untagged = Path(tmp) / "untagged.pcap"
        with recording(case, untagged, "drop") as lab:
            expect_out(dns_query(lab, "litedev.ezvizlife.com"), "NXDOMAIN")
            expect_out(tcp_connect(lab, CLOUD_V4, 8666, 48666, timeout=SYN_TIMEOUT), "timeout")
        # cfi/pri are required in practice: without them tcprewrite 4.4.3 inserts
        # the tag but keeps the old length, silently cutting 4 bytes off every
        # frame (appneta/tcpreplay issue #990)
        tag = [
            "tcprewrite",
            "--enet-vlan=add",
            "--enet-vlan-tag=100",
            "--enet-vlan-pri=0",
            "--enet-vlan-cfi=0",
        ]
        tagged = out / case.files[0]
        subprocess.run([*tag, "-i", str(untagged), "-o", str(tagged)], check=True)
        check_tagged(untagged, tagged)
        case.capture_note += (
            "\nThis kernel has no `8021q` module (a VLAN sub-interface cannot be made), so "
            "the capture was taken untagged and every frame was then tagged with VLAN 100 "
            f"(priority 0) by:\n\n```\n{' '.join(tag)} -i untagged.pcap -o {case.files[0]}\n```\n"
            "\nFrame numbers and payloads are unchanged; each frame grew by the 4-byte 802.1Q "
            "header (make_pcaps.py checks this). Note: `--enet-vlan-pri`/`--enet-vlan-cfi` are "
            "not optional in tcprewrite 4.4.3: without them it inserts the tag but keeps the "
            "old length, cutting 4 bytes off every frame without an error "
            "(tcpreplay issue #990).\n"
        )


def check_tagged(untagged: Path, tagged: Path) -> None:
    """Every tagged frame must be exactly 4 bytes longer than its original."""
    a, b = untagged.read_bytes(), tagged.read_bytes()
    lens_a = [n for _, n in iter_records(a)]
    lens_b = [n for _, n in iter_records(b)]
    if lens_b != [n + 4 for n in lens_a]:
        raise RuntimeError("tcprewrite did not grow every frame by 4 bytes")


def build_sll(case: Case, out: Path) -> None:
    """One traffic run, two simultaneous `any` captures (SLL2 default and SLL v1)."""
    sll2 = PCAPS / "sll-any" / "sll-any.pcap"
    sll1 = PCAPS / "sll-v1" / "sll-v1.pcap"
    for p in (sll2, sll1):
        p.parent.mkdir(parents=True, exist_ok=True)
    with settled_lab("forward", setup=cloud_server) as lab:
        cap2 = lab.capture("gw", "any", sll2)
        cap1 = lab.capture("gw", "any", sll1, extra=["-y", "LINUX_SLL"])
        with capturing_both(cap2, cap1):
            background(lab)
            hello_cloud(lab, 48000)
    where = "the pseudo-interface `any` inside the `gw` namespace"
    dup = (
        "\n**Duplicated frames:** on `any` every forwarded packet is seen twice: once "
        "arriving on the inside leg (`eth0`) and once leaving on the outside leg (`eth1`), "
        "with the same addresses and ports (the lab routes, no NAT; only TTL and IP "
        "checksum differ). tshark "
        'labels the second copy "TCP Retransmission" / "Dup ACK"; it is not a real '
        "retransmission. Frame counts in expect.toml are as tshark shows them, i.e. "
        "including both copies. "
        "cam1->nvr unicast (RTSP) is not visible from the gateway; the WS-Discovery "
        "multicast and ARP on the inside leg are.\n"
    )
    CASES["sll-any"].capture_note = describe_capture(cap2, where) + dup
    CASES["sll-v1"].capture_note = describe_capture(cap1, where) + dup


def build_pcapng(case: Case, out: Path) -> None:
    with fresh_lab() as lab:
        lab.gw_policy("forward")
        local_services(lab, {"dev.hik-connect.com": {"A": [INET_V4]}})
        lab.tcp_listener("inet", INET_V4, 80, HTTP_OK)
        settle_lab()
        with lab.capture("gw", ["eth0", "eth1"], out / case.files[0], tool="dumpcap") as cap:
            background(lab)
            expect_out(dns_query(lab, "dev.hik-connect.com"), "NOERROR")
            expect_out(tcp_connect(lab, INET_V4, 80, 48080, HTTP_GET), "established")
        case.capture_note = describe_capture(
            cap, "both legs of the gateway (`eth0` inside, `eth1` outside) in one pcapng"
        ) + (
            "\nThe file has two interface description blocks; every forwarded packet "
            "appears twice (once per interface). Frame counts in expect.toml include both "
            "copies. dumpcap writes each interface's packets in batches, so the file is "
            "**not in timestamp order**: a run of `eth1` frames can follow the `eth0` frames "
            "although it carries earlier timestamps (see the listing below). A reader must "
            "not assume sorted timestamps.\n"
        )


def build_ipv6(case: Case, out: Path) -> None:
    name = "litedev.hik-connect.com"
    with recording(
        case,
        out / case.files[0],
        "reject",
        {name: {"AAAA": [CLOUD_V6]}},
        accept=["meta l4proto ipv6-icmp"],
        chatter=False,
    ) as lab:
        lab.run("cam1", ["ping", "-n", "-6", "-c", "1", "-W", "2", NVR.v6])
        expect_out(dns_query(lab, name, "AAAA", server=GW_INSIDE_V6), "NOERROR")
        expect_out(tcp_connect(lab, CLOUD_V6, 443, 48443), "refused")
        lab.run("cam1", ["ping", "-n", "-6", "-c", "2", "-i", "0.5", "-W", "2", CLOUD_V6])
    case.capture_note += (
        "\nGateway policy for this case: ICMPv6 is forwarded, everything else "
        "rejected (`meta l4proto ipv6-icmp accept`, then TCP reset / "
        "ICMPv6 port-unreachable).\n"
    )


def build_truncated(case: Case, out: Path) -> None:
    src = PCAPS / "quiet-camera" / "quiet-camera.pcap"
    data = src.read_bytes()
    last, incl = last_record(data)
    cut = last + 16 + incl // 2
    (out / case.files[0]).write_bytes(data[:cut])
    case.capture_note = (
        f"A copy of `quiet-camera/quiet-camera.pcap` ({len(data)} bytes) cut in the middle "
        f"of its last record (record header at byte {last}, {incl} bytes of packet data, "
        f"cut after {incl // 2} of them); equivalent to:\n\n"
        f"```\nhead -c {cut} ../quiet-camera/quiet-camera.pcap > {case.files[0]}\n```\n"
        "\n(The byte count is recomputed by make_pcaps.py each time quiet-camera is "
        "rebuilt.) tshark reads every complete frame and then reports that the file "
        '"appears to have been cut short in the middle of a packet".\n'
    )


def build_nano(case: Case, out: Path) -> None:
    little, big = (out / f for f in case.files)
    nano = ["--time-stamp-precision=nano"]
    with recording(case, little, "drop", chatter=False, extra=nano) as lab:
        scenario_syn_dropped(lab)
    to_big_endian(little, big)
    case.capture_note += (
        f"\n`{big.name}` is the same capture rewritten to big-endian byte order by "
        "`to_big_endian()` in make_pcaps.py: the file header (magic `a1 b2 3c 4d`, "
        "version, zone, sigfigs, snaplen, link type) and every 16-byte record header "
        "are re-packed big-endian; packet bytes are unchanged. Both files hold the same "
        "frames in the same order, so expect.toml is identical for each.\n"
    )


def build_gzip(case: Case, out: Path) -> None:
    src = PCAPS / "dns-nxdomain" / "dns-nxdomain.pcap"
    with gzip.GzipFile(out / case.files[0], "wb", mtime=0) as gz:  # mtime 0: reproducible
        gz.write(src.read_bytes())
    case.capture_note = (
        "A gzip copy of `dns-nxdomain/dns-nxdomain.pcap` (Python `gzip`, mtime 0; "
        "equivalent to `gzip -n -c ../dns-nxdomain/dns-nxdomain.pcap`). "
        "Same frames, same expectations.\n"
    )


# ======================================================================
# issue 8: encapsulations an auditor meets, and a capture begun mid-stream
#
# This machine's kernel (firecracker, no loadable modules) has no 8021q, gre,
# gretap, erspan, ppp or mpls support (`ip link add ... type vlan|gre|erspan`
# says "Unknown device type"; no /dev/ppp; no /proc/sys/net/mpls). The traffic
# is therefore recorded for real in the lab, untagged, and the encapsulation is
# added afterwards, one frame at a time, by tcprewrite (VLAN tags) or by
# wrap_frames() below (PPPoE, PPP, MPLS), which keeps every frame's number and
# timestamp and changes nothing but the link-layer header.


def wrap_frames(
    src: Path, dst: Path, wrap: Callable[[bytes], bytes], linktype: int | None = None
) -> None:
    """Rewrite every record of a classic pcap through ``wrap`` (same count, order, times)."""
    data = src.read_bytes()
    endian = pcap_endian(data)
    header = list(struct.unpack(f"{endian}IHHiIII", data[:24]))
    if linktype is not None:
        header[6] = linktype
    out = [struct.pack(f"{endian}IHHiIII", *header)]
    for off, incl in iter_records(data):
        ts_sec, ts_frac, _incl, orig = struct.unpack_from(f"{endian}IIII", data, off)
        frame = wrap(data[off + 16 : off + 16 + incl])
        grown = len(frame) - incl
        out.append(struct.pack(f"{endian}IIII", ts_sec, ts_frac, len(frame), orig + grown))
        out.append(frame)
    dst.write_bytes(b"".join(out))


PPPOE_SESSION_ID = 0x2A2A
PPP_IP = {0x0800: 0x0021, 0x86DD: 0x0057}  # EtherType -> PPP protocol number


def outside_ipv4(frame: bytes) -> bool:
    """Is this an Ethernet IPv4 frame to or from an address outside the closed network?"""
    if frame[12:14] != b"\x08\x00":
        return False
    scope = Scope(CLOSED_NETWORK)
    ends = (ipaddress.IPv4Address(frame[26:30]), ipaddress.IPv4Address(frame[30:34]))
    return not all(scope.inside(str(a)) for a in ends)


def pppoe_session(frame: bytes) -> bytes:
    """An Ethernet IPv4 frame to/from the outside as a PPPoE session frame (RFC 2516).

    The camera's PPPoE WAN setting: its internet traffic goes through its own
    PPPoE session while the LAN stays plain Ethernet. Other frames unchanged.
    """
    ethertype = int.from_bytes(frame[12:14], "big")
    if not outside_ipv4(frame):
        return frame
    ppp = PPP_IP[ethertype].to_bytes(2, "big") + frame[14:]
    header = struct.pack("!BBHH", 0x11, 0x00, PPPOE_SESSION_ID, len(ppp))
    return frame[:12] + b"\x88\x64" + header + ppp


def ppp_hdlc(frame: bytes) -> bytes:
    """An Ethernet IP frame as PPP in HDLC-like framing (DLT_PPP: ff 03, protocol)."""
    ethertype = int.from_bytes(frame[12:14], "big")
    return b"\xff\x03" + PPP_IP[ethertype].to_bytes(2, "big") + frame[14:]


def mpls_two_labels(frame: bytes) -> bytes:
    """An Ethernet IP frame behind a two-label MPLS stack (RFC 3032); others unchanged."""
    if int.from_bytes(frame[12:14], "big") not in PPP_IP:
        return frame
    outer = (1001 << 12) | 64  # label 1001, TC 0, not bottom, TTL 64
    inner = (2002 << 12) | 0x100 | 64  # label 2002, bottom of stack
    return frame[:12] + b"\x88\x47" + struct.pack("!II", outer, inner) + frame[14:]


WRAP_NOTE = (
    "\nThis kernel (firecracker, no loadable modules) cannot make {what}: {why}. The "
    "traffic above was recorded for real without it, and every frame was then rewritten "
    "by `{func}()` in pcaps/make_pcaps.py ({how}). {kept}\n"
)
KEPT_IP = (
    "Frame numbers, timestamps and everything from the IP header on are unchanged; only "
    "the link-layer header differs."
)


def record_wrapped(
    case: Case,
    out: Path,
    sport: int,
    wrap: Callable[[bytes], bytes],
    recorded: str,
    **note: str,
) -> None:
    """cam1's hello to the cloud server (TCP ``sport``), recorded plain as ``recorded``,
    then every frame rewritten by ``wrap`` into the case's file; the capture note says
    how (``WRAP_NOTE`` filled with ``note``: what, why, how, kept)."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / recorded
        with recording(case, plain, "forward", setup=cloud_server) as lab:
            hello_cloud(lab, sport)
        wrap_frames(plain, out / case.files[0], wrap)
    func = getattr(wrap, "__name__", type(wrap).__name__)
    case.capture_note += WRAP_NOTE.format(func=func, **{"kept": KEPT_IP, **note})


def build_pppoe(case: Case, out: Path) -> None:
    record_wrapped(
        case,
        out,
        48000,
        pppoe_session,
        "ethernet.pcap",
        what="a PPPoE session",
        why='there is no /dev/ppp and `ip link add ... type ppp` answers "Unknown device type"',
        how="each IPv4 frame to or from an address outside 10.66.0.0/24 -- the camera's "
        "own internet traffic, as a camera set to dial PPPoE sends it -- gets EtherType "
        "0x8864 and a PPPoE session header (version 1, type 1, code 0, session "
        f"0x{PPPOE_SESSION_ID:04x}, length) and the PPP protocol 0x0021 inserted after "
        "the MAC addresses; local frames (ARP, RTSP, WS-Discovery) stay plain Ethernet",
    )


def build_qinq3(case: Case, out: Path) -> None:
    def listen(lab: Lab) -> None:
        lab.tcp_listener("inet", CLOUD_V4, 8000, "")

    with tempfile.TemporaryDirectory() as tmp:
        untagged = Path(tmp) / "untagged.pcap"
        with recording(case, untagged, "forward", setup=listen) as lab:
            expect_out(tcp_connect(lab, CLOUD_V4, 8000, 48001), "established")
        tag = ["tcprewrite", "--enet-vlan=add", "--enet-vlan-pri=0", "--enet-vlan-cfi=0"]
        step = untagged
        for vid in (100, 200, 300):
            nxt = Path(tmp) / f"tag{vid}.pcap" if vid != 300 else out / case.files[0]
            subprocess.run(
                [*tag, f"--enet-vlan-tag={vid}", "-i", str(step), "-o", str(nxt)], check=True
            )
            step = nxt
        lens_a = [n for _, n in iter_records(untagged.read_bytes())]
        lens_b = [n for _, n in iter_records(step.read_bytes())]
        if lens_b != [n + 12 for n in lens_a]:
            raise RuntimeError("tcprewrite did not grow every frame by 3 tags")
    case.capture_note += (
        "\nThis kernel has no `8021q` module, so the capture was taken untagged and "
        "tagged three times by tcprewrite, each run pushing a new outer 802.1Q tag "
        "(outermost VLAN 300, then 200, innermost 100):\n\n```\n"
        + "\n".join(
            f"{' '.join(tag)} --enet-vlan-tag={v} -i {a} -o {b}"
            for v, a, b in (
                (100, "untagged.pcap", "tag100.pcap"),
                (200, "tag100.pcap", "tag200.pcap"),
                (300, "tag200.pcap", case.files[0]),
            )
        )
        + "\n```\n\nFrame numbers and payloads are unchanged; each frame grew by 12 bytes "
        "(make_pcaps.py checks this).\n"
    )


def build_ppp_pcapng(case: Case, out: Path) -> None:
    with settled_lab("forward", setup=cloud_server) as lab, tempfile.TemporaryDirectory() as tmp:
        lan, wan_eth = Path(tmp) / "nvr-port.pcap", Path(tmp) / "gw-eth1.pcap"
        wan_ppp = Path(tmp) / "wan-ppp.pcap"
        cap_lan = lab.capture("switch", "p-nvr", lan)
        cap_wan = lab.capture("gw", "eth1", wan_eth, extra=["ip"])
        with capturing_both(cap_lan, cap_wan):
            background(lab)
            hello_cloud(lab, 48002)
        wrap_frames(wan_eth, wan_ppp, ppp_hdlc, linktype=9)
        subprocess.run(
            ["mergecap", "-F", "pcapng", "-w", str(out / case.files[0]), str(lan), str(wan_ppp)],
            check=True,
        )
    case.capture_note = (
        describe_capture(cap_lan, "the NVR's switch port (`p-nvr` in the `switch` namespace)")
        + "\nand, at the same time, on the gateway's outside leg (filter `ip`):\n\n"
        + describe_capture(cap_wan, "`eth1` in the `gw` namespace").split("\n\n", 1)[1]
        + WRAP_NOTE.format(
            what="a PPP link",
            why='there is no /dev/ppp and `ip link add ... type ppp` answers "Unknown device type"',
            func="ppp_hdlc",
            how="the outside-leg capture's 14-byte Ethernet header is replaced by PPP in "
            "HDLC-like framing, `ff 03` and the PPP protocol 0x0021, and the file's link "
            "type set to 9 (PPP)",
            kept=KEPT_IP,
        )
        + "\nThe two files were then merged by time into one pcapng with two interfaces "
        "(interface 0 Ethernet, interface 1 PPP); frame numbers below are the merged "
        "file's:\n\n```\nmergecap -F pcapng -w "
        f"{case.files[0]} nvr-port.pcap wan-ppp.pcap\n```\n"
    )


def build_mpls(case: Case, out: Path) -> None:
    how = (
        "each IPv4/IPv6 frame's EtherType becomes 0x8847 and a two-label stack (label 1001, "
        "then 2002 with bottom-of-stack, TTL 64) is inserted before the IP header; ARP "
        "frames are left as they are"
    )
    why = "/proc/sys/net/mpls does not exist (no mpls_router)"
    record_wrapped(
        case, out, 48003, mpls_two_labels, "ethernet.pcap", what="MPLS", why=why, how=how
    )


SPAN_SWITCH = ("02:66:00:00:00:fe", "10.66.0.250")  # the mirroring switch
SPAN_COLLECTOR = ("02:66:00:00:00:10", "10.66.0.10")  # the NVR host, as the collector
ERSPAN_SESSION = 1


def ip_checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class ErspanWrap:
    """Each frame as a SPAN port's ERSPAN type II copy: Ethernet/IPv4/GRE(seq)/ERSPAN/frame."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, frame: bytes) -> bytes:
        erspan = struct.pack("!HHI", (1 << 12) | 0, ERSPAN_SESSION & 0x3FF, 0)  # ver 1, vlan 0
        gre = struct.pack("!HHI", 0x1000, 0x88BE, self.seq)  # S flag: ERSPAN type II
        payload = gre + erspan + frame
        src = ipaddress.IPv4Address(SPAN_SWITCH[1]).packed
        dst = ipaddress.IPv4Address(SPAN_COLLECTOR[1]).packed
        header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(payload),
            self.seq & 0xFFFF,
            0x4000,
            64,
            47,
            0,
            src,
            dst,
        )
        header = header[:10] + struct.pack("!H", ip_checksum(header)) + header[12:]
        self.seq += 1
        eth = bytes.fromhex(SPAN_COLLECTOR[0].replace(":", "")) + bytes.fromhex(
            SPAN_SWITCH[0].replace(":", "")
        )
        return eth + b"\x08\x00" + header + payload


def build_erspan(case: Case, out: Path) -> None:
    record_wrapped(
        case,
        out,
        48004,
        ErspanWrap(),
        "mirrored.pcap",
        what="an ERSPAN or GRE device",
        why='`ip link add ... type erspan` (and `type gre`, `type gretap`) answers "Unknown '
        'device type"',
        how="each frame, whole, becomes the payload of an ERSPAN type II copy as a "
        f"switch's SPAN session sends it: Ethernet {SPAN_SWITCH[0]} -> {SPAN_COLLECTOR[0]}, "
        f"IPv4 {SPAN_SWITCH[1]} -> {SPAN_COLLECTOR[1]} (protocol 47, DF, TTL 64), GRE with "
        "the sequence-number flag and protocol 0x88BE (sequence 0, 1, 2 ...), then the "
        f"8-byte ERSPAN II header (version 1, VLAN 0, session {ERSPAN_SESSION})",
        kept="Frame numbers and timestamps are unchanged, and each recorded frame is "
        "carried whole, byte for byte, inside its ERSPAN copy.",
    )


MIDSTREAM_SERVER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
print("READY", flush=True)
conn, _ = s.accept()
time.sleep(float(sys.argv[3]))  # the capture starts meanwhile, after the handshake
conn.sendall(b"\\x17\\x03\\x03\\x00\\x05srvhi")
conn.recv(100)
conn.sendall(b"\\x17\\x03\\x03\\x00\\x03bye")
time.sleep(0.2)
conn.close()
"""
MIDSTREAM_CLIENT = """
import socket, sys
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.bind((sys.argv[1], int(sys.argv[2])))
c.settimeout(10)
c.connect((sys.argv[3], int(sys.argv[4])))
print("connected", flush=True)
c.recv(100)
c.sendall(b"\\x17\\x03\\x03\\x00\\x04camr")
while c.recv(100):
    pass
c.close()
print("closed", flush=True)
"""
MIDSTREAM_PORT = 54078
MIDSTREAM_WAIT = 2.0


def build_midstream(case: Case, out: Path) -> None:
    from lab.netlab import wait_for_line

    with fresh_lab() as lab:
        lab.gw_policy("forward")
        local_services(lab)
        server = lab.popen(
            "inet",
            [sys.executable, "-c", MIDSTREAM_SERVER, CLOUD_V4, "443", str(MIDSTREAM_WAIT)],
        )
        wait_for_line(server, "stdout", "READY", timeout=10)
        settle_lab()
        client = lab.popen(
            "cam1",
            [
                sys.executable,
                "-c",
                MIDSTREAM_CLIENT,
                CAM1.v4,
                str(MIDSTREAM_PORT),
                CLOUD_V4,
                "443",
            ],
        )
        wait_for_line(client, "stdout", "connected", timeout=10)
        with cam_capture(lab, out / case.files[0]) as cap:
            wait_for_line(client, "stdout", "closed", timeout=15)
    case.capture_note = describe_capture(cap, CAM_PORT) + (
        f"\nThe connection cam1:{MIDSTREAM_PORT} -> 203.0.113.5:443 was opened (handshake "
        "complete) *before* tcpdump started; the server waited "
        f"{MIDSTREAM_WAIT} s after accepting, then spoke first. So the first frame of the "
        "flow is the server's (203.0.113.5:443 -> cam1), and the capture holds no SYN. "
        "Server and client are small Python socket scripts (`MIDSTREAM_SERVER`, "
        "`MIDSTREAM_CLIENT` in make_pcaps.py) run in the `inet` and `cam1` namespaces.\n"
    )


# ======================================================================
# classic pcap byte-level helpers

PCAP_MAGICS = {0xA1B2C3D4: "us", 0xA1B23C4D: "ns"}


def pcap_endian(data: bytes) -> str:
    for endian in "<>":
        if struct.unpack(f"{endian}I", data[:4])[0] in PCAP_MAGICS:
            return endian
    raise ValueError("not a classic pcap file")


def iter_records(data: bytes) -> Iterable[tuple[int, int]]:
    """Yield (offset, incl_len) of every record; stops at a partial record."""
    endian = pcap_endian(data)
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack_from(f"{endian}I", data, off + 8)[0]
        yield off, incl
        off += 16 + incl


def last_record(data: bytes) -> tuple[int, int]:
    *_, last = iter_records(data)
    return last


def to_big_endian(src: Path, dst: Path) -> None:
    """Rewrite a pcap's file and record headers big-endian (packets untouched).

    Why: captures written on big-endian hosts (MIPS/PowerPC DVRs and NVRs do
    exist) carry big-endian headers; readers must honour the magic's order.
    """
    data = src.read_bytes()
    endian = pcap_endian(data)
    header = struct.unpack(f"{endian}IHHiIII", data[:24])
    out = [struct.pack(">IHHiIII", *header)]
    off = 24
    while off < len(data):
        ts_sec, ts_frac, incl, orig = struct.unpack_from(f"{endian}IIII", data, off)
        out.append(struct.pack(">IIII", ts_sec, ts_frac, incl, orig))
        out.append(data[off + 16 : off + 16 + incl])
        off += 16 + incl
    dst.write_bytes(b"".join(out))


# ======================================================================
# tshark oracle

FIELDS = [
    "frame.number",
    "frame.protocols",
    "ip.src",
    "ip.dst",
    "ipv6.src",
    "ipv6.dst",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.flags.reset",
    "udp.srcport",
    "udp.dstport",
    "icmp.type",
    "icmp.ident",
    "icmpv6.type",
    "icmpv6.echo.identifier",
    "tls.handshake.extensions_server_name",
    "http.host",
    "dns.flags.response",
    "dns.id",
    "dns.qry.name",
    "dns.qry.type",
    "dns.flags.rcode",
    "dns.a",
    "dns.aaaa",
]
L4 = ("tcp", "udp", "icmp", "icmpv6")
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}
QTYPES = {1: "A", 28: "AAAA", 5: "CNAME", 16: "TXT", 33: "SRV", 12: "PTR"}
DEFAULT_CLOSED = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fe80::/10",
    "fc00::/7",
)


def tshark_rows(path: Path) -> tuple[list[dict[str, list[str]]], bool]:
    """Frame fields as lists (all occurrences, outer header first); truncated?"""
    argv = [
        "tshark",
        "-n",
        "-r",
        str(path),
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ]
    for f in FIELDS:
        argv += ["-e", f]
    proc = subprocess.run(argv, capture_output=True, text=True)
    truncated = "cut short in the middle of a packet" in proc.stderr
    if proc.returncode != 0 and not truncated:
        raise RuntimeError(f"tshark failed on {path}: {proc.stderr}")
    rows = []
    for line in proc.stdout.splitlines():
        cols = line.split("\t")
        rows.append({f: (c.split("|") if c else []) for f, c in zip(FIELDS, cols, strict=True)})
    return rows, truncated


def flag(row: dict[str, list[str]], name: str) -> bool:
    vals = row[name]
    return bool(vals) and vals[0] in ("1", "True")


class Scope:
    """Which addresses are inside the closed network / never 'outbound'."""

    def __init__(self, closed: Iterable[str]) -> None:
        self.closed = [ipaddress.ip_network(n) for n in closed]

    def inside(self, addr: str) -> bool:
        ip = ipaddress.ip_address(addr)
        return any(ip in n for n in self.closed)

    @staticmethod
    def local_scope(addr: str) -> bool:
        """Multicast, broadcast, link-local, unspecified: never leave the segment."""
        ip = ipaddress.ip_address(addr)
        return ip.is_multicast or ip.is_link_local or ip.is_unspecified or addr == "255.255.255.255"

    @staticmethod
    def link_scoped(addr: str, igmp: bool) -> bool:
        """Destinations no router forwards: limited broadcast, link-local, 224.0.0.0/24,
        SSDP's 239.255.255.250, IPv6 multicast of scope <= 2, and every IGMP packet."""
        ip = ipaddress.ip_address(addr)
        if ip.is_link_local or addr == "255.255.255.255" or addr == "239.255.255.250":
            return True
        if ip.version == 6:
            return ip.is_multicast and (ip.packed[1] & 0x0F) <= 2
        return ip in ipaddress.ip_network("224.0.0.0/24") or (ip.is_multicast and igmp)

    def foreign_on_link(self, src: str, dst: str, igmp: bool) -> bool:
        """A sender outside the closed network talking to a link-scoped destination."""
        outside = not self.inside(src) and not self.local_scope(src)
        return outside and self.link_scoped(dst, igmp)

    def outbound(self, a: str, b: str) -> bool:
        """One end inside, the other a routable address outside."""
        for x, y in ((a, b), (b, a)):
            if self.inside(x) and not self.inside(y) and not self.local_scope(y):
                return True
        return False


def outer(row: dict[str, list[str]]) -> tuple[str, str, str] | None:
    """(src, dst, outer L4 protocol) of a frame, from its protocol stack."""
    protos = row["frame.protocols"][0].split(":") if row["frame.protocols"] else []
    if "gre" in protos:
        # a tunnel (a SPAN port's ERSPAN copy): the carried packet is the evidence
        inner = protos.index("gre")
        protos = protos[inner:]
        depth = sum(1 for p in row["frame.protocols"][0].split(":")[:inner] if p == "ip")
        if len(row["ip.src"]) > depth:
            return (
                row["ip.src"][depth],
                row["ip.dst"][depth],
                next((p for p in protos if p in L4), ""),
            )
        return None
    if row["ip.src"]:
        src, dst = row["ip.src"][0], row["ip.dst"][0]
    elif row["ipv6.src"]:
        src, dst = row["ipv6.src"][0], row["ipv6.dst"][0]
    else:
        return None
    l4 = next((p for p in protos if p in L4), "")
    return src, dst, l4


def icmp_error(row: dict[str, list[str]], l4: str) -> bool:
    if l4 == "icmp":
        return row["icmp.type"][:1] in (["3"], ["11"], ["12"])
    if l4 == "icmpv6":
        return row["icmpv6.type"][:1] in (["1"], ["2"], ["3"], ["4"])
    return False


def inner_tuple(row: dict[str, list[str]]) -> tuple[str, str, str, int, int] | None:
    """The offending packet quoted in an ICMP error: (src, dst, proto, sport, dport)."""
    protos = row["frame.protocols"][0].split(":")
    # inner addresses: ICMP quotes v4 in v4 (2nd ip.*), ICMPv6 v6 in v6 (2nd ipv6.*)
    if len(row["ip.src"]) > 1:
        src, dst = row["ip.src"][1], row["ip.dst"][1]
    elif len(row["ipv6.src"]) > 1:
        src, dst = row["ipv6.src"][1], row["ipv6.dst"][1]
    else:
        return None
    inner_l4 = [p for p in protos if p in L4][1:2]
    if inner_l4 == ["tcp"]:
        return src, dst, "tcp", int(row["tcp.srcport"][0]), int(row["tcp.dstport"][0])
    if inner_l4 == ["udp"]:
        return src, dst, "udp", int(row["udp.srcport"][0]), int(row["udp.dstport"][0])
    return None


@dataclass
class Flow:
    src: str
    dst: str
    proto: str
    dport: int | None
    first_frame: int
    packets: int = 0
    answered: bool = False  # any packet from dst
    synack: bool = False
    reset: bool = False
    icmp_error: bool = False
    sni: str = ""
    http_host: str = ""
    midstream: bool = False  # no handshake in the capture; data both ways

    def state(self) -> str:
        if self.proto == "tcp":
            if self.synack or self.midstream:
                return "established"
            return "rejected" if self.reset or self.icmp_error else "attempted"
        if self.icmp_error:
            return "rejected"
        if self.proto == "udp":
            return "two_way" if self.answered else "one_way"
        return "two_way" if self.answered else "attempted"


def midstream_reply(
    row: dict[str, list[str]], l4: str, sport: object, dport: object, scope: Scope, src: str
) -> bool:
    """A TCP packet without SYN from an outside server port to an inside ephemeral port."""
    return (
        l4 == "tcp"
        and not flag(row, "tcp.flags.syn")
        and not scope.inside(src)
        and isinstance(sport, int)
        and isinstance(dport, int)
        and sport < 1024 <= dport
    )


def flow_key(src: str, dst: str, proto: str, sport: object, dport: object) -> tuple[object, ...]:
    return (src, dst, proto, sport, dport)


def analyse(path: Path, closed: Iterable[str]) -> dict[str, object]:
    """Outbound flows, DNS questions and problems, as tshark sees the file."""
    scope = Scope(closed)
    rows, truncated = tshark_rows(path)
    flows: dict[tuple[object, ...], Flow] = {}
    dns_queries: list[dict[str, object]] = []
    pending: dict[tuple[object, ...], dict[str, object]] = {}
    foreign: dict[str, list[int]] = {}

    for row in rows:
        frame = int(row["frame.number"][0])
        o = outer(row)
        if o is None:
            continue
        src, dst, l4 = o
        if scope.foreign_on_link(src, dst, "igmp" in row["frame.protocols"][0].split(":")):
            foreign.setdefault(src, []).append(frame)
            continue
        if l4 in ("icmp", "icmpv6") and icmp_error(row, l4):
            inner = inner_tuple(row)
            if inner:
                key = flow_key(inner[0], inner[1], inner[2], inner[3], inner[4])
                if key in flows:
                    flows[key].icmp_error = True
            continue
        if l4 == "udp" and 53 in (int(row["udp.srcport"][0]), int(row["udp.dstport"][0])):
            record_dns(row, frame, src, dst, dns_queries, pending)
        if not scope.outbound(src, dst):
            continue
        sport: int | str | None
        dport: int | str | None
        if l4 in ("tcp", "udp"):
            sport, dport = int(row[f"{l4}.srcport"][0]), int(row[f"{l4}.dstport"][0])
        elif l4 == "icmp":
            sport = dport = row["icmp.ident"][0] if row["icmp.ident"] else None
        elif l4 == "icmpv6":
            ident = row["icmpv6.echo.identifier"]
            sport = dport = ident[0] if ident else None
        else:
            continue
        fwd = flow_key(src, dst, l4, sport, dport)
        rev = flow_key(dst, src, l4, dport, sport)
        if rev in flows:
            flow, from_dst = flows[rev], True
        elif fwd not in flows and midstream_reply(row, l4, sport, dport, scope, src):
            # The capture began inside an open connection and the server spoke
            # first: as Zeek, the end on the server port is the responder.
            flows[rev] = flow = Flow(dst, src, l4, sport, frame, midstream=True)
            from_dst = True
        else:
            if fwd not in flows:
                if not scope.inside(src):
                    raise RuntimeError(f"{path}: frame {frame} starts an inbound flow")
                port = dport if isinstance(dport, int) and l4 in ("tcp", "udp") else None
                flows[fwd] = Flow(src, dst, l4, port, frame)
            flow, from_dst = flows[fwd], False
        flow.packets += 1
        if from_dst:
            flow.answered = True
            if l4 == "tcp" and flag(row, "tcp.flags.syn") and flag(row, "tcp.flags.ack"):
                flow.synack = True
            if l4 == "tcp" and flag(row, "tcp.flags.reset"):
                flow.reset = True
        if row["tls.handshake.extensions_server_name"] and not flow.sni:
            flow.sni = row["tls.handshake.extensions_server_name"][0]
        if row["http.host"] and not flow.http_host:
            flow.http_host = row["http.host"][0]

    outbound = []
    for f in sorted(flows.values(), key=lambda f: f.first_frame):
        entry: dict[str, object] = {"src": f.src, "dst": f.dst, "proto": f.proto}
        if f.dport is not None:
            entry["dport"] = f.dport
        entry |= {"state": f.state(), "first_frame": f.first_frame, "packets": f.packets}
        if f.sni:
            entry["sni"] = f.sni
        if f.http_host:
            entry["http_host"] = f.http_host
        if f.midstream:
            entry["mid_stream"] = True
        outbound.append(entry)
    return {
        "outbound": outbound,
        "dns": dns_queries,
        "problems": ["truncated"] if truncated else [],
        "frames": len(rows),
        "foreign": [{"address": a, "frames": f} for a, f in foreign.items()],
    }


def record_dns(
    row: dict[str, list[str]],
    frame: int,
    src: str,
    dst: str,
    queries: list[dict[str, object]],
    pending: dict[tuple[object, ...], dict[str, object]],
) -> None:
    if not row["dns.id"] or not row["dns.qry.name"]:
        return
    qid = row["dns.id"][0]
    name = row["dns.qry.name"][0]
    qtype = int(row["dns.qry.type"][0])
    sport, dport = int(row["udp.srcport"][0]), int(row["udp.dstport"][0])
    if not flag(row, "dns.flags.response"):
        entry: dict[str, object] = {
            "name": name,
            "qtype": QTYPES.get(qtype, str(qtype)),
            "rcode": "none",
            "frame": frame,
            "answers": [],
        }
        queries.append(entry)
        pending[(src, sport, dst, qid, name, qtype)] = entry
        return
    answered = pending.pop((dst, dport, src, qid, name, qtype), None)
    if answered is not None:
        rcode = int(row["dns.flags.rcode"][0])
        answered["rcode"] = RCODES.get(rcode, str(rcode))
        answered["answers"] = row["dns.a"] + row["dns.aaaa"]


def derive_verdict(result: dict[str, object]) -> str:
    outbound = result["outbound"]
    assert isinstance(outbound, list)
    if result["problems"]:
        return "inconclusive"
    outbound = [f for f in outbound if "allowed_basis" not in f]
    dns = [d for d in result["dns"] if not d.get("allowed")]  # type: ignore[attr-defined]
    if any(f["state"] in ("established", "two_way") for f in outbound):
        return "not_isolated"
    if outbound or dns:
        return "isolated_with_attempts"
    return "isolated"


# ======================================================================
# writing expect.toml and READMEs


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def write_expect(case: Case, out: Path, result: dict[str, object]) -> None:
    lines = [
        f"# Generated by pcaps/make_pcaps.py from tshark's reading of {', '.join(case.files)}.",
        "# Do not edit by hand: rerun the script.",
        f"description = {toml_value(case.description)}",
        f"files = {toml_value(case.files)}",
        f"verdict = {toml_value(case.verdict)}",
        f"closed_network = {toml_value(list(CLOSED_NETWORK))}",
        f"problems = {toml_value(result['problems'])}",
    ]
    if case.policy:
        lines.append(f"policy = {toml_value(POLICY_FILE)}")
    for table in ("outbound", "dns", "foreign", "rhythm"):
        for entry in result.get(table, []):  # type: ignore[attr-defined]
            lines += ["", f"[[{table}]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # must round-trip
    (out / "expect.toml").write_text(text)


def capinfos_row(path: Path) -> dict[str, str]:
    """File type and link type(s) as capinfos reports them."""
    proc = subprocess.run(["capinfos", "-M", str(path)], capture_output=True, text=True)
    info: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info.setdefault(k.strip(), v.strip())
    return info


def sorted_timestamps(path: Path) -> bool:
    proc = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.time_epoch"],
        capture_output=True,
        text=True,
    )
    times = [float(t) for t in proc.stdout.split()]
    return times == sorted(times)


def damaged_frames(path: Path) -> str:
    """Frames tshark calls malformed or flags with an expert error (should be none)."""
    proc = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity == error"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip()


def frame_listing(path: Path) -> str:
    proc = subprocess.run(["tshark", "-n", "-r", str(path)], capture_output=True, text=True)
    return proc.stdout.rstrip()


def summarise(result: dict[str, object]) -> str:
    out = []
    for f in result["outbound"]:  # type: ignore[attr-defined]
        port = f":{f['dport']}" if "dport" in f else ""
        extra = f" SNI {f['sni']}" if "sni" in f else ""
        extra += f" Host {f['http_host']}" if "http_host" in f else ""
        out.append(
            f"{f['proto']} {f['src']} -> {f['dst']}{port} **{f['state']}** "
            f"(first frame {f['first_frame']}, {f['packets']} frames){extra}"
        )
    for d in result["dns"]:  # type: ignore[attr-defined]
        out.append(
            f"DNS {d['qtype']} {d['name']} -> {d['rcode']} {d['answers']} "
            f"(query frame {d['frame']})"
        )
    return "\n".join(f"- {x}" for x in out) or "- no outbound flow, no DNS question"


def write_readme(case: Case, out: Path, result: dict[str, object]) -> None:
    info_lines = []
    for name in case.files:
        i = capinfos_row(out / name)
        info_lines.append(
            f"- `{name}`: {i.get('File type', '?')}; encapsulation "
            f"{i.get('File encapsulation', '?')}; {i.get('Number of packets', '?')} packets; "
            f"{(out / name).stat().st_size} bytes; timestamps "
            f"{i.get('File timestamp precision', '?')}; "
            f"{'in' if sorted_timestamps(out / name) else '**not** in'} timestamp order"
        )
    problems = ", ".join(result["problems"]) or "none"  # type: ignore[arg-type]
    closed = " --closed-network ".join(CLOSED_NETWORK)
    run_args = f"`--closed-network {closed}`{policy_note(case)}"
    text = f"""# {case.name}

{case.description}

## Traffic generated

{case.traffic}

## Capture

{case.capture_note}
{chr(10).join(info_lines)}

## What camaudit must yield

Verdict **`{case.verdict}`** with {run_args};
problems: {problems}.

{case.why}

Expected outbound flows and DNS questions (derived with tshark; see expect.toml):

{summarise(result)}

## Frames (`tshark -n -r {case.files[0]}`)

```
{frame_listing(out / case.files[0])}
```
"""
    (out / "README.md").write_text(text)


def tool_versions() -> dict[str, str]:
    def first(argv: list[str]) -> str:
        p = subprocess.run(argv, capture_output=True, text=True)
        return (p.stdout or p.stderr).strip().splitlines()[0]

    return {
        "kernel": first(["uname", "-sr"]),
        "tcpdump": first(["tcpdump", "--version"])
        + "; "
        + subprocess.run(
            ["tcpdump", "--version"], capture_output=True, text=True
        ).stdout.splitlines()[1],
        "tshark": first(["tshark", "--version"]),
        "dumpcap": first(["dumpcap", "--version"]),
        "tcprewrite": first(["tcprewrite", "--version"]),
        "python": sys.version.split()[0],
    }


def write_index() -> None:
    """pcaps/README.md: one row per case, read back from each expect.toml."""
    rows = [
        "| case | file(s) | capture point / how made | verdict | outbound flows (state) |",
        "|---|---|---|---|---|",
    ]
    for case in CASES.values():
        exp_path = PCAPS / case.name / "expect.toml"
        if not exp_path.exists():
            continue
        exp = tomllib.loads(exp_path.read_text())
        flows = (
            "; ".join(
                f"{f['proto']} {f['dst']}{':' + str(f['dport']) if 'dport' in f else ''} "
                f"{f['state']}"
                for f in exp.get("outbound", [])
            )
            or "none"
        )
        dns = len(exp.get("dns", []))
        files = "<br>".join(f"`{f}`" for f in exp["files"])
        verdict = exp["verdict"] + (
            f" (problems: {', '.join(exp['problems'])})" if exp.get("problems") else ""
        )
        rows.append(
            f"| [{case.name}]({case.name}/README.md) | {files} | {HOW[case.name]} | "
            f"`{verdict}` | {flows}{f'; {dns} DNS question(s)' if dns else ''} |"
        )
    total = sum(
        p.stat().st_size for p in PCAPS.glob("*/*") if p.name not in ("README.md", "expect.toml")
    )
    text = f"""# Stored capture cases

Every case is rebuilt by `python pcaps/make_pcaps.py [CASE...]` (root; see
`lab/apt-packages.txt` and `lab/requirements.txt`) from the namespace lab in
`lab/netlab.py`: cameras 10.66.0.21/.22 (fd66::21/22), NVR 10.66.0.10, gateway
10.66.0.1 / 198.51.100.1, "internet" 198.51.100.10 and 203.0.113.5
(2001:db8:100::10, 2001:db8:203::5). Only documentation ranges play the
internet. Each folder holds the capture(s), a README (traffic, capture command,
expected result and why, frame listing) and `expect.toml`.

`expect.toml` is derived from the capture with **tshark** (not camaudit) and
cross-checked against the verdict the case was designed for. Every case passes
`closed_network = ["10.66.0.0/24", "fd66::/64"]`; the outbound flows are the
same under camaudit's default closed set (RFC 1918, 100.64/10, link-local, ULA),
which make_pcaps.py also checks. Every expect.toml lists its capture(s) in
`files`; where there are several, camaudit is run on each and the expectations
are identical. Multicast, broadcast and link-local peers (WS-Discovery, SSDP,
MLD, neighbour discovery) never count as outbound.

| | |
|---|---|
{chr(10).join(f"| {k} | {v} |" for k, v in tool_versions().items())}

Total size of all captures: {total} bytes.

{chr(10).join(rows)}

Notes:

- Camera-port captures are taken on `p-cam1`, the bridge-side end of cam1's
  veth in the `switch` namespace (everything cam1 sends and receives plus
  flooded broadcast/multicast of the segment).
- tcpdump runs with `--immediate-mode -U -s 65535 -B 32768` and is stopped with
  SIGINT after a 1.2 s settle; make_pcaps.py fails if a capture reports
  dropped packets or tshark flags a malformed frame (see lab/README.md for why).
- `sll-any` / `sll-v1` (tcpdump `-i any` in the gateway) and
  `pcapng-two-interfaces` (dumpcap on both gateway legs) hold **two copies of
  every forwarded packet**; tshark labels the second copy "TCP Retransmission"
  / "Dup ACK". Frame counts in expect.toml include both copies. The pcapng
  file is not in timestamp order (dumpcap writes each interface in batches).
- `pppoe-session`, `qinq-three-tags`, `ppp-pcapng`, `mpls` and `erspan-span`:
  this kernel cannot make PPP, VLAN, MPLS or GRE/ERSPAN devices, so the traffic
  is recorded for real, untagged, and the encapsulation is added per frame
  (tcprewrite for VLAN tags, `wrap_frames()` in make_pcaps.py for the rest),
  keeping frame numbers and timestamps; each case's README says exactly how.
- `mid-stream` starts after the TCP handshake: its first frame is the server's.
- tcpdump 4.99 on `any` defaults to LINUX_SLL2 (capinfos: `linux-sll2`);
  `-y LINUX_SLL` gives v1.
- Dropped SYNs: this kernel (>= 6.5) retransmits SYNs every 1 s for the first
  four tries, so the cases use a 2.5 s connect timeout and show 3 SYNs.
- `expect.toml` states: TCP SYN unanswered `attempted`; RST or ICMP
  unreachable `rejected` (the ICMP error is not counted in `packets`); SYN/ACK
  seen `established`; UDP answered `two_way`, else `one_way`; ICMP echo
  answered `two_way`, else `attempted`. One flow per 5-tuple (ICMP: per echo
  identifier). DNS: every question on port 53, with rcode and answer addresses.
- A case folder with `policy.toml` is run with `--policy` (expect.toml:
  `policy = "policy.toml"`); an outbound flow the policy accepts carries
  `allowed_basis` (`dns`: the device's own look-up of an allowed name answered
  with that address, earlier in the capture) and an allowed look-up `allowed`.
  `[[foreign]]` lists each host that sends from an address outside the closed
  network to a link-scoped destination (IGMP, 224.0.0.0/24, 239.255.255.250,
  broadcast, ff02::/16): a finding with every frame it sent, not a crossing.
"""
    (PCAPS / "README.md").write_text(text)


# ======================================================================
# the case table

LOCAL = (
    "Local background: ARP (fresh lab, empty caches), cam1's WS-Discovery `Hello` "
    "to 239.255.255.250:3702 (sport 3702), and an RTSP exchange cam1:40554 -> nvr "
    "10.66.0.10:554 (`OPTIONS` answered `RTSP/1.0 200 OK`, then FIN/FIN)."
)
ATTEMPT_WHY = (
    "Nothing left the closed network with an answer, but the camera tried: an "
    "isolated network that shows attempts is `isolated_with_attempts`, not `isolated`."
)

CASES: dict[str, Case] = {}
HOW: dict[str, str] = {}


def add(case: Case, how: str) -> None:
    CASES[case.name] = case
    HOW[case.name] = how


add(
    Case(
        "quiet-camera",
        "Only local traffic: ARP, RTSP to the NVR, WS-Discovery and SSDP multicast.",
        "isolated",
        ["quiet-camera.pcap"],
        LOCAL + " Also cam2's WS-Discovery Hello (flooded by the bridge) and cam1's SSDP "
        "`M-SEARCH` for an InternetGatewayDevice to 239.255.255.250:1900 (LAN-only; a hint "
        "of UPnP intent but no outbound packet).",
        "Every unicast peer is inside 10.66.0.0/24 and the rest is link-local multicast or "
        "broadcast: no packet, DNS question or attempt towards the outside.",
        build_quiet,
    ),
    "tcpdump on p-cam1",
)
add(
    Case(
        "dns-nxdomain",
        "cam1 asks the local resolver for two vendor cloud names; both NXDOMAIN.",
        "isolated_with_attempts",
        ["dns-nxdomain.pcap"],
        LOCAL + " Then cam1 asks the resolver on the gateway (10.66.0.1:53, lab "
        "`dns-server`) for `litedev.ezvizlife.com` A and `www.easy4ipcloud.com` A; both "
        "are answered NXDOMAIN. Gateway policy: drop (irrelevant: nothing is forwarded).",
        "The DNS questions go to a resolver inside the closed network, so there is no "
        "outbound flow, but asking for EZVIZ/Dahua cloud names is an attempt to phone "
        "home. " + ATTEMPT_WHY,
        build_dns_nxdomain,
    ),
    "tcpdump on p-cam1",
)
add(
    Case(
        "syn-dropped",
        "cam1's TCP SYN to the EZVIZ platform port 8666 is dropped by the gateway.",
        "isolated_with_attempts",
        ["syn-dropped.pcap"],
        LOCAL + " Then cam1 (sport 48666) connects to 203.0.113.5:8666 (EZVIZ litedev "
        "port) with a 4 s timeout; the gateway's nftables forward chain drops it, so the "
        "capture shows the SYN and its retransmissions (Linux: after 1 s and 3 s) and "
        "no answer.",
        "A SYN with no reply is an `attempted` flow. " + ATTEMPT_WHY,
        build_syn_dropped,
    ),
    "tcpdump on p-cam1; gw drop",
)
add(
    Case(
        "syn-rejected",
        "Gateway rejects: TCP 443 gets a RST, UDP 123 gets ICMP port-unreachable.",
        "isolated_with_attempts",
        ["syn-rejected.pcap"],
        LOCAL + " Then cam1 connects TCP 48443 -> 203.0.113.5:443 and the gateway answers "
        "`reject with tcp reset` (the RST carries 203.0.113.5 as source); cam1 sends one "
        "NTP request UDP 40123 -> 198.51.100.10:123 and the gateway answers ICMP "
        "destination-unreachable/port-unreachable from 10.66.0.1 quoting it.",
        "Both flows are `rejected`: the refusal came from the gateway, not from the far "
        "end, so no data left. The ICMP error is counted as evidence of rejection, not as "
        "a packet of the flow. " + ATTEMPT_WHY,
        build_syn_rejected,
    ),
    "tcpdump on p-cam1; gw reject",
)
add(
    Case(
        "tls-established",
        "cam1 resolves litedev.hik-connect.com and completes TLS to it.",
        "not_isolated",
        ["tls-established.pcap"],
        LOCAL + " The resolver answers `litedev.hik-connect.com` A 203.0.113.5; cam1 "
        "(sport 48444) opens TLS 1.3 to 203.0.113.5:443 with SNI "
        "`litedev.hik-connect.com` (server: Python ssl, self-signed P-256 cert made at run "
        "time, no session tickets), sends 7 bytes, reads 9, closes. Gateway: forward.",
        "The TCP handshake was answered from outside and application data crossed: "
        "`established`, so the network is not closed.",
        build_tls,
    ),
    "tcpdump on p-cam1; gw forward",
)
add(
    Case(
        "udp-p2p-ntp",
        "Dahua P2P DHGET over UDP 8800 and an NTP exchange, both answered.",
        "not_isolated",
        ["udp-p2p-ntp.pcap"],
        LOCAL + " The resolver answers `www.easy4ipcloud.com` A 203.0.113.5; cam1 sends "
        "UDP 48800 -> 203.0.113.5:8800 with payload `DHGET /probe/p2psrv HTTP/1.1\\r\\n...` "
        "and gets an `HTTP/1.1 200 OK` datagram back; cam1 sends a 48-byte SNTP client "
        "request (LI 0, VN 4, mode 3) UDP 40123 -> 198.51.100.10:123 and the lab NTP "
        "server answers mode 4. Gateway: forward.",
        "Two UDP flows answered from outside (`two_way`): the network is not closed.",
        build_udp,
    ),
    "tcpdump on p-cam1; gw forward",
)
add(
    Case(
        "icmp-echo",
        "cam1 pings 203.0.113.5 twice and both replies come back.",
        "not_isolated",
        ["icmp-echo.pcap"],
        LOCAL + " Then `ping -n -c 2 -i 0.5 203.0.113.5` in cam1. Gateway: forward.",
        "ICMP echo answered from outside is a `two_way` flow (one flow: same echo "
        "identifier): the network is not closed.",
        build_icmp,
    ),
    "tcpdump on p-cam1; gw forward",
)
add(
    Case(
        "vlan",
        "syn-dropped plus an NXDOMAIN look-up, every frame tagged 802.1Q VLAN 100.",
        "isolated_with_attempts",
        ["vlan100.pcap"],
        LOCAL + " Then `litedev.ezvizlife.com` A -> NXDOMAIN, then TCP 48666 -> "
        "203.0.113.5:8666 dropped by the gateway (SYN + retransmissions).",
        "Same as syn-dropped + dns-nxdomain: the reader must look through the 802.1Q "
        "header. " + ATTEMPT_WHY,
        build_vlan,
    ),
    "tcpdump on p-cam1 (untagged) + `tcprewrite --enet-vlan=add --enet-vlan-tag=100`",
)
add(
    Case(
        "sll-any",
        "Established TCP to 203.0.113.5:8000 seen on `tcpdump -i any` in the gateway.",
        "not_isolated",
        ["sll-any.pcap"],
        LOCAL + " Then cam1 TCP 48000 -> 203.0.113.5:8000 sends 9 bytes, the lab server "
        "answers 8 and closes. Gateway: forward.",
        "The handshake was answered from outside: `established`. Each forwarded packet "
        "appears twice in this capture (inside and outside leg): the flow's packet count "
        "includes both copies; a reader must not see two flows.",
        build_sll,
    ),
    "`tcpdump -i any` in gw (default link type)",
)
add(
    Case(
        "sll-v1",
        "As sll-any, captured simultaneously with `tcpdump -i any -y LINUX_SLL`.",
        "not_isolated",
        ["sll-v1.pcap"],
        "The same traffic run as sll-any (both captures ran at once). " + LOCAL,
        "As sll-any; only the link-layer header format differs (Linux cooked v1, 16 bytes).",
        build_sll,
        depends=(),
    ),
    "`tcpdump -i any -y LINUX_SLL` in gw",
)
add(
    Case(
        "pcapng-two-interfaces",
        "pcapng from dumpcap on both gateway legs; HTTP Host dev.hik-connect.com.",
        "not_isolated",
        ["gw-two-legs.pcapng"],
        LOCAL + " The resolver answers `dev.hik-connect.com` A 198.51.100.10; cam1 TCP "
        "48080 -> 198.51.100.10:80 sends `GET /register HTTP/1.1` with `Host: "
        "dev.hik-connect.com`, gets `HTTP/1.1 200 OK`. Gateway: forward.",
        "An established outbound HTTP session: `not_isolated`. The reader must handle "
        "pcapng with two interfaces (and two copies of each forwarded packet).",
        build_pcapng,
    ),
    "`dumpcap -i eth0 -i eth1` in gw",
)
add(
    Case(
        "ipv6",
        "IPv6: AAAA look-up, rejected TCP to [2001:db8:203::5]:443, answered ICMPv6 echo.",
        "not_isolated",
        ["ipv6.pcap"],
        "cam1 pings the NVR fd66::10 once (local, with neighbour discovery), asks the "
        "resolver at fd66::1 (over IPv6) for `litedev.hik-connect.com` AAAA -> "
        "2001:db8:203::5, connects TCP 48443 -> [2001:db8:203::5]:443 and gets a RST from "
        "the gateway, then `ping -6 -c 2 2001:db8:203::5` which is forwarded and answered. "
        "Neighbour solicitations/advertisements (fd66::/fe80:: and ff02::1:ff.. "
        "solicited-node multicast) are local.",
        "The ICMPv6 echo was answered from outside (`two_way`), so the verdict is "
        "`not_isolated` even though the TCP attempt was `rejected`. Neighbour discovery "
        "and local pings are not outbound.",
        build_ipv6,
    ),
    "tcpdump on p-cam1; gw reject except ICMPv6",
)
add(
    Case(
        "truncated",
        "quiet-camera cut in the middle of its last record.",
        "inconclusive",
        ["truncated.pcap"],
        "Nothing new: the bytes of quiet-camera.pcap up to the middle of its last record.",
        "A capture that ends mid-record cannot prove isolation (the tool cannot know what "
        "is missing): verdict `inconclusive` with problem `truncated`, although every "
        "complete frame is local.",
        build_truncated,
        problems=["truncated"],
        depends=("quiet-camera",),
    ),
    "copy of quiet-camera, cut with `head -c`",
)
add(
    Case(
        "nanosecond-bigendian",
        "syn-dropped traffic in a nanosecond pcap, plus its big-endian twin.",
        "isolated_with_attempts",
        ["syn-dropped-ns.pcap", "syn-dropped-ns-be.pcap"],
        LOCAL + " Then TCP 48666 -> 203.0.113.5:8666 dropped by the gateway.",
        "As syn-dropped, for both files: readers must honour the nanosecond magic and "
        "big-endian headers. " + ATTEMPT_WHY,
        build_nano,
    ),
    "`tcpdump --time-stamp-precision=nano` on p-cam1 + big-endian rewrite",
)
add(
    Case(
        "gzip",
        "dns-nxdomain compressed with gzip (.pcap.gz).",
        "isolated_with_attempts",
        ["dns-nxdomain.pcap.gz"],
        "Nothing new: dns-nxdomain.pcap, gzip-compressed.",
        "As dns-nxdomain; the reader must decompress transparently. " + ATTEMPT_WHY,
        build_gzip,
        depends=("dns-nxdomain",),
    ),
    "gzip of dns-nxdomain",
)


# ----------------------------------------------------------------------
# cases with a policy file, and a neighbour with a foreign address (issue 8)

POLICY_FILE = "policy.toml"
VENDOR_NAME = "updates.vendor.example"
VENDOR_POLICY = f"""\
# Allow the vendor's update service by name only. The name counts when the capture
# shows the camera's own DNS look-up of it answered with the address it then talks
# to; the HTTP Host header and TLS SNI are the camera's own words and do not count
# (the rule does not set trust_client_names).
schema_version = 1
name = "vendor updates by name"
closed_network = {toml_value(list(CLOSED_NETWORK))}

[[allow]]
name = "vendor updates"
names = ["{VENDOR_NAME}"]
reason = "firmware update checks (lab)"
"""
FOREIGN_V4 = "192.0.2.64"


def http_post(host: str) -> str:
    return (
        rf"POST /api/upload HTTP/1.1\r\nHost: {host}\r\nUser-Agent: cam1\r\n"
        r"Content-Type: application/octet-stream\r\nContent-Length: 8\r\n\r\nsnapshot"
    )


def policy_note(case: Case) -> str:
    return f" and `--policy {POLICY_FILE}` (in this folder)" if case.policy else ""


def _under(name: str, suffixes: Iterable[str]) -> bool:
    name = name.lower().rstrip(".")
    return any(name == s or name.endswith("." + s) for s in (x.lower() for x in suffixes))


def dns_resolutions(path: Path) -> list[tuple[str, str, list[str], int]]:
    """(client, name, answer addresses, response frame) for every NOERROR answer."""
    fields = ["frame.number", "ip.dst", "ipv6.dst", "dns.qry.name", "dns.a", "dns.aaaa"]
    argv = ["tshark", "-n", "-r", str(path), "-Y", "dns.flags.response==1 && dns.flags.rcode==0"]
    argv += ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=|"]
    for f in fields:
        argv += ["-e", f]
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    out = []
    for line in proc.stdout.splitlines():
        frame, v4, v6, name, a, aaaa = line.split("\t")
        answers = [x for x in (a.split("|") + aaaa.split("|")) if x]
        out.append(((v4 or v6).split("|")[0], name.split("|")[0], answers, int(frame)))
    return out


def _rule_fits(rule: dict[str, object], proto: str, port: object) -> bool:
    ports = rule.get("ports") or []
    return rule.get("proto") in (None, proto) and (not ports or port in ports)  # type: ignore[operator]


def apply_policy(case: Case, path: Path, result: dict[str, object]) -> dict[str, object]:
    """The oracle's reading of the case's name rules: a flow is allowed when the same
    client's look-up of a listed name was answered with the flow's destination before
    the flow's first frame (basis "dns"), or, in a rule with trust_client_names, when its
    SNI/Host is under a listed name. A look-up of a listed name is allowed too."""
    policy = tomllib.loads(case.policy)
    rules = [*policy.get("allow", []), *policy.get("exception", [])]
    resolved = dns_resolutions(path)
    for flow in result["outbound"]:  # type: ignore[attr-defined]
        for rule in rules:
            if not _rule_fits(rule, flow["proto"], flow.get("dport")):
                continue
            seen = any(
                client == flow["src"] and _under(name, rule["names"]) and flow["dst"] in answers
                for client, name, answers, frame in resolved
                if frame < flow["first_frame"]
            )
            claimed = [flow.get("sni", ""), flow.get("http_host", "")]
            if seen:
                flow["allowed_basis"] = "dns"
            elif rule.get("trust_client_names") and any(
                n and _under(n, rule["names"]) for n in claimed
            ):
                flow["allowed_basis"] = "sni/host (trusted by policy)"
            if "allowed_basis" in flow:
                break
    for lookup in result["dns"]:  # type: ignore[attr-defined]
        if any(_rule_fits(r, "udp", 53) and _under(lookup["name"], r["names"]) for r in rules):
            lookup["allowed"] = True
    return result


def web_server(address: str) -> Callable[[Lab], None]:
    """A lab web server on ``address``:80 (answers ``HTTP_OK``)."""
    return lambda lab: lab.tcp_listener("inet", address, 80, HTTP_OK)


def build_host_unresolved(case: Case, out: Path) -> None:
    with recording(case, out / case.files[0], "forward", setup=web_server(CLOUD_V4)) as lab:
        expect_out(dns_query(lab, "Telemetry.Vendor.EXAMPLE"), "NXDOMAIN")
        expect_out(tcp_connect(lab, CLOUD_V4, 80, 48081, http_post(VENDOR_NAME)), "established")


def build_host_resolved(case: Case, out: Path) -> None:
    dns = {VENDOR_NAME: {"A": [INET_V4]}}
    with recording(case, out / case.files[0], "forward", dns, setup=web_server(INET_V4)) as lab:
        expect_out(dns_query(lab, "Updates.Vendor.Example"), "NOERROR")
        expect_out(tcp_connect(lab, INET_V4, 80, 48082, http_post(VENDOR_NAME)), "established")


#: Run in cam2: what an mDNS responder does on start-up. Joining 224.0.0.251 makes the
#: kernel send IGMPv3 membership reports (from the interface's first address), then one
#: mDNS query goes out from port 5353; closing the socket leaves the group (more reports).
MDNS_JOIN_AND_ASK = f"""
import socket, time
import dns.message
src, group = "{FOREIGN_V4}", "224.0.0.251"
query = dns.message.make_query("_rtsp._tcp.local", "PTR")
query.id, query.flags = 0, 0
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
sock.setsockopt(
    socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(src)
)
sock.bind((src, 5353))
time.sleep(1.2)
sock.sendto(query.to_wire(), (group, 5353))
time.sleep(0.3)
sock.close()
time.sleep(1.2)
print("sent")
"""


def build_foreign_multicast(case: Case, out: Path) -> None:
    cam2 = HOSTS["cam2"].v4

    def foreign_first(lab: Lab) -> None:
        # cam2 carries a foreign address first (so the kernel also picks it for IGMP),
        # then its lab address; the default route goes back through the gateway.
        lab.ip("cam2", "-4", "addr", "flush", "dev", "eth0")
        lab.ip("cam2", "addr", "add", f"{FOREIGN_V4}/24", "dev", "eth0")
        lab.ip("cam2", "addr", "add", f"{cam2}/24", "dev", "eth0")
        lab.ip("cam2", "route", "add", "default", "via", GW_INSIDE_V4)

    with recording(case, out / case.files[0], "drop", setup=foreign_first) as lab:
        expect_out(lab.run("cam2", [sys.executable, "-c", MDNS_JOIN_AND_ASK]).strip(), "sent")
        expect_out(
            lab.agent("cam2", "multicast", "ssdp", "--src", FOREIGN_V4, "--sport", "41900"),
            "sent",
        )
    case.capture_note += (
        f"\nBefore the capture, cam2's IPv4 addresses were set to {FOREIGN_V4}/24 "
        f"(first, so it is the interface's primary address) and {cam2}/24:\n\n```\n"
        f"ip -n cam2-<suffix> -4 addr flush dev eth0\n"
        f"ip -n cam2-<suffix> addr add {FOREIGN_V4}/24 dev eth0\n"
        f"ip -n cam2-<suffix> addr add {cam2}/24 dev eth0\n"
        f"ip -n cam2-<suffix> route add default via {GW_INSIDE_V4}\n```\n"
        "\nThe mDNS step is `MDNS_JOIN_AND_ASK` in make_pcaps.py (a Python socket that "
        "joins 224.0.0.251 on the foreign address, sends one query and leaves).\n"
    )


add(
    Case(
        "host-header-unresolved",
        "cam1 POSTs to an outside address with `Host:` an allowed name it never resolved.",
        "not_isolated",
        ["host-header-unresolved.pcap"],
        LOCAL + " cam1 asks the gateway's resolver for `Telemetry.Vendor.EXAMPLE` (mixed "
        "case on the wire) and gets NXDOMAIN. It never looks up `updates.vendor.example`, "
        "yet opens TCP 48081 -> 203.0.113.5:80 and sends `POST /api/upload HTTP/1.1` with "
        "`Host: updates.vendor.example`; the lab server answers `HTTP/1.1 200 OK`. "
        "Gateway: forward. The case's `policy.toml` allows `names = "
        '["updates.vendor.example"]` (without `trust_client_names`).',
        "The Host header is written by the camera and names whatever it likes; nothing in "
        "the capture ties `updates.vendor.example` to 203.0.113.5 for this camera. The "
        "allow rule therefore does not apply, and an established outbound HTTP session is "
        "`not_isolated`. The NXDOMAIN look-up is an attempt; its evidence filter must "
        "select the mixed-case question (Wireshark's `==` is case-sensitive).",
        build_host_unresolved,
        policy=VENDOR_POLICY,
    ),
    "tcpdump on p-cam1; gw forward; policy by name",
)
add(
    Case(
        "host-header-resolved",
        "cam1 resolves an allowed name and POSTs to the address it was given.",
        "isolated",
        ["host-header-resolved.pcap"],
        LOCAL + " cam1 asks the gateway's resolver for `Updates.Vendor.Example` A (mixed "
        "case on the wire) and gets 198.51.100.10; it then opens TCP 48082 -> "
        "198.51.100.10:80 and sends `POST /api/upload HTTP/1.1` with `Host: "
        "updates.vendor.example`; the lab server answers `HTTP/1.1 200 OK`. Gateway: "
        'forward. The case\'s `policy.toml` allows `names = ["updates.vendor.example"]`.',
        "The camera's own look-up, answered before the connection, shows that "
        "`updates.vendor.example` is 198.51.100.10: the policy's name rule accepts both "
        "the look-up and the session (basis `dns`), so nothing crossed that the policy "
        "does not allow: `isolated` under this policy (without it: `not_isolated`).",
        build_host_resolved,
        policy=VENDOR_POLICY,
    ),
    "tcpdump on p-cam1; gw forward; policy by name",
)
add(
    Case(
        "foreign-address-multicast",
        "A neighbour with a foreign address sends IGMP, mDNS and SSDP on the segment.",
        "isolated",
        ["foreign-address-multicast.pcap"],
        LOCAL + f" cam2 carries {FOREIGN_V4}/24 (a documentation address outside the "
        "closed network, first on its interface) besides 10.66.0.22/24. It joins "
        "224.0.0.251 (IGMPv3 membership reports to 224.0.0.22), sends one mDNS query "
        f"{FOREIGN_V4}:5353 -> 224.0.0.251:5353 for `_rtsp._tcp.local` PTR and leaves the "
        f"group (more reports), then sends an SSDP `M-SEARCH` {FOREIGN_V4}:41900 -> "
        "239.255.255.250:1900. Nobody answers. The bridge floods all of it to cam1's port. "
        "Gateway: drop.",
        "Every packet from the foreign address goes to a link-scoped destination (IGMP, "
        "224.0.0.0/24, SSDP's 239.255.255.250): no router forwarded it, so it is no "
        "crossing and the verdict stays `isolated`. camaudit reports the host as its own "
        "finding (`FOREIGN-ADDRESS-ON-SEGMENT`, listed as `[[foreign]]` in expect.toml "
        "with every frame it sent).",
        build_foreign_multicast,
    ),
    "tcpdump on p-cam1; cam2 with a second, foreign address",
)
add(
    Case(
        "pppoe-session",
        "Established TCP to 203.0.113.5:8000 inside PPPoE session frames (EtherType 0x8864).",
        "not_isolated",
        ["pppoe-session.pcap"],
        LOCAL + " Then cam1 TCP 48000 -> 203.0.113.5:8000 sends 9 bytes, the lab server "
        "answers 8 and closes. Gateway: forward. The frames of that connection are then "
        "carried in a PPPoE session; the local traffic stays plain Ethernet (see Capture).",
        "The reader must look through PPPoE and PPP: the handshake inside was answered "
        "from outside (`established`). A decoder that counts PPPoE frames as 'not IP' "
        "sees only the local traffic and says `isolated`.",
        build_pppoe,
    ),
    "tcpdump on p-cam1 + PPPoE session headers added per frame",
)
add(
    Case(
        "qinq-three-tags",
        "SYN/SYN-ACK to 203.0.113.5:8000 behind three stacked 802.1Q tags (300/200/100).",
        "not_isolated",
        ["qinq-three-tags.pcap"],
        LOCAL + " Then cam1 TCP 48001 -> 203.0.113.5:8000 connects (the server reads, "
        "sends nothing, closes). Gateway: forward. Every frame then carries three 802.1Q "
        "tags.",
        "Any depth of VLAN tags must be looked through: the SYN-ACK from outside makes "
        "the flow `established`.",
        build_qinq3,
    ),
    "tcpdump on p-cam1 (untagged) + 3 x `tcprewrite --enet-vlan=add`",
)
add(
    Case(
        "ppp-pcapng",
        "pcapng: interface 0 Ethernet (NVR port), interface 1 PPP carrying outside TCP.",
        "not_isolated",
        ["ppp-second-interface.pcapng"],
        LOCAL + " Then cam1 TCP 48002 -> 203.0.113.5:8000 sends 9 bytes, the lab server "
        "answers 8 and closes. Gateway: forward. Interface 0 (the NVR's port) sees only "
        "the local traffic; the outside TCP is only on interface 1, the gateway's "
        "outside leg written as PPP.",
        "The PPP interface holds an established connection to the outside. A reader "
        "that skips a link type because other interfaces are readable would say "
        "`isolated`.",
        build_ppp_pcapng,
    ),
    "tcpdump on p-nvr + tcpdump on gw eth1 (as PPP), merged by mergecap",
)
add(
    Case(
        "mpls",
        "Established TCP to 203.0.113.5:8000 behind a two-label MPLS stack.",
        "not_isolated",
        ["mpls.pcap"],
        LOCAL + " Then cam1 TCP 48003 -> 203.0.113.5:8000 sends 9 bytes, the lab server "
        "answers 8 and closes. Gateway: forward. Every IP frame then carries an MPLS "
        "label stack.",
        "The reader must walk the label stack to the IP header: the handshake was "
        "answered from outside (`established`).",
        build_mpls,
    ),
    "tcpdump on p-cam1 + MPLS labels added per frame",
)
add(
    Case(
        "mid-stream",
        "Capture begun inside an open TLS-port connection; the server's packet is first.",
        "not_isolated",
        ["mid-stream.pcap"],
        f"cam1:{MIDSTREAM_PORT} connects to 203.0.113.5:443 before the capture starts; "
        "once it runs, the server sends a record, cam1 answers, the server sends another "
        "and closes. Gateway: forward.",
        "Data crossed both ways: `not_isolated`. The first frame is the server's, but "
        "the flow is cam1's outbound connection to port 443 (as Zeek decides without a "
        "SYN: the service port is the responder), marked mid-stream; not an inbound "
        f"flow to cam1's port {MIDSTREAM_PORT}.",
        build_midstream,
    ),
    "connection opened, then tcpdump on p-cam1",
)

add(
    Case(
        "erspan-span",
        "A SPAN port's ERSPAN II copies of cam1's traffic, incl. established TCP outside.",
        "not_isolated",
        ["erspan-span.pcap"],
        LOCAL + " Then cam1 TCP 48004 -> 203.0.113.5:8000 sends 9 bytes, the lab server "
        "answers 8 and closes. Gateway: forward. Every frame is then delivered as a "
        "mirroring switch's ERSPAN type II copy to the collector 10.66.0.10 (see Capture).",
        "The mirrored (inner) frames are the evidence: they hold an established connection "
        "to the outside. The outer GRE packets (10.66.0.250 -> 10.66.0.10) are local. A "
        "decoder that stops at the outer header sees one local GRE flow and says "
        "`isolated`.",
        build_erspan,
    ),
    "tcpdump on p-cam1 + each frame wrapped as ERSPAN type II",
)
add(
    Case(
        "phone-home-rhythm",
        "cam1 retries 203.0.113.5:443 every 2 s, 15 times, next to an irregular sender.",
        "isolated_with_attempts",
        ["phone-home-rhythm.pcap"],
        LOCAL + " Then cam1 runs two fake firmware timers at once (lab/agents.py `retry`, "
        "time scaled down in the fake: seconds where a camera waits minutes): one connects "
        "to 203.0.113.5:443 every 2 s, 15 times; the other to 198.51.100.10:8443, 15 "
        f"times, each gap drawn uniformly from {RANDOM_GAPS[0]} to {RANDOM_GAPS[1]} s "
        "(Python `random`, seed 13). Each connect is a fresh socket with an ephemeral "
        "port; the gateway answers every SYN with `reject with tcp reset`.",
        "Every connection is `rejected`: nothing crossed, but cam1 tried 30 times. "
        + ATTEMPT_WHY
        + " The 15 connections to 203.0.113.5:443 are a phone-home rhythm (period 2 s, "
        "count 15, score near 1): a device configured to reach that address. The 15 to "
        "198.51.100.10:8443 have random gaps and must score low, below the reporting "
        "threshold (`[[rhythm]]` in expect.toml: tshark's SYN count and median interval).",
        build_rhythm,
        rhythm=[
            Timer(CAM1.v4, CLOUD_V4, 443, 15, 2.0),
            Timer(CAM1.v4, INET_V4, 8443, 15, 0.0, regular=False),
        ],
    ),
    "tcpdump on p-cam1; gw reject; two retry timers",
)


# ======================================================================
# main


def check_case(case: Case, out: Path) -> dict[str, object]:
    """Oracle over every file; all files of a case must agree; verdict must match."""
    results = [analyse(out / f, CLOSED_NETWORK) for f in case.files]
    for f, r in zip(case.files[1:], results[1:], strict=True):
        if r != results[0]:
            raise RuntimeError(f"{case.name}: {f} reads differently from {case.files[0]}")
    result = results[0]
    for f in case.files:
        if bad := damaged_frames(out / f):
            raise RuntimeError(f"{case.name}/{f}: tshark flags frames:\n{bad}")
    default = analyse(out / case.files[0], DEFAULT_CLOSED)
    if default["outbound"] != result["outbound"]:
        raise RuntimeError(f"{case.name}: outbound differs under the default closed set")
    if result["problems"] != case.problems:
        raise RuntimeError(f"{case.name}: problems {result['problems']} != {case.problems}")
    if case.policy:
        result = apply_policy(case, out / case.files[0], result)
    if case.rhythm:
        result["rhythm"] = check_rhythm(case, out / case.files[0])
    derived = derive_verdict(result)
    if derived != case.verdict:
        raise RuntimeError(f"{case.name}: tshark says {derived}, case wants {case.verdict}")
    return result


def build(name: str, done: set[str]) -> None:
    if name in done:
        return
    case = CASES[name]
    for dep in case.depends:
        if not (PCAPS / dep / CASES[dep].files[0]).exists():
            build(dep, done)
    out = PCAPS / name
    if out.exists() and case.build is not build_sll:
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if case.policy:
        (out / POLICY_FILE).write_text(case.policy)
    case.build(case, out)
    built = [name]
    if case.build is build_sll:  # one run makes both SLL cases
        built = ["sll-any", "sll-v1"]
    for n in built:
        c = CASES[n]
        result = check_case(c, PCAPS / n)
        write_expect(c, PCAPS / n, result)
        write_readme(c, PCAPS / n, result)
        done.add(n)
        size = sum((PCAPS / n / f).stat().st_size for f in c.files)
        print(
            f"{n:24} {c.verdict:24} {result['frames']:3} frames {size:6} bytes "
            f"{time.monotonic() - started:5.1f} s",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Rebuild pcaps/<case>/ from the netns lab.")
    p.add_argument("cases", nargs="*", metavar="CASE", help=f"default: all of {list(CASES)}")
    args = p.parse_args(argv)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        p.error(f"unknown case(s): {sorted(unknown)}")
    started = time.monotonic()
    done: set[str] = set()
    for name in args.cases or list(CASES):
        build(name, done)
    write_index()
    print(f"total {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
