"""Zeek logs as input: read what real Zeek wrote, and judge it as the pcap it came from.

The samples are real Zeek output in ``<repo>/../shared/zeek-samples`` (see its README and
each SOURCE.md); nothing here writes a log that pretends to be Zeek's. Crafted inputs are
only a junk line, a missing conn log, and truncated copies of samples made at test time.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from camaudit.api import verify
from camaudit.cli import app
from camaudit.errors import InputError
from camaudit.model import Flow, Verdict
from camaudit.report.model import schema, to_json
from camaudit.traffic.flows import ACK, DATA, FIN, RST, SYN, SYNACK
from camaudit.traffic.zeek import ZeekLog, analyse_zeek, history_bits, log_kind
from tests.conftest import SHARED


def _samples() -> Path:
    for candidate in (
        os.environ.get("CAMAUDIT_ZEEK_SAMPLES"),
        SHARED / "zeek-samples",
        "/work/shared/zeek-samples",
    ):
        if candidate and Path(candidate, "README.md").is_file():
            return Path(candidate)
    pytest.skip("Zeek samples not found: ../shared/zeek-samples beside the repo is absent")


@pytest.fixture(scope="module")
def samples() -> Path:
    return _samples()


PAIRED = {
    "zeek-btest-wikipedia": "wikipedia.pcap",
    "zeek-btest-pop3-rej": "pop3.pcap",
    "zeek-btest-xmpp-starttls": "xmpp-starttls.pcap",
    "zeek-btest-ssh-halfduplex-s0": "ssh.client-side-half-duplex.pcap",
}
# The same closed network for both readings: the sets' own inside ranges.
CLOSED = ("192.168.0.0/16", "141.142.220.0/24", "198.128.203.0/24")
# The README's tshark table says Zeek splits these 5-tuples (same port reused
# after REJ; one-sided SSH logged as S0 then SH) while a pcap reader keeps one flow each.
PAIRED_PATH = "zeek-btest-wikipedia/wikipedia.pcap"
SPLIT = {"zeek-btest-pop3-rej": 4, "zeek-btest-ssh-halfduplex-s0": 5}

Tuple5 = tuple[str, str, int, str, int]


def _key(flow: Flow) -> Tuple5:
    return (flow.proto, flow.orig, flow.orig_port, flow.resp, flow.resp_port)


def _packets(flows: tuple[Flow, ...]) -> dict[Tuple5, tuple[int, int, int, int]]:
    out: dict[Tuple5, tuple[int, int, int, int]] = {}
    for f in flows:
        o_pk, r_pk, o_b, r_b = out.get(_key(f), (0, 0, 0, 0))
        out[_key(f)] = (o_pk + f.orig_packets, r_pk + f.resp_packets, o_b, r_b)
    return out


@pytest.mark.parametrize("name", sorted(PAIRED))
def test_logs_and_their_pcap_give_the_same_connections_and_packet_counts(
    samples: Path, name: str
) -> None:
    logs = analyse_zeek([samples / name])
    pcap = verify([samples / name / PAIRED[name]], CLOSED).traffic
    assert {_key(f) for f in logs.flows} == {_key(f) for f in pcap.flows}
    assert len(logs.flows) - len(pcap.flows) == SPLIT.get(name, 0)
    # Zeek counts packets per connection; split 5-tuples add up to the pcap's one flow.
    assert _packets(logs.flows) == _packets(pcap.flows)


def test_logs_and_pcap_agree_on_bytes_once_the_ethernet_header_is_counted(samples: Path) -> None:
    """Flow bytes from Zeek are its IP bytes; the pcap's are frame lengths (IP + 14)."""
    logs = analyse_zeek([samples / "zeek-btest-wikipedia"])
    pcap = {_key(f): f for f in verify([samples / PAIRED_PATH], CLOSED).traffic.flows}
    for flow in logs.flows:
        seen = pcap[_key(flow)]
        assert seen.orig_bytes == flow.orig_bytes + 14 * flow.orig_packets
        assert seen.resp_bytes == flow.resp_bytes + 14 * flow.resp_packets


