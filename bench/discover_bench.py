#!/usr/bin/env python3
"""Time ``camaudit discover`` against a plain ``nmap -sV`` on a netns /24 of fake cameras.

Builds ``Segment.crowd(N)`` (lab/segment.py: N clones of the non-hostile personas at
10.66.0.21 onwards, scanner at 10.66.0.10 on eth0), then from the scanner namespace, in
the same run and in this order, times:

  camaudit        camaudit discover --interface eth0 --target 10.66.0.0/24 --timeout 2 -f json
                  (every discovery method; each device probed as soon as a method sights it;
                  nmap -sV only on open ports camaudit's own probes do not ask)
  camaudit-seq    the order before issue 12: discover() to the end (nmap -sV on every open
                  port), then every device fingerprinted (api internals, same settings)
  nmap            nmap -sV -n -p <the ports camaudit's nmap method scans> 10.66.0.0/24 -oX -

and prints wall seconds, devices found, the ratio camaudit / nmap (target: at most 0.05x,
issue 12) and what each did, the identifications compared device by device (camaudit
against camaudit-seq and against each persona's ``[expected]``), then where camaudit's
time went (per-method durations and nmap command lines from the JSON report's
``inventory.attempts``, probe durations from ``devices[].probes[]``).

Packets go only inside the lab's namespaces (10.66.0.0/24). Root is required. Never fails
on time: the exit code is 1 only if a tool fails (non-zero exit, unreadable report, killed
by the guard timeout), 2 if the lab cannot be built, 0 otherwise. The segment is always
torn down (also on Ctrl-C and SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from camaudit.knowledge import load_knowledge  # noqa: E402
from lab.segment import INTERFACE, SCANNER_V4, SEGMENT_V4, Segment  # noqa: E402

TARGET_RATIO = 0.05  # camaudit (full) wall time at most this many times nmap's (issue 12)
TIMEOUT = 2.0  # camaudit --timeout
GUARD_S = 900.0  # a tool still running after this long is killed and counted as failed
TOOLS = ("camaudit", "camaudit-seq", "nmap")
#: camaudit-seq: discovery to the end, then fingerprinting (the order before issue 12).
SEQUENTIAL = """
import sys
from camaudit.api import _prepare, _result
from camaudit.discover import Target, discover
from camaudit.discover._udp import in_target
from camaudit.fingerprint import identify_devices
from camaudit.report.model import to_json

target = Target(networks=(sys.argv[2],), interface=sys.argv[3], timeout=float(sys.argv[4]),
                budget=300.0)
scope, knowledge, _pins = _prepare((), None, None)
inventory = discover(target, knowledge=knowledge)
devices = identify_devices(
    inventory.devices,
    lambda d: d.ip is not None and not d.timed_out and in_target(d.ip, target),
    None, target.timeout, scope, knowledge=knowledge,
)
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write(to_json(_result(inventory, devices, scope, knowledge).report))
"""
#: The camera ports camaudit's nmap method scans (profiles/ports.toml).
CAMERA_PORTS: tuple[int, ...] = load_knowledge().camera_ports


@dataclass
class Run:
    """One timed run of one tool."""

    tool: str
    argv: list[str]
    wall_s: float = 0.0
    exit_code: int | None = None
    error: str = ""
    found: int | None = None  # devices (camaudit) / hosts up (nmap), scanner excluded
    identified: int | None = None  # devices with a vendor / hosts with a named product
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error


# --------------------------------------------------------------------------- running


def timed(
    seg: Segment, argv: Sequence[str], stdout_path: Path | None
) -> tuple[float, int, str, bytes]:
    """Run ``argv`` in the scanner namespace; (wall s, exit code, stderr tail, stdout)."""
    full = seg.exec_argv("scanner", list(argv))
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(stdout_path.open("wb")) if stdout_path else subprocess.PIPE
        t0 = time.monotonic()
        proc = subprocess.Popen(
            full,
            stdout=out,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=GUARD_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            return time.monotonic() - t0, -9, f"killed after the {GUARD_S:g} s guard", b""
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        wall = time.monotonic() - t0
    tail = (stderr or b"").decode(errors="replace").strip().splitlines()[-3:]
    return wall, proc.returncode, " | ".join(tail), stdout or b""


def forget_neighbours(seg: Segment) -> None:
    """Flush the scanner's ARP/ND cache so no run profits from the one before."""
    seg.ip("scanner", "neigh", "flush", "all")


