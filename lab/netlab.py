"""A throw-away camera network built from Linux network namespaces.

Why: camaudit's evidence is packet captures, and the only honest way to get
captures of "a camera trying to phone home through a gateway that drops /
rejects / forwards" without touching a real network is to build that network
inside this machine.  Every packet stays in namespaces this module creates;
"the internet" is a namespace holding documentation addresses only.

Topology (``<role>-<suffix>`` namespaces; the suffix keeps parallel runs and
crashed earlier runs apart)::

    cam1 10.66.0.21 fd66::21 ─┐
    cam2 10.66.0.22 fd66::22 ─┤ switch (bridge br0; ports p-<host>)
    nvr  10.66.0.10 fd66::10 ─┤
    gw   10.66.0.1  fd66::1  ─┘  gw eth1 198.51.100.1 2001:db8:100::1
                                   │
                              inet eth0 198.51.100.10 203.0.113.5
                                        2001:db8:100::10 2001:db8:203::5

Every host's inside interface is ``eth0``; the gateway's outside leg is
``eth1``.  Routing only (no NAT): the outside sees the cameras' own
addresses, which keeps flows identical on both legs of the gateway.

Library use::

    with Lab() as lab:
        lab.gw_policy("drop")
        lab.dns_server({"litedev.hik-connect.com": {"A": ["203.0.113.5"]}})  # others NXDOMAIN
        with lab.capture("switch", "p-cam1", Path("x.pcap")):
            lab.agent("cam1", "tcp-client", "--dst", "203.0.113.5", "--port", "8666")

Command line (root): ``python -m lab.netlab up [SUFFIX]`` leaves a lab
running and prints its namespaces; ``python -m lab.netlab down SUFFIX``
removes it.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

AGENTS = Path(__file__).with_name("agents.py")

INSIDE_V4 = "10.66.0.0/24"
INSIDE_V6 = "fd66::/64"
CLOSED_NETWORK = (INSIDE_V4, INSIDE_V6)

GW_INSIDE_V4, GW_INSIDE_V6 = "10.66.0.1", "fd66::1"
GW_OUTSIDE_V4, GW_OUTSIDE_V6 = "198.51.100.1", "2001:db8:100::1"
INET_V4, INET_V6 = "198.51.100.10", "2001:db8:100::10"
CLOUD_V4, CLOUD_V6 = "203.0.113.5", "2001:db8:203::5"

ROLES = ("switch", "cam1", "cam2", "nvr", "gw", "inet")


@dataclass(frozen=True)
class Host:
    """One machine on the camera segment (its eth0 plugs into the switch)."""

    v4: str
    v6: str
    mac: str  # fixed MACs make captures comparable between runs


HOSTS: Mapping[str, Host] = {
    "gw": Host(GW_INSIDE_V4, GW_INSIDE_V6, "02:66:00:00:00:01"),
    "nvr": Host("10.66.0.10", "fd66::10", "02:66:00:00:00:10"),
    "cam1": Host("10.66.0.21", "fd66::21", "02:66:00:00:00:21"),
    "cam2": Host("10.66.0.22", "fd66::22", "02:66:00:00:00:22"),
}
GW_OUTSIDE_MAC = "02:66:01:00:00:01"
INET_MAC = "02:66:01:00:00:10"

#: Sysctls applied in each host namespace *before* its interfaces exist, so the
#: "default" values reach them: no DAD delay (addresses usable at once), no
#: router solicitations or RA processing (the lab has no RA; fewer stray packets).
HOST_SYSCTLS = {
    "net.ipv6.conf.default.accept_dad": "0",
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_ra": "0",
    "net.ipv6.conf.default.router_solicitations": "0",
}

POLICIES = ("drop", "reject", "forward")


def sh(argv: Sequence[str], *, check: bool = True, timeout: float = 30) -> str:
    """Run a host command and return stdout; raise with stderr on failure."""
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def add_namespace(name: str, resolvers: Sequence[str], sysctls: Mapping[str, str]) -> None:
    """``ip netns add`` with its own resolv.conf (else tools inside use the host's
    resolver), loopback up and the given sysctls."""
    sh(["ip", "netns", "add", name])
    etc = Path("/etc/netns") / name
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "resolv.conf").write_text("".join(f"nameserver {r}\n" for r in resolvers))
    sh(["ip", "-n", name, "link", "set", "lo", "up"])
    sh(["ip", "netns", "exec", name, "sysctl", "-q", *[f"{k}={v}" for k, v in sysctls.items()]])


#: sysctls of the layer-2 switch namespace: no IPv6 chatter of its own
SWITCH_SYSCTLS = {"net.ipv6.conf.default.disable_ipv6": "1", "net.ipv6.conf.all.disable_ipv6": "1"}


def add_bridge(switch_ns: str) -> None:
    """``br0`` in the switch namespace, STP off and no multicast snooping: multicast is
    flooded to every port like on a dumb switch, so a capture at a camera port sees it."""
    sh(
        [
            "ip",
            "-n",
            switch_ns,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
        ]
    )
    sh(["ip", "-n", switch_ns, "link", "set", "br0", "up"])


def plug_host(
    host_ns: str, switch_ns: str, iface: str, mac: str, port: str, v4: str, v6: str
) -> None:
    """A veth from ``host_ns`` (``iface``, with ``mac``, /24 and /64 addresses) to bridge
    port ``port`` in ``switch_ns``."""
    sh(
        [
            "ip",
            "link",
            "add",
            iface,
            "netns",
            host_ns,
            "address",
            mac,
            "type",
            "veth",
            "peer",
            "name",
            port,
            "netns",
            switch_ns,
        ]
    )
    sh(["ip", "-n", switch_ns, "link", "set", port, "master", "br0", "up"])
    sh(["ip", "-n", host_ns, "addr", "add", f"{v4}/24", "dev", iface])
    sh(["ip", "-n", host_ns, "addr", "add", f"{v6}/64", "dev", iface, "nodad"])
    sh(["ip", "-n", host_ns, "link", "set", iface, "up"])


def wait_for_line(proc: subprocess.Popen[bytes], stream: str, needle: str, timeout: float) -> str:
    """Read a child's stdout/stderr until ``needle`` appears.

    Why: a listener or a capture is only useful once it is really up; polling
    its own announcement is the one race-free signal we have.
    """
    pipe = getattr(proc, stream)
    sel = selectors.DefaultSelector()
    sel.register(pipe, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while needle.encode() not in seen:
            left = deadline - time.monotonic()
            chunk = os.read(pipe.fileno(), 4096) if left > 0 and sel.select(left) else b""
            if not chunk:  # timeout or EOF (the process died)
                raise RuntimeError(f"{proc.args!r}: no {needle!r} (got {seen.decode()!r})")
            seen += chunk
    finally:
        sel.close()
    return seen.decode(errors="replace")


def capture_drops(stderr: str) -> int:
    """Packets the capture tool says it lost (tcpdump and dumpcap summaries)."""
    tcpdump = re.findall(r"(\d+) packets? dropped by kernel", stderr)
    dumpcap = re.findall(r"Packets received/dropped on interface .*?: \d+/(\d+)", stderr)
    return sum(int(n) for n in tcpdump + dumpcap)


class Capture:
    """A packet capture running in one namespace, stopped cleanly.

    Why SIGINT + wait: tcpdump/dumpcap flush their last buffer and write the
    final records only on an orderly stop; SIGKILL loses packets.
    """

    def __init__(self, lab: Lab, role: str, argv: Sequence[str], ready: str) -> None:
        self.lab, self.role, self.argv, self.ready = lab, role, list(argv), ready
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr = ""

    def start(self) -> Capture:
        self.proc = self.lab.popen(self.role, self.argv)
        self.stderr = wait_for_line(self.proc, "stderr", self.ready, timeout=10)
        time.sleep(0.2)  # the socket is bound; give the ring a moment before traffic
        return self

    def stop(self, settle: float = 1.2) -> str:
        """Let in-flight packets land, then SIGINT and wait for the writer.

        The settle time also covers libpcap's block timeout (TPACKET_V3
        delivers in blocks; dumpcap has no immediate mode)."""
        assert self.proc is not None
        time.sleep(settle)
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=15)
        self.stderr += err.decode(errors="replace")
        self.lab.forget(self.proc)
        if dropped := capture_drops(self.stderr):
            raise RuntimeError(f"capture {self.argv!r} lost {dropped} packets: {self.stderr}")
        return self.stderr

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()


class Lifecycle:
    """``with`` brings a lab up and always takes it down again, also when ``up`` fails."""

    def up(self) -> None:
        raise NotImplementedError

    def down(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()


class Namespaces(Lifecycle):
    """A lab of named network namespaces (one a role) and the commands run inside them."""

    run_timeout: float = 30  # seconds a run() may take unless told

    def ns(self, role: str) -> str:
        raise NotImplementedError

    def ip(self, role: str, *args: str) -> str:
        """``ip -n <ns> ...``."""
        return sh(["ip", "-n", self.ns(role), *args])

    def exec_argv(self, role: str, argv: Sequence[str]) -> list[str]:
        """argv that runs ``argv`` inside a role's namespace."""
        return ["ip", "netns", "exec", self.ns(role), *argv]

    def run(
        self, role: str, argv: Sequence[str], *, check: bool = True, timeout: float | None = None
    ) -> str:
        """Run a command to completion inside a namespace; return its stdout."""
        limit = self.run_timeout if timeout is None else timeout
        return sh(self.exec_argv(role, argv), check=check, timeout=limit)