@pytest.mark.parametrize("name", sorted(PAIRED))
def test_logs_and_their_pcap_give_the_same_verdict_and_findings(samples: Path, name: str) -> None:
    logs = verify([], CLOSED, zeek=[samples / name])
    pcap = verify([samples / name / PAIRED[name]], CLOSED)
    assert logs.assessment.verdict == pcap.assessment.verdict
    assert {(f.rule, f.device) for f in logs.assessment.findings} == {
        (f.rule, f.device) for f in pcap.assessment.findings
    }
    assert {(o.device, o.remote, o.crossed) for o in logs.assessment.outbound} == {
        (o.device, o.remote, o.crossed) for o in pcap.assessment.outbound
    }
    assert {p.code for p in pcap.traffic.problems} <= {p.code for p in logs.traffic.problems}


@pytest.mark.parametrize("name", ["zeek-btest-wikipedia", "zeek-btest-pop3-rej"])
def test_history_maps_to_the_flow_state_the_pcap_reader_gives(samples: Path, name: str) -> None:
    logs = analyse_zeek([samples / name])
    pcap = {_key(f): f for f in verify([samples / name / PAIRED[name]], CLOSED).traffic.flows}
    for flow in logs.flows:
        assert (flow.conn_state, flow.category) == (
            pcap[_key(flow)].conn_state,
            pcap[_key(flow)].category,
        )


def test_history_letters_are_the_sides_flag_bits() -> None:
    """Upper case is the originator: S SYN, H SYN-ACK, A ACK, D data, F FIN, R RST."""
    assert history_bits("ShADadfF") == (SYN | ACK | DATA | FIN, SYNACK | ACK | DATA | FIN)
    assert history_bits("Sr") == (SYN, RST)
    assert history_bits("^dtT") == (0, DATA)  # flip, retransmissions: no flag of their own
    assert history_bits("") == (0, 0)


def test_evidence_names_the_uid_and_the_conn_log_line(samples: Path, tmp_path: Path) -> None:
    result = verify([], CLOSED, zeek=[samples / "zeek-btest-pop3-rej"])
    assert result.assessment.findings
    lines = (samples / "zeek-btest-pop3-rej" / "conn.log").read_text().splitlines()
    for finding in result.assessment.findings:
        for item in finding.evidence:
            assert item.capture.endswith("conn.log")
            (line,) = item.frames
            uid = json.loads(item.display_filter.removeprefix("uid == "))
            assert item.display_filter == f'uid == "{uid}"'
            assert lines[line - 1].split("\t")[1] == uid
    document = json.loads(to_json(result.report))
    jsonschema.validate(document, schema())
    assert {i["format"] for i in document["inputs"]} == {"zeek-tsv"}


def test_dns_evidence_names_the_uid_and_the_dns_log_line(samples: Path) -> None:
    result = verify([], CLOSED, zeek=[samples / "zeek-btest-wikipedia"])
    lines = (samples / "zeek-btest-wikipedia" / "dns.log").read_text().splitlines()
    dns = [e for f in result.assessment.findings for e in f.evidence if "dns.log" in e.capture]
    assert dns
    for item in dns:
        uid = json.loads(item.display_filter.removeprefix("uid == "))
        assert all(lines[line - 1].split("\t")[1] == uid for line in item.frames)


def test_btest_baseline_line_and_redacted_ts_read_as_unknown_time(samples: Path) -> None:
    path = samples / "zeek-btest-wikipedia" / "conn.log"
    assert path.read_text().startswith("### BTest baseline")
    rows = list(ZeekLog(path))
    assert len(rows) == 34
    assert all(r.text("ts") == "XXXXXXXXXX.XXXXXX" and r.time() is None for r in rows)
    summary = analyse_zeek([samples / "zeek-btest-wikipedia"])
    assert all(i.first_time is None for i in summary.inputs)
    assert "timestamps_unknown" in {p.code for p in summary.problems}


def test_columns_are_read_by_name_when_node_name_comes_first(samples: Path) -> None:
    path = samples / "rita-rotated-gz" / "conn.15:00:00-16:00:00.log.gz"
    log = ZeekLog(path)
    rows = list(log)
    assert log.fields[:2] == ("_node_name", "ts")
    assert len(rows) == 290 and log.compression == "gzip"
    assert all(r.text("_node_name") == "worker-eth0-1" for r in rows)
    day = datetime.datetime(2024, 4, 29, tzinfo=datetime.UTC).timestamp()
    assert all(day < (r.time() or 0) < day + 86400 for r in rows)


