"""A conn log of a scan of many addresses: past the flow limit rows are counted per
address pair, and past :data:`flows.PAIR_LIMIT` pairs per originator and responder
network (/24, IPv6 /64), as the pcap path pools a scan; the report says what was pooled
(``flows_networks``, the networks' first lines), and nothing is lost: every packet is
still in some flow, and a network outside the closed one is judged as outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.make_flood import CONN_FIELDS
from camaudit.traffic import dnslog, zeek
from camaudit.traffic.zeek import analyse_zeek, conn_part

HEADER = 2  # lines before the first row
CAMERA = "10.66.0.21"


def _targets() -> list[str]:
    """40 addresses in 203.0.113.0/24, 20 in 198.51.100.0/24, 10 in 2001:db8:0:7::/64,
    interleaved as a scan sends them."""
    v4a = [f"203.0.113.{i}" for i in range(1, 41)]
    v4b = [f"198.51.100.{i}" for i in range(1, 21)]
    v6 = [f"2001:db8:0:7::{i:x}" for i in range(1, 11)]
    out: list[str] = []
    for i in range(40):
        out.append(v4a[i])
        if i < 20:
            out.append(v4b[i])
        if i < 10:
            out.append(v6[i])
    return out


def _write(
    path: Path, targets: list[str], start: int = 0, origins: list[str] | None = None
) -> None:
    """One row per target: a SYN answered by a RST (REJ), 1 packet each way; from the
    camera, or from each of ``origins`` in turn."""
    lines = ["#separator \\x09", "#fields\t" + "\t".join(CONN_FIELDS)]
    for n, target in enumerate(targets, start):
        row = (
            f"{1700000000 + n}.0",
            f"C{n:05d}",
            origins[n - start] if origins else CAMERA,
            str(40000 + n),
            target,
            "443",
            "tcp",
            "0.001",
            "REJ",
            "Sr",
            "1",
            "60",
            "1",
            "40",
        )
        lines.append("\t".join(row))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zeek, "FLOW_LIMIT", 5)
    monkeypatch.setattr(zeek, "PAIR_LIMIT", 10)


def test_a_conn_log_scan_past_the_pair_limit_is_counted_per_responder_network(
    small_limits: None, tmp_path: Path
) -> None:
    targets = _targets()
    _write(tmp_path / "conn.log", targets)
    summary = analyse_zeek([tmp_path])
    exact = [f for f in summary.flows if f.resp_port]
    pairs = [f for f in summary.flows if not f.resp_port and "/" not in f.resp]
    networks = {f.resp: f for f in summary.flows if "/" in f.resp}
    assert [f.resp for f in exact] == targets[:5]
    assert [f.resp for f in pairs] == targets[5:15]
    assert set(networks) == {"203.0.113.0/24", "198.51.100.0/24", "2001:db8:0:7::/64"}
    pooled = targets[15:]
    for cidr, flow in networks.items():
        rows = [t for t in pooled if zeek.network_of(t) == cidr]
        assert (flow.orig, flow.orig_packets, flow.resp_packets) == (CAMERA, len(rows), len(rows))
        assert flow.conn_state == "REJ"  # the state the rows had
        first_line = HEADER + 1 + targets.index(rows[0])
        assert flow.first.frame == first_line
    # every packet is counted once, in a flow, a pair or a network
    assert sum(f.orig_packets + f.resp_packets for f in summary.flows) == 2 * len(targets)
    (problem,) = [p for p in summary.problems if p.code == "flows_networks"]
    assert problem.count == 2 * len(pooled)
    params = dict(problem.params)
    assert params["networks"] == 3
    firsts = sorted(f.first.frame for f in networks.values())
    assert params["frames"] == ", ".join(map(str, firsts)) == "18, 19, 20"


def test_a_responder_that_is_no_address_past_the_pair_limit_is_an_unread_row(
    small_limits: None, tmp_path: Path
) -> None:
    targets = [*_targets()[:20], "not-an-address"]
    _write(tmp_path / "conn.log", targets)
    summary = analyse_zeek([tmp_path])
    assert "not-an-address" not in {f.resp for f in summary.flows}
    (bad,) = [p for p in summary.inputs[0].problems if p.code == "undecoded"]
    assert bad.count == 1


def test_conn_logs_pooled_per_network_read_the_same_by_one_or_two_processes(
    small_limits: None, tmp_path: Path
) -> None:
    targets = _targets()
    for part in range(3):  # conn logs of one scan, rotated: later ones all past the limit
        chunk = targets[part * 25 : (part + 1) * 25]
        _write(tmp_path / f"conn.{part:02d}:00:00-{part + 1:02d}:00:00.log", chunk, part * 25)
    one = analyse_zeek([tmp_path], jobs=1)
    two = analyse_zeek([tmp_path], jobs=2)
    assert one == two
    assert any("/" in f.resp for f in one.flows)
    assert sum(f.orig_packets + f.resp_packets for f in one.flows) == 2 * len(targets)


def test_a_log_wholly_past_the_limits_reads_the_same_fast_and_carefully(
    small_limits: None, tmp_path: Path
) -> None:
    path = tmp_path / "conn.log"
    _write(path, _targets() * 2)  # each pair twice: the fast reader's own path too
    fast = conn_part(path)
    log = zeek.ZeekLog(path)
    careful = zeek._Pairs()
    assert next(zeek._conn_rows(log, careful, exact=1 << 62), None) is None
    assert repr(fast.pairs) == repr(careful.pairs)
    assert sum("/" in key[2] for key in fast.pairs) == 3


def test_an_outside_network_pooled_from_a_conn_log_is_not_isolated(
    small_limits: None, tmp_path: Path
) -> None:
    """The first 15 rows (5 flows, 10 pairs) stay inside the closed network; only rows
    past the pair limit reach an outside network, answered: the verdict rests on it."""
    from camaudit.api import verify

    targets = [f"10.66.0.{i}" for i in range(100, 115)] + _targets()[:30]
    path = tmp_path / "conn.log"
    _write(path, targets)
    path.write_text(path.read_text().replace("\tREJ\tSr\t", "\tSF\tShAFf\t"))  # answered, closed
    result = verify([], closed_network=["10.66.0.0/24"], zeek=[tmp_path])
    assert result.assessment.verdict == "not_isolated"
    cited = {
        (finding.rule, frame)
        for finding in result.assessment.findings
        for evidence in finding.evidence
        for frame in evidence.frames
    }
    assert ("BOUNDARY-CROSSED-OUT", HEADER + 16) in cited  # the first outside network's line


def test_a_dns_log_flood_is_counted_past_the_limit_and_keeps_the_first_rows_uid(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A dns.log of made-up names reads as a pcap's DNS flood does (the one DnsLog): the
    first look-ups one by one, the rest counted, each entry citing its first row's uid."""

    monkeypatch.setattr(dnslog, "DNS_LIMIT", 5)
    monkeypatch.setattr(dnslog, "NAME_LIMIT", 5)
    _write(tmp_path / "conn.log", ["10.66.0.1"])
    fields = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id query qtype_name"
    lines = ["#separator \\x09", "#fields\t" + fields.replace(" ", "\t")]
    for n in range(20):
        row = (f"{1700000000 + n}.0", f"D{n:03d}", CAMERA, str(30000 + n), "10.66.0.1")
        lines.append("\t".join((*row, "53", "udp", str(n), f"n{n}.flood.example", "A")))
    (tmp_path / "dns.log").write_text("\n".join(lines) + "\n")
    summary = analyse_zeek([tmp_path])
    assert [(d.pooled, d.names_pooled) for d in summary.dns] == [
        *[(0, False)] * 5,
        *[(1, False)] * 5,
        (10, True),
    ]
    assert [d.zeek_uid for d in summary.dns] == [f"D{n:03d}" for n in range(11)]
    (problem,) = [p for p in summary.problems if p.code == "dns_pooled"]
    assert problem.count == 15 and dict(problem.params)["unnamed"] == 10


