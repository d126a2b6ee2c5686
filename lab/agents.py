"""Tiny clients and servers that run *inside* a lab namespace.

Why a separate script: each lab host is a network namespace, and the simplest
reliable way to put a socket into one is to start a process there with
``ip netns exec NS python3 lab/agents.py <command> ...``.  Every command is a
few lines of plain socket code so that the bytes on the wire are obvious when
reading a capture.

Servers print ``READY`` on stdout once they listen (the lab waits for it, so
captures never race a listener) and run until SIGTERM/SIGINT.  Clients print
one line saying what happened (``established``, ``refused``, ``timeout``, ...).

Safety: every client refuses a destination outside the lab's address plan
(loopback, the inside ranges, documentation ranges, local multicast), so a
typo can never send a packet to a real network.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import random
import signal
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable

ALLOWED_NETS = [
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "::1/128",
        "10.66.0.0/24",
        "fd66::/64",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "192.0.2.0/24",
        "2001:db8::/32",
        "239.255.255.250/32",
        "224.0.0.251/32",
        "ff02::/16",
    )
]

#: Seconds between 1900-01-01 (NTP era 0) and 1970-01-01 (Unix epoch).
NTP_EPOCH_OFFSET = 2_208_988_800


def check_dst(addr: str) -> str:
    """Refuse any destination outside the lab address plan (hard network rule)."""
    ip = ipaddress.ip_address(addr)
    if not any(ip in net for net in ALLOWED_NETS):
        raise SystemExit(f"refusing destination {addr}: not a lab address")
    return addr


def family_of(addr: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def unescape(text: str) -> bytes:
    r"""Let command lines carry ``\r\n`` literally."""
    return text.encode().decode("unicode_escape").encode("latin-1")


def ready() -> None:
    print("READY", flush=True)


def serve_forever(stop_on_signal: bool = True) -> None:
    """Block until SIGTERM/SIGINT; server threads do the work."""
    done = threading.Event()
    if stop_on_signal:
        signal.signal(signal.SIGTERM, lambda *_: done.set())
        signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.2):
        pass


# --------------------------------------------------------------------- servers


def listen_tcp(addr: str, port: int) -> socket.socket:
    sock = socket.socket(family_of(addr), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, port))
    sock.listen(16)
    return sock


def tcp_accept_loop(sock: socket.socket, handle: Callable[[socket.socket], None]) -> None:
    def loop() -> None:
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()


def request_reply(conn: socket.socket, reply: bytes) -> None:
    """Read one request (or wait briefly), answer it, close: a minimal server."""
    try:
        conn.settimeout(2.0)
        with contextlib.suppress(TimeoutError, ssl.SSLError, OSError):
            conn.recv(4096)
        if reply:
            conn.sendall(reply)
    finally:
        conn.close()


def cmd_tcp_server(a: argparse.Namespace) -> None:
    sock = listen_tcp(a.bind, a.port)
    reply = unescape(a.reply)
    tcp_accept_loop(sock, lambda c: request_reply(c, reply))
    ready()
    serve_forever()


def cmd_tls_server(a: argparse.Namespace) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.num_tickets = 0  # no post-handshake session tickets: keeps the capture short
    sock = listen_tcp(a.bind, a.port)
    reply = unescape(a.reply)

    def handle(conn: socket.socket) -> None:
        try:
            conn.settimeout(3.0)
            tls = ctx.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            conn.close()
            return
        request_reply(tls, reply)

    tcp_accept_loop(sock, handle)
    ready()
    serve_forever()


def udp_loop(addr: str, port: int, answer: Callable[[bytes], bytes | None]) -> None:
    sock = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    sock.bind((addr, port))

    def loop() -> None:
        while True:
            data, peer = sock.recvfrom(4096)
            out = answer(data)
            if out is not None:
                sock.sendto(out, peer)

    threading.Thread(target=loop, daemon=True).start()


def cmd_udp_server(a: argparse.Namespace) -> None:
    reply = unescape(a.reply)
    udp_loop(a.bind, a.port, lambda _data: reply)
    ready()
    serve_forever()


def ntp_now() -> bytes:
    now = time.time() + NTP_EPOCH_OFFSET
    return struct.pack("!II", int(now), int((now % 1) * 2**32))


def ntp_answer(request: bytes) -> bytes | None:
    """Server reply (mode 4, stratum 2) echoing the client's transmit time."""
    if len(request) < 48 or request[0] & 0x07 != 3:
        return None
    received = ntp_now()
    head = struct.pack("!BBbb", (0 << 6) | (4 << 3) | 4, 2, 6, -20)
    root = struct.pack("!II", 0x00000100, 0x00000200) + b"LAB\x00"
    return head + root + received + request[40:48] + received + ntp_now()


