"""camaudit: audit the network isolation of IP surveillance cameras.

The library is the product; the ``camaudit`` command is a thin layer on top.
``camaudit.verify`` is imported on first use so that ``import camaudit`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from camaudit.api import VerifyResult, verify

__all__ = ["VerifyResult", "__version__", "verify"]


def __getattr__(name: str) -> Any:
    if name in ("verify", "VerifyResult"):
        from camaudit import api

        return getattr(api, name)
    raise AttributeError(f"module 'camaudit' has no attribute {name!r}")
