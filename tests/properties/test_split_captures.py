"""A capture cut into files says the same as the whole, and the files' order does not matter.

The stored lab captures (pcaps/) are cut at record boundaries into N files with the same
file header; camaudit reads every file in time order into one flow table, so a
conversation cut between two files is still one flow with the same counts.
"""

from __future__ import annotations

import dataclasses
import itertools
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camaudit.model import Flow, FrameRef
from camaudit.traffic.engine import analyse
from tests.replay.cases import capture_files

# classic pcap files, uncompressed: their records can be cut apart with a few lines
PCAP_FILES = [p for p in capture_files() if p.suffix == ".pcap"]
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def records(data: bytes) -> tuple[bytes, list[bytes]]:
    """The file header and each record (its 16-byte header and data) of a pcap file."""
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pos, found = 24, []
    while pos + 16 <= len(data):
        end = pos + 16 + struct.unpack_from(order + "I", data, pos + 8)[0]
        found.append(data[pos:end])
        pos = end
    return data[:24], found


def _when(ref: FrameRef | None) -> float | None:
    return None if ref is None else ref.time


def seen(flow: Flow) -> tuple[object, ...]:
    """A flow without the file and frame numbers it was read from (those depend on the cut)."""
    return dataclasses.astuple(
        dataclasses.replace(
            flow,
            first=_when(flow.first),
            last=_when(flow.last),  # type: ignore[arg-type]
            rejected_by=_when(flow.rejected_by),
        )  # type: ignore[arg-type]
    )


def split(path: Path, cuts: list[int], into: Path) -> list[Path]:
    head, recs = records(path.read_bytes())
    bounds = [0, *cuts, len(recs)]
    parts = []
    for index, (start, stop) in enumerate(itertools.pairwise(bounds)):
        part = into / f"part{index}-{path.name}"
        part.write_bytes(head + b"".join(recs[start:stop]))
        parts.append(part)
    return parts


@st.composite
def cut_captures(draw: st.DrawFn) -> tuple[Path, list[int]]:
    path = draw(st.sampled_from(PCAP_FILES))
    count = len(records(path.read_bytes())[1])
    if count < 2:
        return path, []
    cuts = draw(st.sets(st.integers(1, count - 1), min_size=1, max_size=min(4, count - 1)))
    return path, sorted(cuts)


@PROPERTY
@given(case=cut_captures(), order=st.randoms(use_true_random=False))
def test_a_capture_cut_into_files_gives_the_same_flows_in_any_file_order(
    case: tuple[Path, list[int]], order: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path, cuts = case
    whole = analyse([path])
    parts = split(path, cuts, tmp_path_factory.mktemp("parts"))
    cut = analyse(parts)
    assert sorted(map(seen, cut.flows), key=repr) == sorted(map(seen, whole.flows), key=repr)
    order.shuffle(parts)  # type: ignore[attr-defined]
    shuffled = analyse(parts)
    assert shuffled.flows == cut.flows
