"""DNS questions paired with their answers, and which names each address was given for.

Bounded under a DNS flood (names made up by the million): a client's first
:data:`DNS_LIMIT` look-ups at a resolver are kept one by one; later ones are counted per
name, type and outcome (rcode and answers: look-ups that read alike), each such group
showing its first look-up; past :data:`NAME_LIMIT` groups of a client at a resolver, per
client and resolver without the names. Nothing is dropped: every look-up is in an entry
(:attr:`DnsLookup.pooled`), and an entry without names is judged as outside names no rule
allows, answered with every address its answers gave (past :data:`ANSWER_LIMIT`, their
networks, then the whole address family): fail closed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace

from camaudit.addresses import whole_family
from camaudit.model import DnsLookup, FrameRef, Problem
from camaudit.phrases import first_frames, phrase, problem
from camaudit.traffic.apps import DnsMessage
from camaudit.traffic.flows import network_of

_ADDRESS_TYPES = ("A", "AAAA")
DNS_LIMIT = 1_000  # look-ups of one client at one resolver kept one by one
NAME_LIMIT = 1_000  # then groups of alike look-ups per client and resolver
PENDING_LIMIT = 10_000  # questions past DNS_LIMIT awaiting their answer
ANSWER_LIMIT = 16  # distinct answers (then networks) an entry without names keeps
_FIRST_FRAMES = 10


def held_limit() -> int:
    """DNS packets a part read under ``--jobs`` holds for the merge: the questions and
    answers of as many look-ups as one reading holds (kept one by one at one resolver, and
    waiting). Past it the part holds none and the merge reads its DNS again."""
    return 2 * (DNS_LIMIT + PENDING_LIMIT)


# client, client port, server, DNS id, name: a question and its answer share it
Key = tuple[str, int, str, int, str]
Pair = tuple[str, str]  # client, server
# A question as it waits for its answer: name, type, client, server, its frame, truncated,
# Zeek uid. A flood's questions mostly end up counted in a pool: a tuple costs a fraction
# of the frozen DnsLookup, which is made only for one kept by itself or a group's first.
_Asked = tuple[str, str, str, str, FrameRef | None, bool, str | None]


def _lookup(
    asked: _Asked,
    response: FrameRef | None = None,
    rcode: str | None = None,
    answers: tuple[str, ...] = (),
) -> DnsLookup:
    name, qtype, client, server, query, truncated, uid = asked
    return DnsLookup(name, qtype, client, server, query, response, rcode, answers, truncated, uid)


@dataclass
class _Pool:
    """Look-ups past :data:`DNS_LIMIT` counted together; ``first`` shows the first."""

    first: DnsLookup
    count: int = 0
    truncated: int = 0
    response: FrameRef | None = None
    rcode: str | None = None
    answers: dict[str, None] = field(default_factory=dict)  # without names: kept answers
    networks: int = 0

    def add(
        self,
        truncated: bool,
        response: FrameRef | None,
        rcode: str | None,
        answers: tuple[str, ...],
        named: bool,
    ) -> None:
        """Count one look-up (its truncation, response, rcode and answers)."""
        self.count += 1
        self.truncated += truncated
        if response is not None and self.response is None:
            self.response = response
        if named or rcode is None:
            return
        if self.rcode != "NOERROR":  # an entry without names: any NOERROR answer counts
            self.rcode = rcode
        for answer in answers:
            self._answer(answer)

    def _answer(self, answer: str) -> None:
        """Keep ``answer``, or past :data:`ANSWER_LIMIT` its network, past as many
        networks its whole family: what is kept covers every address given."""
        if answer in self.answers:
            return
        if len(self.answers) - self.networks < ANSWER_LIMIT:
            self.answers[answer] = None
            return
        cover = network_of(answer)
        if cover is None:
            return  # a name (CNAME target): says nothing about where traffic goes
        if cover not in self.answers and self.networks >= ANSWER_LIMIT:
            cover = whole_family(cover)
        if cover not in self.answers:
            self.answers[cover] = None
            self.networks += 1

    def lookup(self, named: bool) -> DnsLookup:
        first = self.first
        if named:
            return replace(first, pooled=self.count, truncated=bool(self.truncated))
        return replace(
            first,
            response=self.response,
            rcode=self.rcode,
            answers=tuple(self.answers),
            truncated=bool(self.truncated),
            pooled=self.count,
            names_pooled=True,
        )


def _copy(pool: _Pool) -> _Pool:
    return replace(pool, answers=dict(pool.answers))


@dataclass
class _Pools:
    """The look-ups past :data:`DNS_LIMIT`: alike ones together, and past
    :data:`NAME_LIMIT` such groups of a client at a resolver, all of them."""

    alike: dict[tuple[str, str, str, str, str | None, tuple[str, ...]], _Pool] = field(
        default_factory=dict
    )
    groups: dict[Pair, int] = field(default_factory=dict)
    unnamed: dict[Pair, _Pool] = field(default_factory=dict)

    def add(
        self,
        asked: _Asked,
        response: FrameRef | None = None,
        rcode: str | None = None,
        answers: tuple[str, ...] = (),
    ) -> bool:
        """Count the look-up of question ``asked`` (and its answer, if any); True when its
        name is kept. Its :class:`DnsLookup` is made only when it starts a group."""
        name, qtype, client, server, _query, truncated, _uid = asked
        pair = (client, server)
        key = (client, server, name, qtype, rcode, answers)
        pool = self.alike.get(key)
        if pool is None and self.groups.get(pair, 0) < NAME_LIMIT:
            self.groups[pair] = self.groups.get(pair, 0) + 1
            pool = self.alike[key] = _Pool(_lookup(asked, response, rcode, answers))
        if pool is not None:
            pool.add(truncated, response, rcode, answers, named=True)
            return True
        unnamed = self.unnamed.get(pair)
        if unnamed is None:
            unnamed = self.unnamed[pair] = _Pool(_lookup(asked, response, rcode, answers))
        unnamed.add(truncated, response, rcode, answers, named=False)
        return False

    def copy(self) -> _Pools:
        """A copy that counts on without changing this one (each group copied, its first
        look-up shared: a frozen DnsLookup)."""
        return _Pools(
            {key: _copy(pool) for key, pool in self.alike.items()},
            dict(self.groups),
            {pair: _copy(pool) for pair, pool in self.unnamed.items()},
        )

    def lookups(self) -> list[DnsLookup]:
        return [p.lookup(True) for p in self.alike.values()] + [
            p.lookup(False) for p in self.unnamed.values()
        ]


@dataclass
class DnsLog:
    """Collects look-ups as packets arrive (in any order of files)."""

    lookups: list[DnsLookup] = field(default_factory=list)
    pending: dict[Key, int] = field(default_factory=dict)
    names_for: dict[str, dict[str, float]] = field(default_factory=dict)  # addr -> name -> first
    kept: dict[Pair, int] = field(default_factory=dict)  # look-ups kept one by one
    # pooled questions, oldest first: an OrderedDict pops its oldest in O(1), where a dict's
    # next(iter()) walks past every deleted slot (6 µs a call under a DNS flood)
    waiting: OrderedDict[Key, _Asked] = field(default_factory=OrderedDict)
    pools: _Pools = field(default_factory=_Pools)

    def add(
        self,
        msg: DnsMessage,
        where: FrameRef,
        src: str,
        sport: int,
        dst: str,
        dport: int,
        truncated: bool,
        uid: str | None = None,
    ) -> None:
        """Fold one decoded DNS packet in (``uid``: a Zeek dns.log row's)."""
        questions = msg.questions or (("", "?"),)
        for name, qtype in questions:
            if msg.is_response:
                key = (dst, dport, src, msg.ident, name)
                self._response(msg, where, name, qtype, key, truncated, uid)
                continue
            key = (src, sport, dst, msg.ident, name)
            index = self.pending.get(key)
            if (index is not None and self.lookups[index].response is None) or key in self.waiting:
                continue  # a retransmitted question: the first one stands
            asked = (name, qtype, src, dst, where, truncated, uid)
            if self._room(src, dst):
                self.pending[key] = len(self.lookups)
                self.lookups.append(_lookup(asked))
                continue
            if len(self.waiting) >= PENDING_LIMIT:
                # the longest unanswered counts as unanswered (its answer, if one still
                # comes, as one whose question was not captured): pooled in frame order
                self.pools.add(self.waiting.popitem(last=False)[1])
            self.waiting[key] = asked

    def _room(self, client: str, server: str) -> bool:
        """Is there room for one more look-up of ``client`` at ``server`` one by one?"""
        kept = self.kept.get((client, server), 0)
        if kept >= DNS_LIMIT:
            return False
        self.kept[(client, server)] = kept + 1
        return True

    def _response(
        self,
        msg: DnsMessage,
        where: FrameRef,
        name: str,
        qtype: str,
        key: Key,
        truncated: bool,
        uid: str | None,
    ) -> None:
        answers = tuple(value for _owner, _kind, value in msg.answers)
        index = self.pending.pop(key, None)
        if index is not None:
            kept = self.lookups[index]
            self.lookups[index] = replace(
                kept,
                response=where,
                rcode=msg.rcode,
                answers=answers,
                truncated=kept.truncated or truncated,
            )
            self._names(msg, name, where)
            return
        waited = self.waiting.pop(key, None)
        if waited is not None:
            asked = waited if waited[5] or not truncated else (*waited[:5], True, waited[6])
        else:
            client, _port, server, _ident, _name = key  # its question was not captured
            asked = (name, qtype, client, server, None, truncated, uid)
            if self._room(client, server):
                self.lookups.append(_lookup(asked, where, msg.rcode, answers))
                self._names(msg, name, where)
                return
        if self.pools.add(asked, where, msg.rcode, answers):
            self._names(msg, name, where)

    def _names(self, msg: DnsMessage, name: str, where: FrameRef) -> None:
        for _owner, kind, value in msg.answers:
            if kind in _ADDRESS_TYPES:
                names = self.names_for.setdefault(value, {})
                if where.time < names.get(name, float("inf")):
                    names[name] = where.time

    def names_before(self, addr: str, when: float) -> tuple[str, ...]:
        """Names a resolver had given ``addr`` for by time ``when``."""
        names = self.names_for.get(addr)
        if not names:
            return ()
        return tuple(name for name, at in sorted(names.items(), key=lambda i: i[1]) if at <= when)

    def _all(self) -> list[DnsLookup]:
        """The look-ups kept one by one and the pooled entries, the questions still waiting
        for their answer counted as unanswered (in a copy: a later file may answer them)."""
        pools = self.pools
        if self.waiting:
            pools = pools.copy()
            for asked in self.waiting.values():
                pools.add(asked)
        return self.lookups + pools.lookups()

    def ordered(self) -> tuple[DnsLookup, ...]:
        """Every look-up (or pooled entry), in time order."""

        def when(item: DnsLookup) -> float:
            ref = item.query or item.response
            return ref.time if ref else 0.0

        return tuple(sorted(self._all(), key=when))

    def truncated(self) -> int:
        """Look-ups whose packets the snapshot length cut."""
        pooled = self.pools.alike.values(), self.pools.unnamed.values()
        waiting = sum(asked[5] for asked in self.waiting.values())
        return (
            sum(lookup.truncated for lookup in self.lookups)
            + sum(p.truncated for group in pooled for p in group)
            + waiting
        )

    def problems(self) -> list[Problem]:
        """Per capture, the look-ups counted past :data:`DNS_LIMIT` (by the capture of
        each entry's first frame): how many, how many without their names, the first."""
        by_capture: dict[str, list[tuple[int, int, bool]]] = {}
        for lookup in self._all():
            ref = lookup.query or lookup.response
            if lookup.pooled and ref is not None:
                by_capture.setdefault(ref.capture, []).append(
                    (ref.frame, lookup.pooled, lookup.names_pooled)
                )
        found = []
        for capture, pooled in sorted(by_capture.items()):
            pooled.sort()
            count = sum(n for _, n, _ in pooled)
            first = [frame for frame, _, _ in pooled[:_FIRST_FRAMES]]
            message = phrase(
                "problem_dns_pooled",
                count=count,
                limit=DNS_LIMIT,
                names=NAME_LIMIT,
                unnamed=sum(n for _, n, unnamed in pooled if unnamed),
                **first_frames(first, len(pooled) > len(first)),
            )
            found.append(problem("dns_pooled", message, capture, count))
        return found
