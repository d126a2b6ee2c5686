"""Live evidence: record an interface with dumpcap (or tcpdump) into a file, then read it.

The saved file is the evidence: every frame number in the report points into it,
so it is kept (``--save``) rather than analysed in memory and thrown away.
Capturing sends no packet.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

from camaudit.errors import InputError, UsageError
from camaudit.sanitize import clean_text

MAX_DURATION = 24 * 3600


def capture_live(interface: str, duration: float, output: Path) -> Path:
    """Record ``interface`` for ``duration`` seconds into ``output`` (pcapng or pcap).

    Raises :class:`UsageError` for a bad duration and :class:`InputError` when no capture
    tool is installed or the interface cannot be opened.
    """
    if not 0 < duration <= MAX_DURATION:
        raise UsageError(f"--duration must be between 0 and {MAX_DURATION} seconds")
    dumpcap, tcpdump = shutil.which("dumpcap"), shutil.which("tcpdump")
    if dumpcap:
        argv = [
            dumpcap,
            "-q",
            "-i",
            interface,
            "-a",
            f"duration:{max(1, round(duration))}",
            "-w",
            str(output),
        ]
    elif tcpdump:
        argv = [tcpdump, "-i", interface, "-s", "0", "--immediate-mode", "-U", "-w", str(output)]
    else:
        raise InputError("live capture needs dumpcap or tcpdump (apt-get install tshark tcpdump)")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=duration + 15 if dumpcap else duration)
    except subprocess.TimeoutExpired:
        # tcpdump runs until told to stop; SIGINT lets it flush the last packets.
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    if proc.returncode not in (0, -signal.SIGINT) or not output.exists():
        lines = err.decode("utf-8", "replace").strip().splitlines()
        text = clean_text(lines[-1] if lines else "failed")
        raise InputError(f"live capture on {clean_text(interface)} failed: {text}")
    return output
