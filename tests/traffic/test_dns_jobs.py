"""A DNS flood read by ``--jobs``: each part holds no more DNS packets than one reading
keeps (:func:`dnslog.held_limit`), whatever the size of the flood, and the merged summary
is still exactly one reading's: the same look-ups kept one by one, the same pooled
entries with and without their names, the same problems with the same frame numbers,
however the capture is cut into ranges or files (a question in one part, its answer in
the next)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR

from camaudit.traffic import dnslog, engine, parallel
from camaudit.traffic.engine import analyse
from tests.captures import CAM, GW, eth, udp, write_pcap
from tests.traffic.test_fastpass_jobs import record_starts, split_summary

T0 = 1_700_000_000.0
NVR_CAM = "10.66.0.22"  # a second camera asking the same resolver
SNAPLEN = 160  # cuts the long answers, not the questions


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dnslog, "DNS_LIMIT", 10)
    monkeypatch.setattr(dnslog, "NAME_LIMIT", 20)
    monkeypatch.setattr(dnslog, "PENDING_LIMIT", 5)  # held_limit(): 30 packets a part


def _query(n: int, name: str, client: str = CAM) -> bytes:
    return eth(udp(client, GW, 20000 + n, 53, bytes(DNS(id=n, rd=1, qd=DNSQR(qname=name)))))


def _answer(n: int, name: str, addresses: list[str], client: str = CAM) -> bytes:
    records = [DNSRR(rrname=name, rdata=a) for a in addresses]
    reply = DNS(id=n, qr=1, qd=DNSQR(qname=name), an=records)
    return eth(udp(GW, client, 53, 20000 + n, bytes(reply)))


def _flood(count: int) -> list[bytes]:
    """``count`` made-up names asked by a camera, every third answered four packets later
    (some with answers the snapshot length cuts), some asked twice, a second camera asking
    the same names past the flood's middle, a name asked again and again, and DNS packets
    that do not decode."""
    packets: list[bytes] = []
    answers: dict[int, bytes] = {}
    for n in range(count):
        name = f"n{n}.flood.example"
        packets.append(_query(n, name))
        if n % 3 == 0:
            many = 1 + (n % 9) * 2  # 1, 7 or 13 records: the longest are cut
            answers[n + 4] = _answer(n, name, [f"203.0.113.{1 + i}" for i in range(many)])
        if n % 7 == 0:
            packets.append(_query(n, name))  # retransmitted before its answer
        if n % 11 == 0:
            packets.append(_query(5_000 + n, "cloud.example"))
        if n % 13 == 0:
            packets.append(eth(udp(CAM, GW, 40000 + n, 53, b"\x00\x01not dns")))
        if n > count // 2:
            packets.append(_query(n, name, client=NVR_CAM))
        if n in answers:
            packets.append(answers.pop(n))
    return packets + list(answers.values())


def _capture(path: Path, packets: list[bytes]) -> Path:
    frames = [(T0 + i / 10, p) for i, p in enumerate(packets)]
    return write_pcap(path, frames, snaplen=SNAPLEN)


@pytest.fixture
def flood(tmp_path: Path) -> Path:
    return _capture(tmp_path / "dns-flood.pcap", _flood(150))


def test_the_flood_is_pooled_cut_and_undecodable_as_the_reading_under_test_needs(
    flood: Path,
) -> None:
    one = analyse([flood])
    assert any(d.names_pooled for d in one.dns) and any(d.pooled and d.response for d in one.dns)
    kinds = {p.code for p in one.problems}
    assert {"dns_pooled", "dns_undecodable", "snaplen"} <= kinds


def test_a_dns_flood_cut_into_ranges_reads_as_one_reading(flood: Path) -> None:
    one = analyse([flood])
    starts = record_starts(flood)
    for cut in starts[:: len(starts) // 9]:
        assert split_summary(flood, [cut]) == one, cut
    assert split_summary(flood, starts[::3]) == one  # many short ranges: some hold no flood
    assert split_summary(flood, starts) == one  # every record a range of its own


def test_a_dns_flood_in_ranges_read_by_worker_processes_reads_as_one_reading(
    flood: Path,
) -> None:
    starts = record_starts(flood)
    cuts = [starts[len(starts) // 3], starts[2 * len(starts) // 3]]
    assert split_summary(flood, cuts, inline=False) == analyse([flood])


def test_a_dns_flood_over_several_files_read_by_jobs_reads_as_one_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "PARALLEL_FROM", 0)
    packets = _flood(150)
    third = len(packets) // 3
    files = []
    for i, chunk in enumerate([packets[:third], packets[third : 2 * third], packets[2 * third :]]):
        frames = [(T0 + (i * third + j) / 10, p) for j, p in enumerate(chunk)]
        files.append(write_pcap(tmp_path / f"ring_{i}.pcap", frames, snaplen=SNAPLEN))
    one = analyse(files, jobs=1)
    assert analyse(files, jobs=2) == one
    assert analyse(files, jobs=3) == one


def test_watch_folding_flood_files_one_at_a_time_reads_as_one_reading(tmp_path: Path) -> None:
    packets = _flood(120)
    half = len(packets) // 2
    first = _capture(tmp_path / "ring_0.pcap", packets[:half])
    later = [(T0 + (half + j) / 10, p) for j, p in enumerate(packets[half:])]
    second = write_pcap(tmp_path / "ring_1.pcap", later, snaplen=SNAPLEN)
    folder = parallel.Folder()
    folder.add(first, str(first))
    folder.add(second, str(second))
    folded, one = folder.summary(), analyse([first, second])
    assert (folded.dns, folded.problems) == (one.dns, one.problems)


def _part(path: Path, seg: int = 1) -> engine._Run:
    """The state a part hands the merge, read as ``--jobs`` reads a file (a later one by
    default: the first is folded into an empty log)."""
    return parallel.work(parallel.Part(seg, path, str(path))).run


@pytest.mark.parametrize("count", [100, 1_000])
def test_a_part_holds_no_more_dns_packets_than_one_reading_keeps_however_big_the_flood(
    tmp_path: Path, count: int
) -> None:
    path = _capture(tmp_path / "dns-flood.pcap", _flood(count))
    run = _part(path)
    assert run.dns_events is not None and len(run.dns_events) <= 2 * (10 + 5)
    assert dnslog.held_limit() == 2 * (10 + 5)  # DNS_LIMIT and PENDING_LIMIT look-ups
    # held none: the merge reads this part's DNS again, and counts what does not decode
    assert (len(run.dns_events), run.dns_deferred, run.dns_undecodable, run.dns_cut) == (
        0,
        True,
        0,
        0,
    )


def test_a_part_under_the_limit_hands_its_dns_packets_over(tmp_path: Path) -> None:
    packets = _flood(8)
    run = _part(_capture(tmp_path / "few.pcap", packets))
    assert run.dns_events is not None and not run.dns_deferred
    assert run.dns_undecodable and run.dns_cut
    assert len(run.dns_events) + run.dns_undecodable + run.dns_cut == len(packets)


def test_the_first_part_hands_over_its_own_bounded_log_as_one_reading_makes_it(
    tmp_path: Path,
) -> None:
    path = _capture(tmp_path / "dns-flood.pcap", _flood(1_000))
    run = _part(path, seg=0)
    assert run.dns_events is None and not run.dns_deferred
    assert run.dns.ordered() == analyse([path]).dns
    assert len(run.dns.lookups) <= 2 * 10 and len(run.dns.waiting) <= 5  # two cameras
