"""``--scheduler``: the parts ``--jobs`` reads, read by a Dask cluster's workers instead.

The plan, the worker's task and the exact merge are :mod:`camaudit.traffic.parallel`'s;
this module only connects to the scheduler, checks that every worker can read every
input (the same path, the same size), and hands ``parallel.run`` an executor that
submits to the cluster. Inputs are paths: workers read the files themselves (a shared
mount), nothing but the parts' results travels over the network. ``--zeek`` sends the
same way each conn log past the flow limit (:func:`analyse_zeek`).

Every failure is one line: the client package missing (usage, exit 2), the scheduler
not answering within :data:`CONNECT_TIMEOUT` or having no worker within
:data:`WORKER_TIMEOUT` (exit 3), a worker that cannot read an input or runs another
camaudit (exit 3, naming the worker).
"""

from __future__ import annotations

import importlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import replace
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import camaudit
from camaudit.errors import CamauditError, InputError, UsageError
from camaudit.model import Problem, TrafficSummary
from camaudit.traffic import engine, parallel
from camaudit.traffic.capfile import CaptureFile

# distributed.Client: an optional package, untyped where camaudit calls it
DaskClient = Any

CONNECT_TIMEOUT = 10.0  # seconds for the scheduler to answer
WORKER_TIMEOUT = 30.0  # seconds for a scheduler without workers to get one
_ADDRESS = re.compile(r"^(tcp|tls)://[^\s/]+:\d{1,5}$")
_P = ParamSpec("_P")
_T = TypeVar("_T")


def check_address(address: str) -> str:
    """``tcp://HOST:PORT`` (or ``tls://``), else a usage error before anything is read."""
    if not _ADDRESS.match(address):
        raise UsageError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
    return address


def connect(address: str) -> DaskClient:
    """A client of the scheduler at ``address`` that has at least one worker."""
    check_address(address)
    try:
        distributed = importlib.import_module("distributed")
    except ImportError:
        raise UsageError(
            "--scheduler needs the Dask client: pip install 'camaudit[cluster]'"
        ) from None
    client = _client_within(distributed, address, CONNECT_TIMEOUT)
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
    except (OSError, TimeoutError):
        client.close()
        raise InputError(
            f"{address}: the Dask scheduler has no worker (waited {WORKER_TIMEOUT:g} s)"
        ) from None
    return client


def _client_within(distributed: Any, address: str, seconds: float) -> DaskClient:
    """The client, or an input error after ``seconds``: a peer that accepts the connection
    but never speaks Dask's handshake makes ``Client`` wait past its own timeout."""
    box: dict[str, Any] = {}

    def make() -> None:
        try:
            box["client"] = distributed.Client(address, timeout=seconds, set_as_default=False)
        except Exception as exc:
            box["error"] = exc

    thread = threading.Thread(target=make, name="camaudit-dask-connect", daemon=True)
    thread.start()
    thread.join(seconds + 2.0)
    if "client" in box:
        return box["client"]
    why = f" ({_one_line(box['error'])})" if "error" in box else ""
    raise InputError(f"{address}: no Dask scheduler answered within {seconds:g} s{why}")


def threads(client: DaskClient) -> int:
    """How many parts the cluster reads at once: the workers' threads together."""
    counts: dict[str, int] = client.nthreads()
    return max(1, sum(counts.values()))


def check_workers(client: DaskClient, files: Sequence[tuple[str, int]]) -> None:
    """Every worker runs this camaudit and can read every file, at the size seen here."""
    try:
        answers = client.run(_worker_check, list(files))
    except Exception as exc:  # a worker that cannot even load camaudit
        raise InputError(
            f"a Dask worker cannot run camaudit {camaudit.__version__} "
            f"(install it on every worker): {_one_line(exc)}"
        ) from None
    for worker, (version, trouble) in sorted(answers.items()):
        if version != camaudit.__version__:
            raise InputError(
                f"Dask worker {worker} runs camaudit {version}, this is "
                f"{camaudit.__version__}: install the same version on every worker"
            )
        if trouble:
            raise InputError(
                f"Dask worker {worker} {trouble}; inputs must be paths every worker can read"
            )


def _worker_check(files: list[tuple[str, int]]) -> tuple[str, str | None]:
    """(camaudit version, the first problem reading an input or None) on one worker."""
    from camaudit.traffic import _fastpass  # noqa: F401  (the compiled pass is built)

    for path, size in files:
        try:
            seen = os.stat(path).st_size
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            return camaudit.__version__, f"cannot read {path}: {exc.strerror or exc}"
        if seen != size:
            return camaudit.__version__, f"sees {path} with {seen} bytes, not {size}"
    return camaudit.__version__, None


def _on_worker(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run one part; an input error on a worker names the worker."""
    try:
        return fn(*args, **kwargs)
    except (CamauditError, OSError) as exc:
        raise InputError(f"Dask worker {_worker_address()}: {_one_line(exc)}") from None


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "?"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _absolute(todo: parallel.Plan) -> parallel.Plan:
    """The plan with absolute paths: a worker's working directory is not ours."""
    return parallel.Plan(
        [
            replace(
                file,
                path=file.path.absolute(),
                parts=[replace(p, path=p.path.absolute()) for p in file.parts],
            )
            for file in todo.files
        ]
    )


class ClusterExecutor(Executor):
    """Submits to the cluster (never deduplicated: a file may change between runs)."""

    def __init__(self, client: DaskClient) -> None:
        self._client = client
        self._inner = client.get_executor(pure=False)

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = self._inner.submit(_on_worker, fn, *args, **kwargs)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait and not cancel_futures)


def analyse(
    captures: Sequence[CaptureFile],
    problems: list[Problem],
    address: str,
    progress: engine.Progress | None = None,
    cuts: dict[Path, list[int]] | None = None,
) -> TrafficSummary:
    """Read ``captures`` (in reading order, closed) on the cluster at ``address``.

    Every file is a part of its own, even a single small one (the user asked for the
    cluster); with three or more worker threads large pcap files are cut into ranges
    as ``--jobs`` cuts them.
    """
    client = connect(address)
    try:
        check_workers(client, [(str(c.path.absolute()), engine._size(c.path)) for c in captures])
        jobs = threads(client)
        todo = parallel.plan(captures, jobs, cuts, always=True)
        assert todo is not None
        todo = _absolute(todo)
        return parallel.run(todo, problems, jobs, progress, pool=ClusterExecutor(client))
    finally:
        client.close()


def analyse_zeek(directories: Sequence[str | Path], address: str) -> TrafficSummary:
    """``verify --zeek DIR --scheduler ADDRESS``: the conn logs past the flow limit (the
    bulk of a week: one part per rotated file) are read by the cluster's workers and
    merged as ``--jobs`` merges them; the other logs and the first rows, which become
    flows of their own and meet the DNS, TLS and HTTP logs, are read here."""
    from camaudit.traffic import zeek

    paths, _ = zeek.find_logs(directories)  # no conn log: one line before any connection
    conn = [p for p in paths if zeek.log_kind(p.name) == "conn"]
    client = connect(address)
    try:
        check_workers(client, [(str(p.absolute()), engine._size(p)) for p in conn])
        return zeek.read_zeek(directories, pool=ClusterExecutor(client))
    finally:
        client.close()