def run_camaudit(seg: Segment, camaudit: list[str], workdir: Path, tool: str, i: int) -> Run:
    report = workdir / f"{tool}-{i}.json"
    if tool == "camaudit-seq":
        python = camaudit[0] if camaudit[1:3] == ["-m", "camaudit"] else sys.executable
        argv = [python, "-c", SEQUENTIAL, str(report), SEGMENT_V4, INTERFACE, f"{TIMEOUT:g}"]
    else:
        argv = [
            *camaudit,
            "discover",
            *("--interface", INTERFACE, "--target", SEGMENT_V4, "--timeout", f"{TIMEOUT:g}"),
            *("-f", "json", "--output", str(report)),
        ]
    run = Run(tool, argv)
    forget_neighbours(seg)
    if not ended(run, *timed(seg, argv, None)[:3]):
        return run
    try:
        data = json.loads(report.read_text())
        inv = data["inventory"]
    except (OSError, ValueError, KeyError) as exc:
        run.error = f"unreadable report {report}: {exc}"
        return run
    devices = [d for d in inv["devices"] if d.get("ip") != SCANNER_V4]
    run.found = len(devices)
    run.identified = sum(1 for d in devices if (d.get("identity") or {}).get("vendor"))
    cves = [c["cve"] for d in devices for c in d.get("cves", [])]
    run.detail = {
        "report": str(report),
        "inventory_duration_s": inv.get("duration"),
        "summary": inv.get("summary"),
        "attempts": [
            {k: a.get(k) for k in ("method", "status", "duration", "sightings", "error")}
            | {"commands": a.get("commands", [])}
            for a in inv.get("attempts", [])
        ],
        "identities": {d.get("ip") or "?": identification(d) for d in devices},
        "vendors": dict(Counter((d.get("identity") or {}).get("vendor") or "-" for d in devices)),
        "models": sum(1 for d in devices if (d.get("identity") or {}).get("model")),
        "firmware": sum(1 for d in devices if (d.get("identity") or {}).get("firmware")),
        "cve_mentions": len(cves),
        "distinct_cves": sorted(set(cves)),
        "with_cves": sum(1 for d in devices if d.get("cves")),
        "with_kev": sum(
            1 for d in devices if any(c.get("kev_date_added") for c in d.get("cves", []))
        ),
        "open_ports": sum(len(d.get("open_ports", [])) for d in devices),
        "found_by": dict(Counter(m for d in devices for m in d.get("found_by", []))),
        "probes": probe_profile(devices),
    }
    return run


IDENTITY_KEYS = ("vendor", "oem_brand", "model", "firmware", "build_date")


def identification(device: dict[str, Any]) -> list[Any]:
    """What a device was identified as: vendor, brand, model, firmware, build, CVEs."""
    identity = device.get("identity") or {}
    cves = sorted(c["cve"] for c in device.get("cves", []))
    return [identity.get(k) for k in IDENTITY_KEYS] + [cves]


def probe_profile(devices: list[dict[str, Any]]) -> dict[str, Any]:
    """Per probe name: count, statuses, total / mean / max seconds; the slowest hosts."""
    per: dict[str, list[float]] = defaultdict(list)
    status: dict[str, Counter[str]] = defaultdict(Counter)
    host_max: list[tuple[float, str]] = []
    for d in devices:
        durations = []
        for p in d.get("probes", []):
            per[p["probe"]].append(float(p.get("duration") or 0))
            status[p["probe"]][p.get("status") or "?"] += 1
            durations.append(float(p.get("duration") or 0))
        if durations:
            host_max.append((max(durations), d.get("ip") or "?"))
    out: dict[str, Any] = {
        name: {
            "count": len(v),
            "status": dict(status[name]),
            "total_s": round(sum(v), 3),
            "mean_s": round(statistics.fmean(v), 3),
            "max_s": round(max(v), 3),
        }
        for name, v in sorted(per.items())
    }
    host_max.sort(reverse=True)
    if host_max:
        out["_hosts"] = {
            "count": len(host_max),
            "slowest": [[ip, round(s, 3)] for s, ip in host_max[:5]],
            "mean_slowest_probe_s": round(statistics.fmean(s for s, _ in host_max), 3),
        }
    return out


