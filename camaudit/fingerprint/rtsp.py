"""RTSP probe: OPTIONS and DESCRIBE without credentials; Server, realm and Public methods.

Raw sockets with the same deadline and byte cap as HTTP (:mod:`._net`). DESCRIBE is
sent unauthenticated only: its 401 challenge carries the realm, which is the evidence.
"""

from __future__ import annotations

import time

from camaudit.attempt import Facts
from camaudit.fingerprint._attempt import completed_attempt, describe, failed_attempt
from camaudit.fingerprint._net import Deadline, Reply, exchange
from camaudit.fingerprint.http import parse_challenge
from camaudit.fingerprint.interface import Probe, ProbeAttempt, ProbeTarget

__all__ = ["RtspProbe"]

USER_AGENT = "camaudit-fingerprint"
MAX_RTSP_BYTES = 64 * 1024


class RtspProbe(Probe):
    """Asks an RTSP server for its options and the description of ``/``."""

    name = "rtsp"

    @staticmethod
    def _request(target: ProbeTarget, deadline: Deadline, method: str, cseq: int) -> Reply:
        host = f"[{target.host}]" if ":" in target.host else target.host
        lines = [
            f"{method} rtsp://{host}:{target.port}/ RTSP/1.0",
            f"CSeq: {cseq}",
            f"User-Agent: {USER_AGENT}",
        ]
        if method == "DESCRIBE":
            lines.append("Accept: application/sdp")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
        return exchange(
            target.host, target.port, request, deadline, protocol=b"RTSP", max_bytes=MAX_RTSP_BYTES
        )

    @staticmethod
    def _facts(method: str, reply: Reply, facts: Facts) -> None:
        facts.add(f"rtsp_status:{method}", reply.status)
        if facts.get("rtsp_server") is None:
            facts.add("rtsp_server", reply.header("Server"))
        facts.add("rtsp_public", reply.header("Public"))
        challenge = reply.header("WWW-Authenticate")
        if challenge and facts.get("rtsp_realm") is None:
            scheme, params = parse_challenge(challenge)
            facts.add("rtsp_auth_scheme", scheme)
            facts.add("rtsp_realm", params.get("realm"))
        facts.add("rtsp_content_base", reply.header("Content-Base"))

    def run(self, target: ProbeTarget) -> ProbeAttempt:
        """OPTIONS then DESCRIBE, both within ``target.timeout``."""
        started = time.monotonic()
        probe = f"{self.name}:{target.port}"
        deadline = Deadline(target.timeout)
        facts = Facts()
        try:
            self._facts("OPTIONS", self._request(target, deadline, "OPTIONS", 1), facts)
        except Exception as exc:  # no RTSP conversation: the attempt says why
            return failed_attempt(probe, target.host, exc, started)
        try:
            self._facts("DESCRIBE", self._request(target, deadline, "DESCRIBE", 2), facts)
        except Exception as exc:  # OPTIONS already answered: keep it, note the failure
            facts.add("rtsp_status:DESCRIBE", "error")
            facts.add("rtsp_error:DESCRIBE", describe(exc))
        return completed_attempt(probe, target.host, facts.items(), started)