def test_ssl_rows_are_held_only_for_the_connections_that_become_flows_of_their_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A week (or a flood) of ssl rows is not held: only the rows of the conn rows read one
    by one (the first FLOW_LIMIT, a row that is no connection counted as the reader does)."""
    monkeypatch.setattr(zeek, "FLOW_LIMIT", 3)
    _write(tmp_path / "conn.log", _targets()[:6])
    conn = tmp_path / "conn.log"
    rows = conn.read_text().splitlines()
    rows[HEADER + 1] = rows[HEADER + 1].replace("\ttcp\t", "\t-\t")  # C00001: no proto
    conn.write_text("\n".join(rows) + "\n")
    ssl = ["#separator \\x09", "#fields\tts\tuid\tserver_name"]
    ssl += [f"{1700000000 + n}.0\tC{n:05d}\tn{n}.example" for n in range(6)]
    (tmp_path / "ssl.log").write_text("\n".join(ssl) + "\n")
    wanted = zeek._exact_uids([conn])
    assert wanted == {"C00000", "C00002"}
    summary = analyse_zeek([tmp_path])
    exact = [f for f in summary.flows if f.resp_port]
    assert {f.zeek_uid for f in exact} == wanted
    assert {f.zeek_uid: f.sni for f in exact} == {"C00000": "n0.example", "C00002": "n2.example"}
    join = zeek._Join(wanted=wanted)
    for row in zeek.ZeekLog(tmp_path / "ssl.log"):
        zeek._fold("ssl", row, "ssl.log", row.time(), dnslog.DnsLog(), join)
    assert join.sni == {"C00000": "n0.example", "C00002": "n2.example"}


def _spoofed(count: int) -> list[str]:
    """Originators of a flood at the camera: .1-.n of three documentation /24s in turn."""
    nets = ("192.0.2", "198.51.100", "203.0.113")
    return [f"{nets[i % 3]}.{i // 3 + 1}" for i in range(count)]


def test_a_conn_log_of_a_spoofed_source_flood_spills_past_the_network_limit(
    monkeypatch: pytest.MonkeyPatch, small_limits: None, tmp_path: Path
) -> None:
    monkeypatch.setattr(zeek, "NETWORK_LIMIT", 3)
    origins = _spoofed(40)
    _write(tmp_path / "conn.log", [CAMERA] * 40, origins=origins)
    summary = analyse_zeek([tmp_path])
    networks = [f for f in summary.flows if "/" in f.resp and "/" not in f.orig]
    assert [f.orig for f in networks] == origins[15:18]  # after 5 flows and 10 pairs
    (spilled,) = [f for f in summary.flows if "/" in f.orig]
    assert (spilled.orig, spilled.resp) == ("0.0.0.0/0", "0.0.0.0/0")
    assert (spilled.orig_packets, spilled.resp_packets) == (22, 22)
    assert len(summary.flows) == 5 + 10 + 3 + 1
    (problem,) = [p for p in summary.problems if p.code == "flows_spilled"]
    assert problem.count == 44
    assert dict(problem.params)["frames"] == str(HEADER + 19)  # the first spilled row's line


def test_spoofed_conn_logs_spill_the_same_read_by_one_or_two_processes(
    monkeypatch: pytest.MonkeyPatch, small_limits: None, tmp_path: Path
) -> None:
    monkeypatch.setattr(zeek, "NETWORK_LIMIT", 3)
    origins = _spoofed(75)
    for part in range(3):  # rotated logs: the second and third only past the limits
        chunk = slice(part * 25, (part + 1) * 25)
        path = tmp_path / f"conn.{part:02d}:00:00-{part + 1:02d}:00:00.log"
        _write(path, [CAMERA] * 25, part * 25, origins[chunk])
    one = analyse_zeek([tmp_path], jobs=1)
    assert one == analyse_zeek([tmp_path], jobs=2)
    assert len(one.flows) == 5 + 10 + 3 + 1
    assert sum(f.orig_packets + f.resp_packets for f in one.flows) == 150