def cmd_ntp_server(a: argparse.Namespace) -> None:
    udp_loop(a.bind, 123, ntp_answer)
    ready()
    serve_forever()


def dns_answer_factory(
    answers: list[tuple[str, str, str]],
) -> Callable[[bytes], bytes | None]:
    """Build a responder: listed (name, type) get records, listed names get
    NODATA for other types, every other name gets NXDOMAIN."""
    import dns.message
    import dns.rcode
    import dns.rdatatype
    import dns.rrset

    table: dict[str, dict[str, list[str]]] = {}
    for name, rtype, value in answers:
        table.setdefault(name.lower().rstrip(".") + ".", {}).setdefault(rtype.upper(), []).append(
            value
        )

    def answer(data: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return None
        response = dns.message.make_response(query)
        response.flags |= 0x0080  # RA: we pose as a recursive resolver
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        q = query.question[0]
        records = table.get(q.name.to_text().lower())
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        else:
            values = records.get(dns.rdatatype.to_text(q.rdtype), [])
            if values:
                response.answer.append(dns.rrset.from_text_list(q.name, 60, "IN", q.rdtype, values))
        return response.to_wire()

    return answer


def cmd_dns_server(a: argparse.Namespace) -> None:
    answer = dns_answer_factory([tuple(x) for x in a.answer or []])
    for addr in a.bind:
        udp_loop(addr, 53, answer)
    ready()
    serve_forever()


# --------------------------------------------------------------------- clients


def client_socket(kind: int, dst: str, sport: int) -> socket.socket:
    sock = socket.socket(family_of(dst), kind)
    if sport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("::" if ":" in dst else "0.0.0.0", sport))
    return sock


def tcp_exchange(sock: socket.socket, payload: bytes, read_timeout: float) -> bytes:
    """Send the request, read until the server closes (or the timeout)."""
    if payload:
        sock.sendall(payload)
    sock.settimeout(read_timeout)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except (TimeoutError, OSError):
        pass
    return data


def cmd_tcp_client(a: argparse.Namespace) -> None:
    """Connect with a bounded timeout: a dropped SYN gives ~3 SYNs in 4 s
    (Linux retransmits after 1 s and 3 s) and then the socket is closed
    silently, so the capture shows an unanswered attempt and nothing else."""
    sock = client_socket(socket.SOCK_STREAM, check_dst(a.dst), a.sport)
    sock.settimeout(a.timeout)
    try:
        sock.connect((a.dst, a.port))
    except TimeoutError:
        print("timeout")
        return
    except ConnectionRefusedError:
        print("refused")
        return
    except OSError as exc:  # e.g. host/network unreachable
        print(f"error {exc.errno}")
        return
    reply = tcp_exchange(sock, unescape(a.send), 2.0)
    sock.close()
    print("established", reply[:60])


def cmd_retry(a: argparse.Namespace) -> None:
    """A camera's firmware retrying its cloud on a timer, time scaled down: one TCP
    connect every ``--every`` seconds (or a seeded random gap in ``--random LOW HIGH``),
    ``--times`` times, each on a fresh socket. Starts follow the schedule, not the
    previous try's end, as a firmware timer does."""
    rng = random.Random(a.seed)
    start = time.monotonic()
    due = 0.0
    outcomes: dict[str, int] = {}
    for _ in range(a.times):
        time.sleep(max(0.0, start + due - time.monotonic()))
        sock = client_socket(socket.SOCK_STREAM, check_dst(a.dst), 0)
        sock.settimeout(a.timeout)
        try:
            sock.connect((a.dst, a.port))
            outcome = "established"
        except TimeoutError:
            outcome = "timeout"
        except ConnectionRefusedError:
            outcome = "refused"
        except OSError as exc:
            outcome = f"error {exc.errno}"
        sock.close()
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        due += rng.uniform(*a.random) if a.random else a.every
    print(" ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))


def cmd_tls_client(a: argparse.Namespace) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the lab cert is self-signed on purpose
    sock = client_socket(socket.SOCK_STREAM, check_dst(a.dst), a.sport)
    sock.settimeout(a.timeout)
    try:
        sock.connect((a.dst, a.port))
    except (TimeoutError, ConnectionRefusedError) as exc:
        print(type(exc).__name__)
        return
    tls = ctx.wrap_socket(sock, server_hostname=a.sni)
    version = tls.version()
    reply = tcp_exchange(tls, unescape(a.send), 2.0)
    tls.close()
    print("established", version, reply[:60])


def cmd_udp_client(a: argparse.Namespace) -> None:
    """One datagram on a connected socket, so an ICMP port-unreachable shows
    up as ECONNREFUSED and we do not resend."""
    sock = client_socket(socket.SOCK_DGRAM, check_dst(a.dst), a.sport)
    sock.connect((a.dst, a.port))
    sock.settimeout(a.wait)
    payload = unescape(a.send) if a.send else ntp_request()
    sock.send(payload)
    try:
        print("reply", sock.recv(4096)[:60])
    except ConnectionRefusedError:
        print("refused")
    except TimeoutError:
        print("none")
    sock.close()


def ntp_request() -> bytes:
    """A real SNTP client request: LI=0, VN=4, mode 3, 48 bytes, transmit time set."""
    return struct.pack("!BBbb", (0 << 6) | (4 << 3) | 3, 0, 6, -20) + bytes(36) + ntp_now()


def cmd_dns_query(a: argparse.Namespace) -> None:
    import dns.message
    import dns.query

    query = dns.message.make_query(a.name, a.type)
    query.id = a.id
    try:
        resp = dns.query.udp(query, check_dst(a.server), timeout=2.0, source_port=a.sport)
    except dns.exception.Timeout:
        print("timeout")
        return
    print(dns.rcode.to_text(resp.rcode()), [r.to_text() for r in resp.answer])


WSD_HELLO = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
    'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
    'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
    "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</a:Action>"
    "<a:MessageID>urn:uuid:6a6d0a1e-6600-4000-8000-0000000000{tail}</a:MessageID>"
    "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header><s:Body>"
    "<d:Hello><a:EndpointReference><a:Address>urn:uuid:00000000-6666-4000-8000-0200660000{tail}"
    "</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
    "<d:XAddrs>http://{src}/onvif/device_service</d:XAddrs>"
    "<d:MetadataVersion>1</d:MetadataVersion></d:Hello></s:Body></s:Envelope>"
)

