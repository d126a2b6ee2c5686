"""An ONVIF SOAP reply (the whole HTTP reply) through the probe's bounded transport, the
defusedxml check, zeep, and the fact recorder of the call the first byte picks.

The probe records any failure of a call as that call's outcome; here only zeep's and lxml's
documented errors count as "not a reply": anything else, or a recorder failing on what zeep
returned, is a crash.
"""

from __future__ import annotations

from _harness import EXPECTED, instrumented, main
from fuzz_http import Wire

with instrumented():
    from camaudit.attempt import Facts
    from camaudit.fingerprint import _net, onvif
    from camaudit.fingerprint.interface import ProbeTarget

import lxml.etree
import zeep.exceptions
import zeep.helpers

CALLS = (*onvif.UNAUTHENTICATED_CALLS, *onvif.AUTHENTICATED_CALLS)
SERVICE = onvif.OnvifProbe._service(ProbeTarget("192.0.2.1", 80), _net.Deadline(1e9), None)
NOT_A_REPLY = (*EXPECTED, zeep.exceptions.Error, lxml.etree.LxmlError)


def one(data: bytes) -> None:
    name = CALLS[data[0] % len(CALLS)] if data else CALLS[0]
    real = _net._Connection
    _net._Connection = lambda *_args: Wire(data[1:])  # type: ignore[assignment,misc]
    try:
        raw = getattr(SERVICE, name)(onvif._CALL_ARGUMENTS.get(name))
    except Exception as exc:  # onvif-zeep wraps every failure in ONVIFError
        cause = onvif._root_cause(exc)
        if isinstance(cause, (*NOT_A_REPLY, ConnectionError)):
            return
        raise
    finally:
        _net._Connection = real  # type: ignore[misc]
    facts = Facts()
    onvif._RECORDERS[name](zeep.helpers.serialize_object(raw), facts)
    facts.items()


if __name__ == "__main__":
    main(one)
