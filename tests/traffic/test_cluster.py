"""``--scheduler``: a real Dask scheduler and two workers on loopback read the captures,
and the report is the one a single local process writes."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from camaudit import verify
from camaudit.errors import InputError
from camaudit.traffic import cluster, parallel, zeek
from camaudit.traffic.capfile import CaptureFile
from camaudit.traffic.engine import analyse
from tests.command import camaudit_main, in_a_fresh_interpreter
from tests.conftest import PCAPS
from tests.dask_cluster import (
    LOOPBACK,
    REPO,
    LocalCluster,
    free_port,
    start_scheduler,
    stop,
    wait_until_listening,
)
from tests.replay.cases import Case, cases
from tests.traffic.test_fastpass_jobs import record_starts
from tests.traffic.test_zeek_logs import _samples

pytestmark = pytest.mark.cluster

CASES = cases()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two single-thread workers on 127.0.0.1, stopped afterwards."""
    cluster = LocalCluster(tmp_path_factory.mktemp("dask"), workers=2)
    try:
        yield cluster.address
    finally:
        cluster.stop()


def _report(case: Case, capture: Path, **how: object) -> tuple[object, object]:
    expect = case.expect
    policy = case.folder / expect["policy"] if "policy" in expect else None
    result = verify(
        [capture],
        closed_network=expect.get("closed_network", ()),
        policy=policy,
        **how,  # type: ignore[arg-type]
    )
    return result.traffic, replace(result.report, generated="")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_stored_case_read_on_the_cluster_reports_as_one_local_process(
    scheduler: str, case: Case
) -> None:
    for capture in case.captures:
        assert _report(case, capture, scheduler=scheduler) == _report(case, capture, jobs=1)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "camaudit", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def _without_time(path: Path) -> dict[str, object]:
    report = json.loads(path.read_text())
    report.pop("generated")
    return dict(report)


def test_all_stored_captures_at_once_on_the_cluster_report_as_jobs_1(
    scheduler: str, tmp_path: Path
) -> None:
    """The multi-file set through the command line, with a relative path (the workers
    run in another directory)."""
    nets = ["-n", "10.66.0.0/24", "-n", "fd66::/64", "-f", "json"]
    local = _cli("verify", "pcaps", *nets, "-j", "1", "-o", str(tmp_path / "local.json"))
    remote = _cli(
        "verify", "pcaps", *nets, "--scheduler", scheduler, "-o", str(tmp_path / "dask.json")
    )
    assert local.returncode in (0, 1, 4), local.stderr
    assert remote.returncode == local.returncode, remote.stderr
    assert _without_time(tmp_path / "dask.json") == _without_time(tmp_path / "local.json")


def test_ranges_of_one_capture_are_read_on_the_cluster_and_merged_exactly(
    scheduler: str,
) -> None:
    """The per-range units of ``--jobs``: every record a range of its own, spread over
    both workers."""
    path = PCAPS / "tls-established" / "tls-established.pcap"
    capture = CaptureFile(path)
    capture.close()
    starts = record_starts(path)
    on_cluster = cluster.analyse([capture], [], scheduler, cuts={path: starts})
    assert on_cluster == analyse([path])


def test_a_worker_that_cannot_read_an_input_names_it_and_the_worker(
    scheduler: str, tmp_path: Path
) -> None:
    client = cluster.connect(scheduler)
    try:
        with pytest.raises(InputError, match=r"Dask worker tcp://127\.0\.0\.1:\d+ cannot read"):
            cluster.check_workers(client, [(str(tmp_path / "only-here.pcap"), 100)])
        here = tmp_path / "other-size.pcap"
        here.write_bytes(b"x" * 10)
        with pytest.raises(InputError, match="with 10 bytes, not 11"):
            cluster.check_workers(client, [(str(here), 11)])
    finally:
        client.close()


def test_a_file_gone_before_its_worker_reads_it_is_an_input_error_naming_the_worker(
    scheduler: str, tmp_path: Path
) -> None:
    """Past the check, a read that fails on the worker is one error line, not a hang."""
    client = cluster.connect(scheduler)
    try:
        pool = cluster.ClusterExecutor(client)
        part = parallel.Part(0, tmp_path / "vanished.pcap", "vanished.pcap")
        future = pool.submit(parallel.work, part)
        with pytest.raises(InputError, match=r"Dask worker tcp://127\.0\.0\.1:\d+: .*vanished"):
            future.result(timeout=120)
        pool.shutdown()
    finally:
        client.close()