def test_zeekctl_archive_names_and_rotated_files_are_all_read(samples: Path) -> None:
    assert log_kind("conn.16:00:00-17:00:00.log.gz") == "conn"
    assert log_kind("dns.json.gz") == "dns"
    assert log_kind("weird.log") is None and log_kind("x509.log") is None
    summary = analyse_zeek([samples / "rita-rotated-gz"])
    assert len(summary.flows) == 290 + 7260
    assert len([i for i in summary.inputs if "conn." in i.path]) == 2


def test_old_bro_layout_reads_without_the_newer_columns(samples: Path) -> None:
    log = ZeekLog(samples / "zat-tsv" / "conn.log")
    rows = list(log)
    assert "local_resp" not in log.fields and len(rows) == 360
    assert len(analyse_zeek([samples / "zat-tsv"]).flows) == 360


def test_empty_and_unset_values_and_set_fields(samples: Path) -> None:
    (row,) = ZeekLog(samples / "zeek-btest-xmpp-starttls" / "ssl.log")
    # set/vector: the chain of two certificate fingerprints; "(empty)": an empty chain.
    assert len(row.items("cert_chain_fps")) == 2
    assert row.values["client_cert_chain_fps"] == ()
    # "-" is unset: absent, the same as a field JSON omits.
    assert "server_name" not in row.values and row.text("server_name") is None
    zat = list(ZeekLog(samples / "zat-tsv" / "conn.log"))
    assert all(r.values.get("tunnel_parents") == () for r in zat)  # typed table[string]
    dns = list(ZeekLog(samples / "zeek-btest-wikipedia" / "dns.log"))
    many = [r.items("answers") for r in dns if len(r.items("answers")) > 1]
    assert many and all(isinstance(a, tuple) for a in many)
    unanswered = [r for r in dns if r.text("rcode_name") is None]
    assert unanswered and all(r.values.get("rcode_name") is None for r in unanswered)


def test_json_with_epoch_ts_and_omitted_fields(samples: Path) -> None:
    log = ZeekLog(samples / "zat-json" / "conn.log")
    rows = list(log)
    assert log.format == "zeek-json" and len(rows) == 50
    assert rows[0].time() == pytest.approx(1575413096.052279)
    assert sum(1 for r in rows if "service" not in r.values) == 6
    summary = analyse_zeek([samples / "zat-json"])
    assert len(summary.flows) == 50 and summary.inputs[0].first_time is not None


def test_json_streaming_iso_ts_matches_the_tsv_of_the_same_run(samples: Path) -> None:
    base = samples / "zed-wrccdc-tsv-json-gz"
    as_json = [
        (r.text("uid"), r.time(), r.text("query"))
        for _, r in zip(range(500), ZeekLog(base / "dns.json.gz"), strict=False)
    ]
    as_tsv = [
        (r.text("uid"), r.time(), r.text("query"))
        for _, r in zip(range(500), ZeekLog(base / "dns.log.gz"), strict=False)
    ]
    assert as_json[0][1] == pytest.approx(
        datetime.datetime(2018, 3, 24, 17, 15, 20, 865716, tzinfo=datetime.UTC).timestamp()
    )
    assert [(u, round(t or 0, 6), q) for u, t, q in as_json] == [
        (u, round(t or 0, 6), q) for u, t, q in as_tsv
    ]


def test_corrupt_gzip_keeps_its_150_rows_and_says_it_is_damaged(samples: Path) -> None:
    log = ZeekLog(samples / "zat-gz" / "http.log.corrupt.gz")
    assert len(list(log)) == 150
    assert log.damage is not None


def test_a_damaged_log_stops_a_verdict_of_isolated(samples: Path, tmp_path: Path) -> None:
    inside = ("198.128.203.0/24", "146.255.57.0/24")  # every host of the xmpp set is inside
    whole = tmp_path / "whole"
    shutil.copytree(samples / "zeek-btest-xmpp-starttls", whole)
    assert verify([], inside, zeek=[whole]).assessment.verdict == Verdict.ISOLATED
    damaged = tmp_path / "damaged"
    shutil.copytree(whole, damaged)
    shutil.copy(samples / "zat-gz" / "http.log.corrupt.gz", damaged / "http.log.gz")
    result = verify([], inside, zeek=[damaged])
    assert result.assessment.verdict != Verdict.ISOLATED
    assert any("damaged" in reason.text for reason in result.assessment.reasons)