def ended(run: Run, wall: float, code: int, err: str) -> bool:
    """Record a run's wall time and exit code; False (with the error) unless it exited 0."""
    run.wall_s, run.exit_code = round(wall, 3), code
    if code != 0:
        run.error = f"exit {code}: {err}"
    return code == 0


def run_nmap(seg: Segment, nmap: str, workdir: Path, i: int) -> Run:
    ports = ",".join(str(p) for p in CAMERA_PORTS)
    argv = [nmap, "-sV", "-n", "-p", ports, SEGMENT_V4, "-oX", "-"]
    run = Run("nmap", argv)
    xml_path = workdir / f"nmap-{i}.xml"  # -oX - goes here instead of a terminal
    forget_neighbours(seg)
    if not ended(run, *timed(seg, argv, xml_path)[:3]):
        return run
    try:
        root = ElementTree.parse(xml_path).getroot()
    except (OSError, ElementTree.ParseError) as exc:
        run.error = f"unreadable XML {xml_path}: {exc}"
        return run
    up = products = open_ports = 0
    named: Counter[str] = Counter()
    for host in root.iter("host"):
        status = host.find("status")
        ips = [a.get("addr") for a in host.iter("address") if a.get("addrtype") == "ipv4"]
        if status is None or status.get("state") != "up" or SCANNER_V4 in ips:
            continue
        up += 1
        host_named = False
        for port in host.iter("port"):
            state = port.find("state")
            if state is None or state.get("state") != "open":
                continue
            open_ports += 1
            svc = port.find("service")
            if svc is not None and svc.get("product"):
                named[svc.get("product", "")] += 1
                host_named = True
        products += host_named
    run.found, run.identified = up, products
    finished = root.find("runstats/finished")
    run.detail = {
        "xml": str(xml_path),
        "open_ports": open_ports,
        "products": dict(named.most_common()),
        "nmap_elapsed_s": _float(finished.get("elapsed") if finished is not None else None),
    }
    return run


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------- reporting


def best(runs: list[Run], tool: str) -> Run | None:
    ok = [r for r in runs if r.tool == tool and r.ok]
    return min(ok, key=lambda r: r.wall_s) if ok else None


