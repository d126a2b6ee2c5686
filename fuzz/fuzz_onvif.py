"""An ONVIF SOAP reply (the whole HTTP reply) through the probe's bounded transport, the
defusedxml check, zeep, and the fact recorder of the call the first byte picks.

The probe records any failure of a call as that call's outcome (``OnvifProbe._call``), so
an exception zeep or onvif-zeep raise on a hostile reply is contained by design (zeep
raises TypeError on an empty SOAP Body, for one). A crash here is an exception raised in
camaudit's own code (the reader, the XML check, a recorder) that is not one of its errors.
"""

from __future__ import annotations

import traceback

from _harness import EXPECTED, instrumented, main
from fuzz_http import Wire

with instrumented():
    from camaudit.attempt import Facts
    from camaudit.fingerprint import _net, onvif
    from camaudit.fingerprint.interface import ProbeTarget

from typing import Any

import lxml.etree
import zeep.exceptions
import zeep.helpers
from zeep.wsdl.utils import etree_to_string

CALLS = (*onvif.UNAUTHENTICATED_CALLS, *onvif.AUTHENTICATED_CALLS)
SERVICE = onvif.OnvifProbe._service(ProbeTarget("192.0.2.1", 80), _net.Deadline(1e9), None)
NOT_A_REPLY = (*EXPECTED, zeep.exceptions.Error, lxml.etree.LxmlError)


def _requests_once(service: Any) -> None:
    """Build each call's request (SOAP envelope and its text) once, not once per input.

    zeep builds and serialises the same request for a call every time (no credentials here,
    so no nonce): that was a tenth of every run and none of it reads the reply. The reply
    still goes through the probe's transport (``post``), the XML check and zeep's parser.
    """
    binding, transport = service.ws_client._binding, service.zeep_client.transport
    create, envelopes, texts = binding._create, {}, {}

    def created(operation: str, *args: Any, **kwargs: Any) -> Any:
        if operation not in envelopes:
            envelopes[operation] = create(operation, *args, **kwargs)
        return envelopes[operation]

    def post_xml(address: str, envelope: Any, headers: dict[str, str]) -> Any:
        text = texts.get(id(envelope))
        if text is None:
            text = texts[id(envelope)] = etree_to_string(envelope)
        return transport.post(address, text, headers)

    binding._create = created
    transport.post_xml = post_xml


_requests_once(SERVICE)


def _ours(exc: BaseException) -> bool:
    """Was ``exc`` raised in camaudit's code (not in zeep, lxml or onvif-zeep)?"""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "/camaudit/" in frames[-1].filename


def one(data: bytes) -> None:
    name = CALLS[data[0] % len(CALLS)] if data else CALLS[0]
    real = _net._Connection
    _net._Connection = lambda *_args: Wire(data[1:])  # type: ignore[assignment,misc]
    try:
        raw = getattr(SERVICE, name)(onvif._CALL_ARGUMENTS.get(name))
    except Exception as exc:  # onvif-zeep wraps every failure in ONVIFError
        cause = onvif._root_cause(exc)
        if isinstance(cause, (*NOT_A_REPLY, ConnectionError)) or not _ours(cause):
            return
        raise
    finally:
        _net._Connection = real  # type: ignore[misc]
    facts = Facts()
    onvif._RECORDERS[name](zeep.helpers.serialize_object(raw), facts)
    facts.items()


if __name__ == "__main__":
    main(one)
