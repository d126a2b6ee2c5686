"""Phone-home rhythm: connections a device repeats to one destination on a timer.

One SYN to a vendor cloud may be chance; thirty SYNs to it, one every 60 s, are a
device *configured* to reach it. The series are scored in the manner of RITA's beacon
analysis (activecm/rita): regular intervals and regular sizes give a score near 1.

- timing: the intervals between the connections' starts. Their Bowley skew (quartile
  skewness, ``(q1 + q3 - 2 m) / (q3 - q1)``) must be near 0, their median absolute
  deviation (MAD) small next to the period, and the connections must fill the span
  they cover (``(count - 1) * period / span``: a timer that paused scores lower).
  A symmetric but random spread (uniform gaps) has no skew and fills its span, so the
  MAD term *multiplies* the other two: without low jitter there is no rhythm.
- sizes: the bytes the device sent per connection; Bowley skew near 0 and a MAD under
  RITA's 32 bytes.

``score = (2 * timing + size) / 3``: timing carries the claim, sizes back it up (a
retry of a refused SYN has the same size every time, and so has random traffic of one
kind). Rhythm explains; it never changes a verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from camaudit.model import Direction, Flow, FrameRef, OutboundFlow, Rhythm

MIN_COUNT = 4  # three intervals at least: fewer cannot show a timer
MIN_PERIOD = 0.5  # seconds: closer starts are a burst (a browser's parallel connections)
REPORT_FROM = 0.7  # scores below this are not reported as a rhythm
JITTER_SHARE = 0.1  # a MAD of 10 % of the period or more: no timing regularity left
RESOLUTION_SHARE = 0.01  # interval quartiles closer than 1 % of the period: no skew
SIZE_MAD_BYTES = 32.0  # RITA's scale for the MAD of connection sizes


@dataclass(frozen=True)
class Scores:
    """How regular a series is: each part and the whole, 0..1."""

    timing: float
    size: float
    period: float
    jitter: float

    @property
    def score(self) -> float:
        return (2 * self.timing + self.size) / 3


def bowley_skew(values: Sequence[float], floor: float = 0.0) -> float:
    """Quartile skewness of ``values`` (sorted or not); 0 where the quartiles coincide
    or lie within ``floor`` of each other (a timer's microsecond noise has no shape)."""
    ordered = sorted(values)
    last = len(ordered) - 1
    q1, mid, q3 = (ordered[round(share * last)] for share in (0.25, 0.5, 0.75))
    if q3 - q1 <= floor or mid in (q1, q3):
        return 0.0
    return (q1 + q3 - 2 * mid) / (q3 - q1)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median."""
    centre = median(values)
    return median(abs(v - centre) for v in values)


def score_series(starts: Sequence[float], sizes: Sequence[float]) -> Scores:
    """The regularity of connections that started at ``starts`` and sent ``sizes`` bytes."""
    times = sorted(starts)
    intervals = [b - a for a, b in pairwise(times)]
    period = median(intervals) if intervals else 0.0
    jitter = mad(intervals) if intervals else 0.0
    if len(intervals) < MIN_COUNT - 1 or period < MIN_PERIOD:
        return Scores(0.0, 0.0, period, jitter)
    span = times[-1] - times[0]
    steady = max(0.0, 1 - jitter / (JITTER_SHARE * period))
    symmetric = 1 - abs(bowley_skew(intervals, RESOLUTION_SHARE * period))
    filled = min(1.0, (len(intervals) * period) / span)
    timing = steady * (symmetric + filled) / 2
    size = ((1 - abs(bowley_skew(sizes))) + max(0.0, 1 - mad(sizes) / SIZE_MAD_BYTES)) / 2
    return Scores(timing, size, period, jitter)


def _destination(judged: OutboundFlow) -> tuple[str, str]:
    """What the connections are to: a name, else a vendor label, else the address."""
    names = judged.flow.names
    if names:
        return names[0], "name"
    if judged.label:
        return judged.label, "label"
    return judged.remote, "address"


def _sent(flow: Flow, device: str) -> int:
    return flow.orig_bytes if flow.orig == device else flow.resp_bytes


class Series:
    """Outbound connections per device and destination, gathered one judged flow at a time.

    Each connection is kept as a few numbers, not as its flow: the verdict stage feeds
    every boundary flow here, also those it summarises instead of listing.
    """

    def __init__(self) -> None:
        # per (device, destination, kind, proto, port): (start, sent, remote, crossed,
        # label, first frame) of each connection
        self.series: dict[tuple[str, str, str, str, int], list[_Start]] = {}

    def add(self, judged: OutboundFlow) -> None:
        if judged.direction != Direction.OUTBOUND:
            return
        flow = judged.flow
        destination, kind = _destination(judged)
        key = (judged.device, destination, kind, flow.proto, flow.resp_port)
        start = (
            flow.first.time,
            _sent(flow, judged.device),
            judged.remote,
            judged.crossed,
            judged.label,
            flow.first,
        )
        self.series.setdefault(key, []).append(start)

    def detect(self) -> tuple[Rhythm, ...]:
        """Every regular series, best first."""
        found = []
        for (device, destination, kind, proto, port), group in self.series.items():
            if len(group) < MIN_COUNT:
                continue
            starts = sorted(group, key=lambda s: s[0])
            scores = score_series([s[0] for s in starts], [s[1] for s in starts])
            if scores.score < REPORT_FROM:
                continue
            found.append(
                Rhythm(
                    device=device,
                    destination=destination,
                    destination_kind=kind,
                    remotes=tuple(dict.fromkeys(s[2] for s in starts)),
                    proto=proto,
                    port=port,
                    count=len(starts),
                    period=round(scores.period, 3),
                    jitter=round(scores.jitter, 3),
                    first=starts[0][5],
                    last=starts[-1][5],
                    score=round(scores.score, 3),
                    timing_score=round(scores.timing, 3),
                    size_score=round(scores.size, 3),
                    crossed=sum(1 for s in starts if s[3]),
                    label=next((s[4] for s in starts if s[4]), None),
                )
            )
        return tuple(sorted(found, key=lambda r: (-r.score, r.device, r.destination, r.port)))


_Start = tuple[float, int, str, bool, "str | None", FrameRef]


def detect(outbound: Iterable[OutboundFlow]) -> tuple[Rhythm, ...]:
    """Every regular series of outbound connections, per device and destination, best first."""
    series = Series()
    for judged in outbound:
        series.add(judged)
    return series.detect()