def expected_truth(seg: Segment) -> dict[str, Any]:
    personas = [d.persona for d in seg.devices.values()]
    return {
        "devices": len(personas),
        "personas": dict(Counter(p.name.rsplit("-", 1)[0] for p in personas)),
        "with_vendor": sum(1 for p in personas if p.expected.vendor),
        "with_cves": sum(1 for p in personas if p.expected.cves),
        # lab/devices/README.md: Dahua firmware is only readable with credentials, so without
        # them only the Hikvision-family CVEs can be reported
        "with_cves_no_login": sum(
            1 for p in personas if p.expected.cves and p.expected.vendor != "dahua"
        ),
        "hostile": sum(1 for p in personas if p.kind == "hostile"),
    }


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def print_table(
    runs: list[Run],
    repeat: int,
    truth: dict[str, Any],
    meta: dict[str, Any],
    tools: Sequence[str],
    nmap_reference: float | None = None,
) -> None:
    print(
        f"\ncamaudit discover benchmark, {meta['date']}, {meta['cpu']}, {meta['cores']} cores, "
        f"Python {meta['python']}"
    )
    print(f"tools: {meta['nmap_version']}; camaudit {meta['camaudit_version']}")
    print(
        f"segment: {SEGMENT_V4}, {truth['devices']} devices ({truth['with_vendor']} Hik/Dahua "
        f"family, {truth['with_cves']} with a CVE in [expected], {truth['with_cves_no_login']} of "
        f"them reportable without credentials, {truth['hostile']} hostile); "
        f"lab up in {meta['lab_up_s']:.1f} s; best of {repeat}"
    )
    print(f"personas: {', '.join(f'{k} x{v}' for k, v in truth['personas'].items())}\n")
    nm = best(runs, "nmap")
    header = (
        f"{'tool':<14} {'wall s':>7} {'found':>5} {'ident':>5} {'vs nmap':>7}  "
        f"{'target':<10} what it did"
    )
    print(header)
    print("-" * len(header))
    for tool in tools:
        r = best(runs, tool)
        failed = [x for x in runs if x.tool == tool and not x.ok]
        if r is None:
            msg = failed[0].error if failed else "not run"
            print(f"{tool:<14} {'-':>7} {'-':>5} {'-':>5} {'-':>7}  {'':<10} FAILED: {msg}")
            continue
        nmap_s = nm.wall_s if nm else nmap_reference
        ratio = r.wall_s / nmap_s if nmap_s else None
        target = ""
        if tool == "camaudit" and ratio is not None:
            target = f"<={TARGET_RATIO:g}x " + ("met" if ratio <= TARGET_RATIO else "MISSED")
        print(
            f"{tool:<14} {fmt(r.wall_s):>7} {r.found:>5} {r.identified:>5} "
            f"{fmt(ratio, '.2f') + 'x' if ratio is not None else '-':>7}  {target:<10} {what(r)}"
        )
        for x in failed:
            print(f"{'':<14} (another run failed: {x.error})")
    all_walls = {t: [r.wall_s for r in runs if r.tool == t and r.ok] for t in tools}
    if repeat > 1:
        print(
            "\nall runs (wall s): "
            + "; ".join(f"{t} {', '.join(fmt(w) for w in ws)}" for t, ws in all_walls.items())
        )
    if nm is None and nmap_reference:
        print(f"\n(vs nmap: against --nmap-reference {nmap_reference:g} s, nmap was not run)")
    print(
        "\nfound = devices on the segment that were reported (the scanner itself excluded); "
        "ident = camaudit: devices\nwith a vendor identity; nmap: hosts with at least one "
        "port whose product -sV named."
    )


def what(r: Run) -> str:
    d = r.detail
    if r.tool == "nmap":
        prods = ", ".join(f"{k} x{v}" for k, v in list(d["products"].items())[:4])
        return (
            f"ARP ping, SYN scan of {len(CAMERA_PORTS)} ports, -sV (intensity 7): "
            f"{d['open_ports']} open ports; products: {prods or 'none'}; no CVEs"
        )
    methods = ", ".join(
        f"{a['method']} {a['status']} {fmt(a['duration'])}s/{a['sightings']}" for a in d["attempts"]
    )
    parts = [f"methods [{methods}]"]
    if r.tool in ("camaudit", "camaudit-seq"):
        vendors = ", ".join(f"{k} x{v}" for k, v in d["vendors"].items())
        parts.append(f"vendors {vendors}; {d['models']} models, {d['firmware']} firmware")
        parts.append(
            f"CVEs: {d['with_cves']} devices ({d['with_kev']} KEV), "
            f"{len(d['distinct_cves'])} distinct: {', '.join(d['distinct_cves']) or '-'}"
        )
    return "; ".join(parts)


