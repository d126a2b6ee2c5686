"""Discovery methods by name: ``arp``, ``wsdiscovery``, ``sadp``, ``dhip``, ``nmap``."""

from __future__ import annotations

from camaudit.discover._udp import UdpDiscovery
from camaudit.discover.arp import ArpSweep
from camaudit.discover.dhip import DhipSearch
from camaudit.discover.interface import DiscoveryMethod
from camaudit.discover.nmapscan import NmapServiceScan
from camaudit.discover.sadp import SadpInquiry
from camaudit.discover.wsdiscovery import WsDiscovery
from camaudit.errors import UsageError

#: Each class takes ``allow_public`` (refusing public targets by default).
METHODS: dict[str, type[ArpSweep] | type[UdpDiscovery] | type[NmapServiceScan]] = {
    "arp": ArpSweep,
    "wsdiscovery": WsDiscovery,
    "sadp": SadpInquiry,
    "dhip": DhipSearch,
    "nmap": NmapServiceScan,
}
DEFAULT_METHODS = tuple(METHODS)


def create(name: str, allow_public: bool = False) -> DiscoveryMethod:
    """A method instance by name; :class:`UsageError` naming the known ones otherwise."""
    method_class = METHODS.get(name)
    if method_class is None:
        raise UsageError(f"unknown discovery method {name!r}; known: {', '.join(METHODS)}")
    return method_class(allow_public=allow_public)