def test_a_conn_log_cut_short_keeps_the_rows_before_the_cut(samples: Path, tmp_path: Path) -> None:
    data = gzip.compress((samples / "zeek-btest-wikipedia" / "conn.log").read_bytes())
    (tmp_path / "conn.log.gz").write_bytes(data[: len(data) * 2 // 3])
    summary = analyse_zeek([tmp_path])
    assert 0 < len(summary.flows) < 34
    (damaged,) = summary.inputs
    assert [p.code for p in damaged.problems] == ["truncated"]


def test_a_line_that_is_not_a_row_is_reported_not_skipped(samples: Path, tmp_path: Path) -> None:
    text = (samples / "zeek-btest-xmpp-starttls" / "conn.log").read_text()
    (tmp_path / "conn.log").write_text(text + "not a zeek row\n")
    result = verify([], ("198.128.203.0/24", "146.255.57.0/24"), zeek=[tmp_path])
    assert "undecoded" in {p.code for i in result.traffic.inputs for p in i.problems}
    assert result.assessment.verdict != Verdict.ISOLATED


@pytest.mark.parametrize("header", ["#separator", "#separator \t", "#set_separator\t"])
def test_an_empty_separator_is_a_damaged_line_not_a_crash(
    samples: Path, tmp_path: Path, header: str
) -> None:
    # Found by fuzz/fuzz_zeek.py: str.split("") raised ValueError out of the reader.
    text = (samples / "zeek-btest-xmpp-starttls" / "conn.log").read_text()
    head, _, rows = text.partition("#fields")
    (tmp_path / "conn.log").write_text(head + header + "\n#fields" + rows)
    result = verify([], ("198.128.203.0/24", "146.255.57.0/24"), zeek=[tmp_path])
    assert "undecoded" in {p.code for i in result.traffic.inputs for p in i.problems}
    assert result.assessment.verdict != Verdict.ISOLATED
    whole = analyse_zeek([samples / "zeek-btest-xmpp-starttls"])
    assert len(result.traffic.flows) == len(whole.flows)


def test_a_separator_header_names_the_column_separator(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_text(
        "#separator \\x2c\n#fields,ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto\n"
        "1.5,C1,10.66.0.21,40000,10.66.0.1,554,tcp\n"
    )
    (flow,) = analyse_zeek([tmp_path]).flows
    assert (flow.orig, flow.resp, flow.resp_port) == ("10.66.0.21", "10.66.0.1", 554)


def test_a_header_only_conn_log_reads_as_no_flows(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_text("#separator \\x09\n#fields\tts\tuid\n")
    assert analyse_zeek([tmp_path]).flows == ()


runner = CliRunner()


def test_a_set_without_conn_log_is_one_error_line_and_exit_3(samples: Path) -> None:
    result = runner.invoke(app, ["verify", "--zeek", str(samples / "zat-gz")])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1 and "no Zeek conn log" in result.stderr
    assert "Traceback" not in result.stderr


def test_zeek_is_exclusive_with_captures(samples: Path) -> None:
    base = samples / "zeek-btest-wikipedia"
    result = runner.invoke(app, ["verify", "--zeek", str(base), str(base / "wikipedia.pcap")])
    assert result.exit_code == 2
    result = runner.invoke(app, ["verify", "--zeek", str(base), "--live", "lo"])
    assert result.exit_code == 2


def test_cli_verdict_from_logs_matches_the_pcap(samples: Path) -> None:
    base = samples / "zeek-btest-pop3-rej"
    net = ["-n", "192.168.0.0/16"]
    logs = runner.invoke(app, ["verify", *net, "-f", "json", "--zeek", str(base)])
    pcap = runner.invoke(app, ["verify", *net, "-f", "json", str(base / "pop3.pcap")])
    assert logs.exit_code == pcap.exit_code == 1
    assert json.loads(logs.stdout)["verdict"] == json.loads(pcap.stdout)["verdict"]


def test_every_stored_sample_set_reads_without_a_traceback(samples: Path) -> None:
    sets = sorted(p for p in samples.iterdir() if p.is_dir())
    assert len(sets) >= 9
    outcomes: Counter[str] = Counter()
    refused: list[str] = []
    for folder in sets:
        for path in sorted(folder.iterdir()):
            if path.name.endswith((".log", ".gz", ".json")):
                log = ZeekLog(path)
                for _ in log:
                    pass
        try:
            analyse_zeek([folder])
            outcomes["read"] += 1
        except InputError as exc:
            refused.append(str(exc))
            outcomes["no conn"] += 1
    assert outcomes == Counter({"read": 7, "no conn": 2})
    assert all("no Zeek conn log" in message for message in refused)