class Lab(Namespaces):
    """Builds the namespaces on enter and always removes them on exit."""

    def __init__(self, suffix: str | None = None, workdir: Path | None = None) -> None:
        self.suffix = suffix or secrets.token_hex(3)
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix=f"netlab-{self.suffix}-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.created: list[str] = []

    # ------------------------------------------------------------ lifecycle

    def ns(self, role: str) -> str:
        """Namespace name of a role (``cam1`` -> ``cam1-<suffix>``)."""
        if role not in ROLES:
            raise ValueError(f"unknown lab role {role!r}")
        return f"{role}-{self.suffix}"

    def up(self) -> None:
        """Create namespaces, bridge, veths, addresses and routes (~1 s)."""
        for role in ROLES:
            self._add_netns(role)
        self._build_switch()
        for role, host in HOSTS.items():
            self._plug_host(role, host)
        self._build_outside()
        self._route()

    def down(self) -> None:
        """Stop our processes, delete our namespaces and their /etc/netns dirs."""
        for proc in list(self.procs):
            self._stop(proc)
        for name in reversed(self.created):
            # anything still running inside a namespace we created was started by us
            for pid in sh(["ip", "netns", "pids", name], check=False).split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            sh(["ip", "netns", "del", name], check=False)
            shutil.rmtree(f"/etc/netns/{name}", ignore_errors=True)
        self.created.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------ building

    def _add_netns(self, role: str) -> None:
        name = self.ns(role)
        resolvers = [GW_INSIDE_V4, GW_INSIDE_V6] if role in HOSTS else ["127.0.0.1"]
        sysctls = dict(SWITCH_SYSCTLS if role == "switch" else HOST_SYSCTLS)
        if role in ("gw", "inet"):
            sysctls |= {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"}
        self.created.append(name)  # first: down() removes it even if set-up fails half-way
        add_namespace(name, resolvers, sysctls)

    def _build_switch(self) -> None:
        add_bridge(self.ns("switch"))

    def _plug_host(self, role: str, host: Host) -> None:
        plug_host(self.ns(role), self.ns("switch"), "eth0", host.mac, f"p-{role}", host.v4, host.v6)

    def _build_outside(self) -> None:
        sh(
            [
                "ip",
                "link",
                "add",
                "eth1",
                "netns",
                self.ns("gw"),
                "address",
                GW_OUTSIDE_MAC,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                self.ns("inet"),
                "address",
                INET_MAC,
            ]
        )
        self.ip("gw", "addr", "add", f"{GW_OUTSIDE_V4}/24", "dev", "eth1")
        self.ip("gw", "addr", "add", f"{GW_OUTSIDE_V6}/64", "dev", "eth1", "nodad")
        self.ip("gw", "link", "set", "eth1", "up")
        for addr in (f"{INET_V4}/24", f"{CLOUD_V4}/32"):
            self.ip("inet", "addr", "add", addr, "dev", "eth0")
        for addr in (f"{INET_V6}/64", f"{CLOUD_V6}/128"):
            self.ip("inet", "addr", "add", addr, "dev", "eth0", "nodad")
        self.ip("inet", "link", "set", "eth0", "up")

    def _route(self) -> None:
        for role in ("cam1", "cam2", "nvr"):
            self.ip(role, "route", "add", "default", "via", GW_INSIDE_V4)
            self.ip(role, "-6", "route", "add", "default", "via", GW_INSIDE_V6)
        # the gateway's "upstream" is the inet namespace: all documentation ranges
        self.ip("gw", "route", "add", "default", "via", INET_V4)
        self.ip("gw", "-6", "route", "add", "default", "via", INET_V6)
        self.ip("inet", "route", "add", INSIDE_V4, "via", GW_OUTSIDE_V4)
        self.ip("inet", "-6", "route", "add", INSIDE_V6, "via", GW_OUTSIDE_V6)
        self.gw_policy("forward")

    # ------------------------------------------------------------ commands

    def sysctl(self, role: str, values: Mapping[str, str]) -> None:
        self.run(role, ["sysctl", "-q", *[f"{k}={v}" for k, v in values.items()]])

    def popen(self, role: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start a background process in a namespace; it is stopped in down()."""
        proc = subprocess.Popen(
            self.exec_argv(role, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.procs.append(proc)
        return proc

    def forget(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ValueError):
            self.procs.remove(proc)

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        self.forget(proc)

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Stop a process started with popen()/spawn_agent() (SIGTERM, then KILL)."""
        self._stop(proc)

    def agent(self, role: str, *args: str, timeout: float = 30) -> str:
        """Run a lab/agents.py client in a namespace; return what it printed."""
        return self.run(role, [sys.executable, str(AGENTS), *args], timeout=timeout).strip()

    def spawn_agent(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        """Start a lab/agents.py server and wait until it says READY."""
        proc = self.popen(role, [sys.executable, str(AGENTS), *args])
        wait_for_line(proc, "stdout", "READY", timeout=10)
        return proc

    # ------------------------------------------------------------ gateway

    def gw_policy(self, policy: str, accept: Sequence[str] = ()) -> None:
        """Set what the gateway does with forwarded (inside<->outside) traffic.

        ``drop``: silently (unanswered SYNs = *attempted*); ``reject``: TCP
        reset, ICMP/ICMPv6 port-unreachable for everything else (= *rejected*);
        ``forward``: route it (= *established*).  ``accept`` holds nft match
        expressions let through before the policy, e.g.
        ``"meta l4proto ipv6-icmp"``.  Traffic to the gateway itself (the DNS
        responder) is never filtered.
        """
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}")
        rules = [f"{match} accept" for match in accept]
        rules += {
            "drop": ["drop"],
            "reject": ["meta l4proto tcp reject with tcp reset", "reject"],
            "forward": ["accept"],
        }[policy]
        body = "\n".join(f"    {r}" for r in rules)
        script = (
            "flush ruleset\n"
            "table inet lab {\n  chain forward {\n"
            "    type filter hook forward priority 0; policy accept;\n"
            f"{body}\n  }}\n}}\n"
        )
        subprocess.run(
            self.exec_argv("gw", ["nft", "-f", "-"]),
            input=script.encode(),
            check=True,
            capture_output=True,
        )

    # ------------------------------------------------------------ services

    def dns_server(
        self,
        answers: Mapping[str, Mapping[str, Sequence[str]]],
        role: str = "gw",
        binds: Sequence[str] = (GW_INSIDE_V4, GW_INSIDE_V6),
    ) -> subprocess.Popen[bytes]:
        """Start the lab resolver (default: on the gateway, where cameras point).

        ``answers`` maps a name to {type: [values]}; a listed name answers
        NOERROR (empty for types not given), any other name NXDOMAIN.
        """
        args: list[str] = ["dns-server"]
        for addr in binds:
            args += ["--bind", addr]
        for name, types in answers.items():
            if not types:
                args += ["--answer", name, "TXT", "lab"]  # listed: NODATA for A/AAAA
            for rtype, values in types.items():
                for value in values:
                    args += ["--answer", name, rtype, value]
        return self.spawn_agent(role, *args)

    def tcp_listener(
        self, role: str, addr: str, port: int, reply: str = ""
    ) -> subprocess.Popen[bytes]:
        """Plain TCP server: read one request, send ``reply``, close."""
        return self.spawn_agent(
            role, "tcp-server", "--bind", addr, "--port", str(port), "--reply", reply
        )

    def tls_listener(
        self, role: str, addr: str, port: int, cn: str, reply: str = ""
    ) -> subprocess.Popen[bytes]:
        """TLS server with a self-signed certificate made now (never stored)."""
        cert, key = self.self_signed_cert(cn)
        return self.spawn_agent(
            role,
            "tls-server",
            "--bind",
            addr,
            "--port",
            str(port),
            "--cert",
            str(cert),
            "--key",
            str(key),
            "--reply",
            reply,
        )

    def udp_listener(self, role: str, addr: str, port: int, reply: str) -> subprocess.Popen[bytes]:
        """UDP server answering every datagram with ``reply``."""
        return self.spawn_agent(
            role, "udp-server", "--bind", addr, "--port", str(port), "--reply", reply
        )

    def ntp_server(self, role: str = "inet", addr: str = INET_V4) -> subprocess.Popen[bytes]:
        """SNTP server (mode 4 replies) on udp/123."""
        return self.spawn_agent(role, "ntp-server", "--bind", addr)

    def self_signed_cert(self, cn: str) -> tuple[Path, Path]:
        """P-256 key + self-signed cert via openssl (small: keeps handshakes short)."""
        key, cert = self.workdir / f"{cn}.key", self.workdir / f"{cn}.crt"
        sh(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                f"/CN={cn}",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ]
        )
        return cert, key

    # ------------------------------------------------------------ captures

    def capture(
        self,
        role: str,
        iface: str | Sequence[str],
        path: Path,
        *,
        tool: str = "tcpdump",
        extra: Sequence[str] = (),
    ) -> Capture:
        """A capture context: ``with lab.capture("switch", "p-cam1", p): ...``.

        tcpdump writes pcap (``--immediate-mode -U``: without immediate mode
        TPACKET_V3 holds packets in a block for up to 1 s and a SIGINT before
        that loses them -- seen here: "14 received by filter, 0 captured").
        Immediate mode uses fixed-size ring slots of snaplen bytes, so the
        default 262144-byte snaplen in a 2 MiB buffer leaves ~8 slots and a
        burst on ``any`` was dropped ("22 packets dropped by kernel"): hence
        ``-s 65535 -B 32768`` (~500 slots), and stop() fails on any drop.
        dumpcap writes pcapng and can take several interfaces.
        """
        ifaces = [iface] if isinstance(iface, str) else list(iface)
        if tool == "tcpdump":
            (only,) = ifaces
            argv = [
                "tcpdump",
                "-n",
                "-U",
                "--immediate-mode",
                "-s",
                "65535",
                "-B",
                "32768",
                "-i",
                only,
                *extra,
                "-w",
                str(path),
            ]
            ready = "listening on"
        elif tool == "dumpcap":
            argv = [
                "dumpcap",
                "-q",
                *[x for i in ifaces for x in ("-i", i)],
                *extra,
                "-w",
                str(path),
            ]
            ready = "Capturing on"
        else:
            raise ValueError(tool)
        return Capture(self, role, argv, ready)


def cleanup_suffix(suffix: str) -> None:
    """Remove a lab left running by ``up`` (or by a crashed run)."""
    lab = Lab(suffix, workdir=Path(tempfile.gettempdir()))
    lab._own_workdir = False
    existing = set(sh(["ip", "netns", "list"]).split())
    lab.created = [lab.ns(r) for r in ROLES if lab.ns(r) in existing]
    lab.down()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("up", "down"):
        print("usage: python -m lab.netlab up [SUFFIX] | down SUFFIX", file=sys.stderr)
        return 2
    if args[0] == "down":
        cleanup_suffix(args[1])
        return 0
    lab = Lab(args[1] if len(args) > 1 else None)
    try:
        lab.up()
    except BaseException:
        lab.down()
        raise
    print(f"lab up, suffix {lab.suffix}: " + " ".join(lab.ns(r) for r in ROLES))
    print(f"remove with: python -m lab.netlab down {lab.suffix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