SSDP_MSEARCH = (
    'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
    "MX: 2\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"
)


def cmd_multicast(a: argparse.Namespace) -> None:
    """Local-only multicast chatter a camera emits at boot (TTL 1)."""
    tail = f"{int(a.src.rsplit('.', 1)[1]):02d}"[-2:]
    hello = WSD_HELLO.format(src=a.src, tail=tail)
    payload, port = {"wsd-hello": (hello, 3702), "ssdp": (SSDP_MSEARCH, 1900)}[a.kind]
    group = check_dst("239.255.255.250")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(a.src))
    sock.bind((a.src, a.sport))
    sock.sendto(payload.encode(), (group, port))
    sock.close()
    print("sent")


# ------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    for name, func in (
        ("tcp-server", cmd_tcp_server),
        ("tls-server", cmd_tls_server),
        ("udp-server", cmd_udp_server),
    ):
        s = sub.add_parser(name)
        s.add_argument("--bind", required=True)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--reply", default="")
        if name == "tls-server":
            s.add_argument("--cert", required=True)
            s.add_argument("--key", required=True)
        s.set_defaults(func=func)

    s = sub.add_parser("ntp-server")
    s.add_argument("--bind", required=True)
    s.set_defaults(func=cmd_ntp_server)

    s = sub.add_parser("dns-server")
    s.add_argument("--bind", action="append", required=True)
    s.add_argument("--answer", nargs=3, action="append", metavar=("NAME", "TYPE", "VALUE"))
    s.set_defaults(func=cmd_dns_server)

    for name, func in (("tcp-client", cmd_tcp_client), ("tls-client", cmd_tls_client)):
        s = sub.add_parser(name)
        s.add_argument("--dst", required=True)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--sport", type=int, default=0)
        s.add_argument("--send", default="")
        s.add_argument("--timeout", type=float, default=4.0)
        if name == "tls-client":
            s.add_argument("--sni", required=True)
        s.set_defaults(func=func)

    s = sub.add_parser("retry", help="TCP connects on a timer (a camera retrying its cloud)")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--times", type=int, required=True)
    s.add_argument("--every", type=float, default=2.0)
    s.add_argument("--random", type=float, nargs=2, metavar=("LOW", "HIGH"))
    s.add_argument("--seed", type=int, default=13)
    s.add_argument("--timeout", type=float, default=1.0)
    s.set_defaults(func=cmd_retry)

    s = sub.add_parser("udp-client", help="one datagram; default payload: NTP request")
    s.add_argument("--dst", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--sport", type=int, default=0)
    s.add_argument("--send", default="")
    s.add_argument("--wait", type=float, default=1.5)
    s.set_defaults(func=cmd_udp_client)

    s = sub.add_parser("dns-query")
    s.add_argument("--server", required=True)
    s.add_argument("--sport", type=int, default=0)
    s.add_argument("--id", type=int, default=0x6601)
    s.add_argument("name")
    s.add_argument("type", nargs="?", default="A")
    s.set_defaults(func=cmd_dns_query)

    s = sub.add_parser("multicast")
    s.add_argument("kind", choices=["wsd-hello", "ssdp"])
    s.add_argument("--src", required=True)
    s.add_argument("--sport", type=int, default=0)
    s.set_defaults(func=cmd_multicast)

    args = p.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
