"""ONVIF probe through onvif-zeep, with every call wrapped, bounded and sanitised.

Known traps with onvif-zeep against hostile devices: it raises on entity-expansion
payloads and passes escape characters through untouched, its requests transport has
only per-read timeouts, and it configures the root logger on import. So: every call is
wrapped (an exception becomes a failed call with a reason), every returned string goes
through :func:`camaudit.sanitize.clean_text`, all HTTP goes through the bounded reader of
:mod:`._net` (one deadline for the probe, a byte cap, replies with a DTD refused by
defusedxml before zeep sees them), and zeep never fetches anything from the network but
the device's own service address.

Without credentials only the ONVIF pre-authentication calls are made
(GetSystemDateAndTime, GetServices, GetCapabilities), with no security header at all.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import defusedxml.ElementTree as safe_xml
import requests
from defusedxml import DefusedXmlException
from requests.structures import CaseInsensitiveDict

from camaudit.attempt import AttemptStatus, Facts
from camaudit.fingerprint._attempt import describe, facts_for, status_of
from camaudit.fingerprint._net import Deadline, ReplyTooLarge, UnsafeXml, exchange
from camaudit.fingerprint.interface import Credentials, Probe, ProbeAttempt, ProbeTarget

__all__ = ["OnvifProbe"]

DEVICE_SERVICE_PATH = "/onvif/device_service"
DEVICE_NAMESPACE = "http://www.onvif.org/ver10/device/wsdl"
MAX_SOAP_BYTES = 512 * 1024
MAX_LIST_FACTS = 16
UNAUTHENTICATED_CALLS = ("GetSystemDateAndTime", "GetServices", "GetCapabilities")
AUTHENTICATED_CALLS = (
    "GetDeviceInformation",
    "GetNetworkInterfaces",
    "GetNTP",
    "GetDNS",
    "GetNetworkDefaultGateway",
    "GetNetworkProtocols",
)
_CALL_ARGUMENTS: dict[str, dict[str, Any]] = {
    "GetServices": {"IncludeCapability": False},
    "GetCapabilities": {"Category": "All"},
}


def _import_onvif() -> Any:
    """Import onvif-zeep without letting its ``logging.basicConfig`` take over the root logger."""
    root = logging.getLogger()
    guard = None
    if not root.handlers:
        guard = logging.NullHandler()
        root.addHandler(guard)  # basicConfig does nothing when the root has a handler
    try:
        import onvif

        _quiet_zeep()
        return onvif
    finally:
        if guard is not None:
            root.removeHandler(guard)


def _quiet_zeep() -> None:
    """Keep zeep's log records off the user's stderr.

    zeep logs a reply value it cannot convert (``<Year>20x6</Year>``) with the whole
    traceback and goes on with ``None``, which the recorders handle. With no handler set up,
    logging's last resort printed that traceback: a hostile reply is recorded, not printed.
    """
    zeep_log = logging.getLogger("zeep")
    if not zeep_log.handlers:
        zeep_log.addHandler(logging.NullHandler())
    zeep_log.propagate = False


def _wsdl_path(onvif_module: Any) -> str:
    """Where onvif-zeep installed its WSDL files (``site-packages/wsdl``)."""
    base = os.path.dirname(os.path.dirname(onvif_module.__file__))
    return os.path.join(base, "wsdl", "devicemgmt.wsdl")


def _make_transport(host: str, port: int, deadline: Deadline) -> Any:
    """A zeep transport that speaks only to ``host:port``, through the bounded reader."""
    from zeep.transports import Transport

    class BoundedTransport(Transport):
        def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> Any:
            url = urlparse(address)
            path = (url.path or DEVICE_SERVICE_PATH) + (f"?{url.query}" if url.query else "")
            body = message.encode("utf-8") if isinstance(message, str) else message
            # the device names its service address; we still only talk to the host we probe
            lines = [
                f"POST {path} HTTP/1.1",
                f"Host: {url.netloc or host}",
                "Connection: close",
                f"Content-Length: {len(body)}",
            ]
            lines += [f"{name}: {value}" for name, value in headers.items()]
            request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
            reply = exchange(host, port, request, deadline, max_bytes=MAX_SOAP_BYTES)
            if reply.truncated:
                raise ReplyTooLarge(f"reply larger than {MAX_SOAP_BYTES} bytes or cut short")
            _refuse_unsafe_xml(reply.body)
            response = requests.Response()
            response.status_code = reply.status
            response._content = reply.body
            response.headers = CaseInsensitiveDict(dict(reply.headers))
            response.encoding = "utf-8"
            response.url = address
            return response

        def get(self, address: str, params: Any, headers: Any) -> Any:
            raise ValueError("zeep asked for an HTTP GET; refused")

        def load(self, url: str) -> bytes:
            if urlparse(url).scheme not in ("", "file"):
                raise ValueError("zeep asked for a remote document; refused")
            return bytes(super().load(url))  # type: ignore[no-untyped-call]

    return BoundedTransport(timeout=1, operation_timeout=1)  # type: ignore[no-untyped-call]


def _settings() -> Any:
    import zeep

    untyped: Any = zeep
    return untyped.Settings(
        strict=False,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
    )


_WSDL_LOCK = threading.Lock()


def prepare() -> None:
    """Import onvif-zeep and parse the WSDL now, so that no probe's time limit pays for it.

    The first probes of a run used to parse it inside their device's time limit; with
    forty starting at once on a loaded machine every one of them timed out. Idempotent
    and cheap after the first call; a failure is left for the probe to report.
    """
    with contextlib.suppress(Exception):
        _wsdl_document(_wsdl_path(_import_onvif()))


def _wsdl_document(wsdl: str) -> Any:
    """The parsed device-service WSDL, once per process (parsing it costs ~90 ms of CPU).

    One thread parses, the others wait for its result: forty probe threads all parsing
    at once under the GIL each took seconds, and every ONVIF probe timed out.
    """
    with _WSDL_LOCK:
        return _parse_wsdl(wsdl)


@functools.lru_cache(maxsize=4)
def _parse_wsdl(wsdl: str) -> Any:
    """Loaded through the same refusing transport (local files only); zeep documents are
    read-only after loading, so the probe threads share it."""
    from zeep.wsdl import Document

    loader = _make_transport("127.0.0.1", 1, Deadline(5.0))
    return Document(wsdl, loader, settings=_settings())


def _refuse_unsafe_xml(body: bytes) -> None:
    try:
        safe_xml.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise UnsafeXml(f"reply refused: XML with {type(exc).__name__}") from None
    except Exception:  # not XML at all: zeep reports that itself
        return


def _root_cause(exc: BaseException) -> BaseException:
    """The exception onvif-zeep wrapped: it re-raises everything as ``ONVIFError``."""
    seen: set[int] = set()
    while type(exc).__name__ == "ONVIFError" and exc.__context__ is not None:
        if id(exc) in seen:
            break
        seen.add(id(exc))
        exc = exc.__context__
    return exc


def _walk(node: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """Every (field name, leaf value) of a serialised zeep object."""
    if isinstance(node, dict):
        for name, value in node.items():
            yield from _walk(value, str(name))
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _walk(value, key)
    else:
        yield key, node


def _values(node: Any, *names: str) -> list[str]:
    return [str(v) for k, v in _walk(node) if k in names and v not in (None, "")]


def _datetime_facts(result: Any, facts: Facts) -> None:
    result = _mapping(result)
    facts.add("onvif_datetime_type", result.get("DateTimeType"))
    utc = _mapping(result.get("UTCDateTime"))
    date = _mapping(utc.get("Date"))
    clock = _mapping(utc.get("Time"))
    raw = [date.get("Year"), date.get("Month"), date.get("Day")]
    raw += [clock.get("Hour"), clock.get("Minute"), clock.get("Second")]
    parts = [part for part in raw if isinstance(part, int)]
    if len(parts) == len(raw):
        facts.add("onvif_utc_time", "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*parts))
    facts.add("onvif_timezone", _mapping(result.get("TimeZone")).get("TZ"))


def _mapping(node: Any) -> dict[str, Any]:
    """``node`` if zeep gave a mapping; ``{}`` for a reply of another shape (it breaks the
    schema: zeep is not strict, so a list can come back as text or a dict)."""
    return node if isinstance(node, dict) else {}


def _records(node: Any) -> list[dict[str, Any]]:
    """The mappings of a list (at most ``MAX_LIST_FACTS``), as :func:`_mapping`."""
    return (
        [r for r in node if isinstance(r, dict)][:MAX_LIST_FACTS] if isinstance(node, list) else []
    )


def _services_facts(result: Any, facts: Facts) -> None:
    for service in _records(result):
        facts.add("onvif_service", f"{service.get('Namespace')} {service.get('XAddr')}")


def _capabilities_facts(result: Any, facts: Facts) -> None:
    result = _mapping(result)
    present = [name for name, value in result.items() if value and name != "_value_1"]
    facts.add("onvif_capabilities", ", ".join(present))
    system = _mapping(_mapping(result.get("Device")).get("System"))
    versions = _records(system.get("SupportedVersions"))
    facts.add("onvif_versions", ", ".join(f"{v.get('Major')}.{v.get('Minor')}" for v in versions))


def _device_information_facts(result: Any, facts: Facts) -> None:
    for field, key in (
        ("Manufacturer", "manufacturer"),
        ("Model", "model"),
        ("FirmwareVersion", "firmware"),
        ("SerialNumber", "serial"),
        ("HardwareId", "hardware_id"),
    ):
        facts.add(key, _mapping(result).get(field))


def _interfaces_facts(result: Any, facts: Facts) -> None:
    for mac in _values(result, "HwAddress")[:MAX_LIST_FACTS]:
        facts.add("mac", mac)
    for address in _values(result, "Address")[:MAX_LIST_FACTS]:
        facts.add("ipv4", address)


def _hosts_facts(key: str) -> Callable[[Any, Facts], None]:
    def record(result: Any, facts: Facts) -> None:
        if isinstance(result, dict) and result.get("FromDHCP") is not None:
            facts.add(f"{key}_from_dhcp", str(result.get("FromDHCP")).lower())
        for value in _values(result, "IPv4Address", "IPv6Address", "DNSname")[:MAX_LIST_FACTS]:
            facts.add(key, value)

    return record


def _protocols_facts(result: Any, facts: Facts) -> None:
    for protocol in _records(result):
        ports = ",".join(str(p) for p in protocol.get("Port") or [])
        state = "enabled" if protocol.get("Enabled") else "disabled"
        facts.add("protocol", f"{protocol.get('Name')} {state} {ports}".strip())


_RECORDERS: dict[str, Callable[[Any, Facts], None]] = {
    "GetSystemDateAndTime": _datetime_facts,
    "GetServices": _services_facts,
    "GetCapabilities": _capabilities_facts,
    "GetDeviceInformation": _device_information_facts,
    "GetNetworkInterfaces": _interfaces_facts,
    "GetNTP": _hosts_facts("ntp"),
    "GetDNS": _hosts_facts("dns"),
    "GetNetworkDefaultGateway": _hosts_facts("gateway"),
    "GetNetworkProtocols": _protocols_facts,
}


class OnvifProbe(Probe):
    """Asks the ONVIF device service; with credentials, its identity and network settings."""

    name = "onvif"

    @staticmethod
    def _service(target: ProbeTarget, deadline: Deadline, credentials: Credentials | None) -> Any:
        onvif = _import_onvif()
        import zeep
        import zeep.wsse.username

        untyped: Any = zeep  # zeep's annotations are partial: treat it as untyped
        Client = untyped.Client
        UsernameToken: Any = zeep.wsse.username.UsernameToken

        settings = _settings()
        wsse = (
            UsernameToken(credentials.username, credentials.password, use_digest=True)
            if credentials is not None
            else None
        )
        transport = _make_transport(target.host, target.port, deadline)
        wsdl = _wsdl_path(onvif)
        client = Client(_wsdl_document(wsdl), wsse=wsse, transport=transport, settings=settings)
        host = f"[{target.host}]" if ":" in target.host else target.host
        xaddr = f"http://{host}:{target.port}{DEVICE_SERVICE_PATH}"
        binding = f"{{{DEVICE_NAMESPACE}}}DeviceBinding"
        return onvif.ONVIFService(xaddr, "", "", wsdl, zeep_client=client, binding_name=binding)

    @staticmethod
    def _call(
        service: Any, name: str, facts: Facts, credentials: Credentials | None
    ) -> BaseException | None:
        """Make one call and record its facts; the exception (unwrapped) if it failed."""
        import zeep.helpers

        serialize_object: Any = zeep.helpers.serialize_object

        try:
            raw = getattr(service, name)(_CALL_ARGUMENTS.get(name))
            _RECORDERS[name](serialize_object(raw), facts)
        except Exception as exc:  # every onvif-zeep call may raise anything: record it
            cause = _root_cause(exc)
            facts.add(f"onvif_call:{name}", f"failed: {describe(cause, credentials)}")
            return cause
        facts.add(f"onvif_call:{name}", "ok")
        return None

    def run(self, target: ProbeTarget) -> ProbeAttempt:
        """The pre-authentication calls, then (with credentials) the identity and network ones."""
        started = time.monotonic()
        probe = f"{self.name}:{target.port}"
        prepare()  # local work (imports, the WSDL parse): not the device's time
        deadline = Deadline(target.timeout)
        credentials = target.credentials
        facts = facts_for(credentials)
        failures: list[BaseException] = []
        try:
            anonymous = self._service(target, deadline, None)
            for name in UNAUTHENTICATED_CALLS:
                failure = self._call(anonymous, name, facts, None)
                if failure is not None:
                    failures.append(failure)
                    if status_of(failure) != AttemptStatus.ERROR:
                        break  # closed or silent: the other calls would fare no better
            if credentials is not None and len(failures) < len(UNAUTHENTICATED_CALLS):
                signed = self._service(target, deadline, credentials)
                for name in AUTHENTICATED_CALLS:
                    if deadline.remaining() <= 0:
                        facts.add(f"onvif_call:{name}", "skipped: time limit")
                        continue
                    self._call(signed, name, facts, credentials)
        except Exception as exc:  # WSDL or client set-up failed: still an attempt
            failures.append(_root_cause(exc))
            facts.add("onvif_setup", f"failed: {describe(failures[-1], credentials)}")
        answered = any(
            value == "ok" for key, value in facts.items() if key.startswith("onvif_call:")
        )
        if answered:
            status, error = AttemptStatus.COMPLETED, None
        else:
            first = failures[0] if failures else RuntimeError("no ONVIF call was made")
            status, error = status_of(first), describe(first, credentials)
        return ProbeAttempt(
            probe, target.host, status, facts.items(), error, time.monotonic() - started
        )
