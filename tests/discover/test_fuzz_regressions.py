"""Replies the fuzzers (fuzz/) found crashing a discovery parser, each kept as the spec it broke."""

from __future__ import annotations

import pytest

from camaudit.discover._common import ReplyError
from camaudit.discover.sadp import parse_probe_match
from camaudit.discover.wsdiscovery import parse_probe_matches


@pytest.mark.parametrize("encoding", ["UTF-16", "utf-32"])
def test_reply_declaring_a_multibyte_encoding_is_an_unparsable_reply(encoding: str) -> None:
    # fuzz_sadp: expat refuses multi-byte encodings with a ValueError, not a ParseError
    reply = f'<?xml version="1.0" encoding="{encoding}"?><ProbeMatch/>'.encode()
    with pytest.raises(ReplyError, match="unparsable XML"):
        parse_probe_match(reply)


def test_probe_match_with_a_scope_that_is_not_a_url_keeps_its_other_facts() -> None:
    # fuzz_wsdiscovery: urlsplit raises ValueError on "[" without its "]"
    reply = (
        b"<ProbeMatches><ProbeMatch><XAddrs>http://10.66.0.21/onvif/device_service</XAddrs>"
        b"<Scopes>onvif://[broken/hardware/x onvif://www.onvif.org/hardware/DS-2CD</Scopes>"
        b"</ProbeMatch></ProbeMatches>"
    )
    (facts,) = parse_probe_matches(reply)
    assert facts.get("model") == "DS-2CD"
    assert "onvif://[broken/hardware/x" in (facts.get("scopes") or "")


def test_reply_declaring_an_unknown_encoding_is_an_unparsable_reply() -> None:
    # fuzz_sadp: expat raises LookupError for an encoding it does not know
    with pytest.raises(ReplyError, match="unparsable XML"):
        parse_probe_match(b'<?xml version="1.0" encoding="U0TF-8"?><ProbeMatch/>')