def print_profile(runs: list[Run]) -> None:
    full, seq, nm = best(runs, "camaudit"), best(runs, "camaudit-seq"), best(runs, "nmap")
    if full is None:
        return
    d = full.detail
    inv = d.get("inventory_duration_s") or 0.0
    print("\nwhere camaudit's time went (best full run):")
    print(
        f"  wall {full.wall_s:.1f} s = discovery {inv:.1f} s (inventory.duration; the devices are "
        f"probed during it) + start-up, the rest of fingerprinting and report "
        f"{full.wall_s - inv:.1f} s"
    )
    for a in d["attempts"]:
        print(
            f"    {a['method']:<12} {a['status']:<10} {fmt(a['duration']):>6} s  "
            f"{a['sightings']:>3} sightings  {a['error'] or ''}"
        )
    if nm and nm.detail.get("nmap_elapsed_s"):
        print(f"    (plain nmap -sV alone: {nm.detail['nmap_elapsed_s']:.1f} s by its own clock)")
    if seq:
        print(
            f"  camaudit-seq (discovery to the end, then fingerprinting): wall {seq.wall_s:.1f} s, "
            f"discovery {fmt(seq.detail.get('inventory_duration_s'))} s"
        )
    for a in d["attempts"]:
        for command in a.get("commands") or []:
            words = command.split()
            targets = [w for w in words if w[:1].isdigit() and "." in w]
            ports = words[words.index("-p") + 1] if "-p" in words else "?"
            phase = "-sV" if "-sV" in words else "port scan"
            print(
                f"    {a['method']} {phase}: ports {ports}, {' '.join(targets[:3])}"
                f"{f' ... ({len(targets)} targets)' if len(targets) > 3 else ''}"
            )
    probes = d.get("probes") or {}
    hosts = probes.pop("_hosts", None) if isinstance(probes, dict) else None
    if probes:
        print("  fingerprint probes (durations summed over hosts; they run in parallel):")
        for name, p in probes.items():
            st = ", ".join(f"{k} {v}" for k, v in p["status"].items())
            print(
                f"    {name:<10} n={p['count']:<3} total {p['total_s']:7.1f} s  mean "
                f"{p['mean_s']:5.2f} s  max {p['max_s']:5.2f} s  [{st}]"
            )
    if hosts:
        probes["_hosts"] = hosts
        slow = ", ".join(f"{ip} {s:.2f}s" for ip, s in hosts["slowest"])
        print(
            f"    per host, slowest probe: mean {hosts['mean_slowest_probe_s']:.2f} s; "
            f"slowest hosts {slow}"
        )


def print_identifications(runs: list[Run], seg_truth: dict[str, dict[str, Any]]) -> None:
    """camaudit's identification of each device against camaudit-seq's and the persona's."""
    full, seq = best(runs, "camaudit"), best(runs, "camaudit-seq")
    if full is None:
        return
    mine: dict[str, list[Any]] = full.detail["identities"]
    print("\nidentifications (vendor, brand, model, firmware, build date, CVEs):")
    if seq is not None:
        theirs: dict[str, list[Any]] = seq.detail["identities"]
        differ = sorted(ip for ip in set(mine) | set(theirs) if mine.get(ip) != theirs.get(ip))
        print(
            f"  camaudit vs camaudit-seq: {len(mine) - len(differ)} of {len(mine)} devices "
            f"identified the same" + ("" if differ else " (all)")
        )
        for ip in differ:
            print(f"    {ip}: camaudit {mine.get(ip)} / camaudit-seq {theirs.get(ip)}")
    wrong = []
    for ip, want in sorted(seg_truth.items()):
        got = dict(zip(IDENTITY_KEYS, mine.get(ip, [None] * len(IDENTITY_KEYS)), strict=False))
        if any(want[k] is not None and got.get(k) != want[k] for k in ("vendor", "model")):
            wrong.append(f"    {ip}: expected {want}, got {got}")
    print(
        f"  camaudit vs the personas' [expected] vendor and model: "
        f"{len(seg_truth) - len(wrong)} of {len(seg_truth)} as expected"
    )
    if wrong:
        print("\n".join(wrong[:10]))


# --------------------------------------------------------------------------- main


