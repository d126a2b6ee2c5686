"""camaudit: audit the network isolation of IP surveillance cameras.

The library is the product; the ``camaudit`` command is a thin layer on top.
``camaudit.verify`` is imported on first use so that ``import camaudit`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from camaudit.api import ScanResult, VerifyResult, identify, scan, verify

__all__ = ["ScanResult", "VerifyResult", "__version__", "identify", "scan", "verify"]


def __getattr__(name: str) -> Any:
    if name in ("verify", "VerifyResult", "scan", "identify", "ScanResult"):
        from camaudit import api

        return getattr(api, name)
    raise AttributeError(f"module 'camaudit' has no attribute {name!r}")
