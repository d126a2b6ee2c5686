"""Run one persona's servers until SIGTERM/SIGINT.

    python -m lab.devices.serve --persona hik-ipc --bind 127.0.0.1 --ephemeral
    python -m lab.devices.serve --persona dahua-ipc --bind 10.66.0.22 --multicast   # in a netns

Prints ``READY {"http": 80, ...}`` (the bound ports as JSON) once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from lab.devices.persona import load_persona, persona_names
from lab.devices.servers import Device

SHORTCUTS = ("http", "rtsp", "sdk", "sadp", "dhip", "wsd")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m lab.devices.serve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--persona",
        required=True,
        help=f"name ({', '.join(persona_names())}) or a .toml/.json file",
    )
    ap.add_argument("--bind", default="127.0.0.1", help="loopback or a lab address")
    ap.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="NAME=N",
        help="override one port (0 = any free port)",
    )
    for name in SHORTCUTS:
        ap.add_argument(f"--{name}-port", type=int, help=f"same as --port {name}=N")
    ap.add_argument("--ephemeral", action="store_true", help="every port 0 (any free port)")
    ap.add_argument(
        "--multicast", action="store_true", help="join the discovery groups (lab namespaces only)"
    )
    ap.add_argument("--gateway", default="0.0.0.0", help="gateway the device reports")
    return ap.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    persona = load_persona(args.persona)
    ports = {p.name: 0 for p in persona.ports} if args.ephemeral else {}
    for item in args.port:
        name, _, number = item.partition("=")
        ports[name] = int(number)
    for name in SHORTCUTS:
        if (number := getattr(args, f"{name}_port")) is not None:
            ports[name] = number
    device = Device(persona, args.bind, ports, multicast=args.multicast, gateway=args.gateway)
    bound = await device.start()
    print("READY " + json.dumps(bound), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await device.stop()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