def versions(nmap: str, camaudit: list[str]) -> dict[str, Any]:
    def first_line(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            return "?"
        return (out.strip().splitlines() or ["?"])[0]

    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "nmap_version": first_line([nmap, "--version"]),
        "camaudit_version": first_line([*camaudit, "--version"]).removeprefix("camaudit "),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=40, help="simulated devices (default 40)")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the three runs; best shown")
    ap.add_argument("--results", type=Path, help="also write the figures as JSON here")
    ap.add_argument(
        "--camaudit",
        default=f"{shlex.quote(sys.executable)} -m camaudit",
        help="how to start camaudit (default: this Python's -m camaudit)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the JSON reports and nmap XML")
    ap.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help=f"comma-separated tools to run, in this order (default {','.join(TOOLS)}); "
        "e.g. --tools camaudit to iterate without nmap's minutes",
    )
    ap.add_argument(
        "--nmap-reference",
        type=float,
        help="seconds of an earlier plain nmap -sV run: the ratio when nmap is not in --tools",
    )
    args = ap.parse_args(argv)
    if not 1 <= args.devices <= 233:
        ap.error("--devices must be 1..233 (a /24 from .21)")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    args.tools = tuple(dict.fromkeys(t.strip() for t in args.tools.split(",") if t.strip()))
    unknown = [t for t in args.tools if t not in TOOLS]
    if unknown or not args.tools:
        ap.error(f"--tools takes {', '.join(TOOLS)} (got {', '.join(unknown) or 'none'})")
    return args


def _sigterm(_signo: int, _frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through Segment.__exit__, which tears the lab down


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if os.geteuid() != 0:
        print("discover_bench: needs root (network namespaces)", file=sys.stderr)
        return 2
    nmap = shutil.which("nmap")
    if nmap is None:
        print("discover_bench: nmap is not installed (apt-get install nmap)", file=sys.stderr)
        return 2
    camaudit = shlex.split(args.camaudit)
    signal.signal(signal.SIGTERM, _sigterm)
    meta = versions(nmap, camaudit)
    workdir = Path(tempfile.mkdtemp(prefix="discover-bench-"))
    os.environ.setdefault("PYTHONPATH", str(REPO))  # -m camaudit from a checkout, too
    runs: list[Run] = []
    try:
        t0 = time.monotonic()
        print(f"building a segment of {args.devices} devices ...", file=sys.stderr, flush=True)
        try:
            seg_cm = Segment.crowd(args.devices)
            seg = seg_cm.__enter__()
        except Exception as exc:  # Segment.__enter__ has already torn down what it built
            print(f"discover_bench: the lab did not come up: {exc}", file=sys.stderr)
            return 2
        try:
            meta["lab_up_s"] = round(time.monotonic() - t0, 1)
            truth = expected_truth(seg)
            per_device = {
                dev.v4: {"vendor": dev.persona.expected.vendor, "model": dev.persona.expected.model}
                for dev in seg.devices.values()
            }
            for i in range(args.repeat):
                for tool in args.tools:
                    print(f"round {i + 1}/{args.repeat}: {tool} ...", file=sys.stderr, flush=True)
                    if tool == "nmap":
                        run = run_nmap(seg, nmap, workdir, i)
                    else:
                        run = run_camaudit(seg, camaudit, workdir, tool, i)
                    runs.append(run)
                    print(f"  {fmt(run.wall_s)} s {run.error}", file=sys.stderr, flush=True)
        finally:
            # a second Ctrl-C / SIGTERM must not cut the teardown short
            old = {n: signal.signal(n, signal.SIG_IGN) for n in (signal.SIGINT, signal.SIGTERM)}
            try:
                seg_cm.__exit__(None, None, None)
            finally:
                for signo, handler in old.items():
                    signal.signal(signo, handler)
        print_table(runs, args.repeat, truth, meta, args.tools, args.nmap_reference)
        print_identifications(runs, per_device)
        print_profile(runs)
        if args.results:
            nm, full = best(runs, "nmap"), best(runs, "camaudit")
            args.results.write_text(
                json.dumps(
                    {
                        "meta": meta,
                        "segment": truth,
                        "target_ratio": TARGET_RATIO,
                        "ratio": round(full.wall_s / nm.wall_s, 3)
                        if full and nm and nm.wall_s
                        else None,
                        "runs": [asdict(r) for r in runs],
                    },
                    indent=2,
                )
                + "\n"
            )
            print(f"\nfigures written to {args.results}")
    except KeyboardInterrupt:
        print("discover_bench: interrupted; segment torn down", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"reports kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(not r.ok for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
