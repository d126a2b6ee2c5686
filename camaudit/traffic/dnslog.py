"""DNS questions paired with their answers, and which names each address was given for."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from camaudit.model import DnsLookup, FrameRef
from camaudit.traffic.apps import DnsMessage

_ADDRESS_TYPES = ("A", "AAAA")


@dataclass
class DnsLog:
    """Collects look-ups as packets arrive (in any order of files)."""

    lookups: list[DnsLookup] = field(default_factory=list)
    pending: dict[tuple[str, int, str, int, str], int] = field(default_factory=dict)
    names_for: dict[str, dict[str, float]] = field(default_factory=dict)  # addr -> name -> first

    def add(
        self,
        msg: DnsMessage,
        where: FrameRef,
        src: str,
        sport: int,
        dst: str,
        dport: int,
        truncated: bool,
    ) -> None:
        """Fold one decoded DNS packet in."""
        questions = msg.questions or (("", "?"),)
        for name, qtype in questions:
            if msg.is_response:
                self._response(
                    msg, where, name, qtype, (dst, dport, src, msg.ident, name), truncated
                )
            else:
                key = (src, sport, dst, msg.ident, name)
                index = self.pending.get(key)
                if index is not None and self.lookups[index].response is None:
                    continue  # a retransmitted question: the first one stands
                self.pending[key] = len(self.lookups)
                question = DnsLookup(
                    name, qtype, client=src, server=dst, query=where, truncated=truncated
                )
                self.lookups.append(question)

    def _response(
        self,
        msg: DnsMessage,
        where: FrameRef,
        name: str,
        qtype: str,
        key: tuple[str, int, str, int, str],
        truncated: bool,
    ) -> None:
        answers = tuple(value for _owner, _kind, value in msg.answers)
        for _owner, kind, value in msg.answers:
            if kind in _ADDRESS_TYPES:
                names = self.names_for.setdefault(value, {})
                if where.time < names.get(name, float("inf")):
                    names[name] = where.time
        index = self.pending.pop(key, None)
        if index is None:
            client, _port, server, _ident, _name = key  # its question was not captured
            unasked = DnsLookup(name, qtype, client, server, query=None, truncated=truncated)
            self.lookups.append(replace(unasked, response=where, rcode=msg.rcode, answers=answers))
            return
        self.lookups[index] = replace(
            self.lookups[index],
            response=where,
            rcode=msg.rcode,
            answers=answers,
            truncated=self.lookups[index].truncated or truncated,
        )

    def names_before(self, addr: str, when: float) -> tuple[str, ...]:
        """Names a resolver had given ``addr`` for by time ``when``."""
        names = self.names_for.get(addr)
        if not names:
            return ()
        return tuple(name for name, at in sorted(names.items(), key=lambda i: i[1]) if at <= when)

    def ordered(self) -> tuple[DnsLookup, ...]:
        """Every look-up, in time order."""

        def when(item: DnsLookup) -> float:
            ref = item.query or item.response
            return ref.time if ref else 0.0

        return tuple(sorted(self.lookups, key=when))