def test_a_capture_missing_here_is_refused_before_the_cluster_is_asked(tmp_path: Path) -> None:
    result = _cli("verify", str(tmp_path / "nothing.pcap"), "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 3
    assert "nothing.pcap" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_scheduler_that_does_not_answer_is_one_line_and_exit_3() -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = _cli("verify", "pcaps/vlan", "--scheduler", f"tcp://127.0.0.1:{port}")
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"tcp://127.0.0.1:{port}: no Dask scheduler answered within" in lines[0]
    assert time.monotonic() - started < 120


def test_a_scheduler_that_accepts_but_never_speaks_is_one_line_and_exit_3() -> None:
    """A listener that never answers Dask's handshake: the command ends, it does not hang."""
    with socket.socket() as silent:
        silent.bind((LOOPBACK, 0))
        silent.listen()
        port = silent.getsockname()[1]
        shorter_wait = "from camaudit.traffic import cluster\ncluster.CONNECT_TIMEOUT = 2.0\n"
        started = time.monotonic()
        result, _ = in_a_fresh_interpreter(
            shorter_wait
            + camaudit_main("verify", "pcaps/vlan", "--scheduler", f"tcp://{LOOPBACK}:{port}"),
            timeout=120,
        )
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"camaudit: error: tcp://{LOOPBACK}:{port}: no Dask scheduler answered within 2 s"
    ]
    assert time.monotonic() - started < 60


def test_a_scheduler_without_workers_is_an_error_not_a_hang(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cluster, "WORKER_TIMEOUT", 2.0)
    address, process = start_scheduler(tmp_path)
    try:
        wait_until_listening(address)
        with pytest.raises(InputError, match="has no worker"):
            cluster.connect(address)
    finally:
        stop([process])


@pytest.mark.parametrize("address", ["127.0.0.1:8786", "http://127.0.0.1:8786", "tcp://x"])
def test_a_malformed_scheduler_address_is_a_usage_error(address: str) -> None:
    result = _cli("verify", "pcaps/vlan", "--scheduler", address)
    assert result.returncode == 2
    assert "expected tcp://HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_the_dask_client_installed_the_option_is_one_line_and_exit_2() -> None:
    """``distributed`` made unimportable, as on an install without the ``cluster`` extra."""
    result, _ = in_a_fresh_interpreter(
        "sys.modules['distributed'] = None\n"
        + camaudit_main("verify", "pcaps/vlan", "--scheduler", "tcp://127.0.0.1:9")
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "camaudit: error: --scheduler needs the Dask client: pip install 'camaudit[cluster]'"
    )


@pytest.mark.parametrize("limit", [0, 200])
def test_zeek_conn_logs_past_the_flow_limit_are_read_on_the_cluster_as_here(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """RITA's two real hourly archives (290 and 7,260 rows): past the limit (0: both; 200: the
    second, the first is partly exact) each conn file is a task on a worker, read there by
    its absolute path and named as here (a relative directory); the merged summary and
    the report are the local run's."""
    folder = tmp_path / "rita"
    shutil.copytree(_samples() / "rita-rotated-gz", folder)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(zeek, "FLOW_LIMIT", limit)
    sent: list[tuple[str, tuple[object, ...]]] = []
    submit = cluster.ClusterExecutor.submit

    def spy(self: cluster.ClusterExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        sent.append((fn.__name__, args))
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(cluster.ClusterExecutor, "submit", spy)
    nets = ["10.0.0.0/8"]
    local = verify([], closed_network=nets, zeek=["rita"])
    remote = verify([], closed_network=nets, zeek=["rita"], scheduler=scheduler)
    conn = sorted(p.name for p in folder.glob("conn.*"))
    tasks = conn if limit == 0 else conn[1:]
    assert sent == [("conn_part", (folder.absolute() / name, f"rita/{name}")) for name in tasks]
    assert remote.traffic == local.traffic
    assert replace(remote.report, generated="") == replace(local.report, generated="")
    assert any(p.code == "flows_summarised" for p in remote.traffic.problems)


def test_zeek_logs_with_a_scheduler_that_does_not_answer_are_one_line_and_exit_3() -> None:
    port = free_port()  # nothing listens there
    zeek_dir = str(_samples() / "rita-rotated-gz")
    result = _cli("verify", "--zeek", zeek_dir, "--scheduler", f"tcp://127.0.0.1:{port}")
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"tcp://127.0.0.1:{port}: no Dask scheduler answered within" in lines[0]


def test_a_zeek_set_without_conn_log_is_refused_before_the_cluster_is_asked(
    tmp_path: Path,
) -> None:
    result = _cli("verify", "--zeek", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        f"camaudit: error: {tmp_path}: no Zeek conn log (conn.log, conn.*.log.gz, conn.json ...)"
    ]


def test_a_dns_flood_read_on_the_cluster_is_read_again_here_and_reports_as_one_process(
    scheduler: str, tmp_path: Path
) -> None:
    """A range past the DNS packets a part holds hands over none; the client reads them
    again in order into the merged log (one reading's look-ups, in bounded memory)."""
    import struct

    from bench.make_flood import DNS_FRAME, dns_records
    from camaudit.traffic.dnslog import held_limit

    first, later = 200, held_limit() + 200  # the later range past the limit
    path = tmp_path / "dns-flood.pcap"
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    path.write_bytes(header + dns_records(0, first + later, 1_700_000_000))
    capture = CaptureFile(path)
    capture.close()
    cut = len(header) + first * (16 + DNS_FRAME)
    on_cluster = cluster.analyse([capture], [], scheduler, cuts={path: [cut]})
    assert on_cluster == analyse([path])
