"""An HTTP reply as a camera sends it: status line, headers, chunked body, challenge, title,
and every endpoint parser (XML, JSON, key=value) of the signatures on its body.

The socket is replaced by :class:`Wire`, which hands the bytes out in chunks of the size the
first byte gives: the reading loop sees splits anywhere.
"""

from __future__ import annotations

from _harness import instrumented, main

with instrumented():
    from camaudit.attempt import Facts
    from camaudit.fingerprint import _net, http
    from camaudit.fingerprint._attempt import secret_forms
    from camaudit.fingerprint.interface import Credentials
    from camaudit.knowledge import load_knowledge

CREDENTIALS = Credentials("admin", "canary-Pa55", allow_basic=True)
SECRETS = secret_forms(CREDENTIALS)  # once: the probe's facts_for(CREDENTIALS) per reply
# the probe parses only the kinds it has a parser for (the others it only counts)
ENDPOINTS = [e for e in load_knowledge().signatures.endpoints if e.parse in http._PARSERS]


class Wire:
    """Stands in for :class:`camaudit.fingerprint._net._Connection`: replays ``data``."""

    tls_subject: str | None = None
    tls_sha256: str | None = None

    def __init__(self, data: bytes) -> None:
        step = (data[0] if data else 1) or 1
        rest = data[1:]
        self._chunks = [rest[i : i + step] for i in range(0, len(rest), step)]

    def send(self, data: bytes) -> None:
        pass

    def recv(self, size: int = 65536) -> bytes:
        return self._chunks.pop(0) if self._chunks else b""

    def close(self) -> None:
        pass


def reply(data: bytes, protocol: bytes) -> _net.Reply:
    """``data`` read by :func:`camaudit.fingerprint._net.exchange` as a reply."""
    real = _net._Connection
    _net._Connection = lambda *_args: Wire(data)  # type: ignore[assignment,misc]
    try:
        return _net.exchange("192.0.2.1", 80, b"", _net.Deadline(5.0), protocol=protocol)
    except ConnectionError:  # the wire closed without a reply: the probe's own case
        raise _net.NotAReply("closed") from None
    finally:
        _net._Connection = real  # type: ignore[misc]


def one(data: bytes) -> None:
    got = reply(data, b"HTTP")
    facts = Facts(SECRETS)
    http.HttpProbe()._root_facts(got, facts)
    challenges = [v for k, v in got.headers if k.lower() == "www-authenticate"]
    scheme, params = http.preferred_challenge(challenges)
    if scheme == "digest" and not http.has_controls(params):
        http.digest_authorization(params, CREDENTIALS, "GET", "/")
    for endpoint in ENDPOINTS:
        http._PARSERS[endpoint.parse](endpoint.path, got.body, dict(endpoint.fields), facts)
    facts.items()


if __name__ == "__main__":
    main(one)
