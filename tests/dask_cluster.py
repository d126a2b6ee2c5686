"""A real Dask cluster on 127.0.0.1: ``dask scheduler`` and single-thread ``dask worker``
processes of this interpreter, importing this checkout (tests/traffic/test_cluster.py and
bench/cluster_bench.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from distributed import Client

LOOPBACK = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _dask(*args: str, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=log.parent,  # not the checkout: workers must be given absolute paths
        )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_scheduler(where: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    args = ["--host", LOOPBACK, "--port", str(port), "--no-dashboard"]
    return f"tcp://{LOOPBACK}:{port}", _dask("scheduler", *args, log=where / "scheduler.log")


def wait_until_listening(address: str, workers: int = 0, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with Client(address, timeout=5, set_as_default=False) as client:
                if workers:
                    client.wait_for_workers(workers, timeout=60)
            return
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


class LocalCluster:
    """A scheduler and ``workers`` single-thread workers; ``stop()`` ends them all."""

    def __init__(self, where: Path, workers: int = 2) -> None:
        where.mkdir(parents=True, exist_ok=True)
        self.address, scheduler = start_scheduler(where)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.processes = [scheduler]
        try:
            for i in range(workers):
                worker = _dask(
                    "worker",
                    self.address,
                    *("--host", LOOPBACK, "--nthreads", "1", "--no-nanny", "--no-dashboard"),
                    *("--memory-limit", "0", "--local-directory", str(where / f"worker-{i}")),
                    log=where / f"worker-{i}.log",
                )
                self.workers.append(worker)
                self.processes.append(worker)
            wait_until_listening(self.address, workers)
        except BaseException:
            logs = {p.name: p.read_text()[-2000:] for p in where.glob("*.log")}
            self.stop()
            raise RuntimeError(f"the Dask cluster did not start: {logs}") from None

    def stop(self) -> None:
        stop(self.processes)
