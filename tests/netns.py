"""What the tests that build network namespaces share: the root check and the command line.

Without root a namespace test is skipped on a workstation and fails on CI, where root is
part of the contract (a skipped lab test there would hide a regression).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.command import CAMAUDIT

__all__ = ["CAMAUDIT", "SEGMENT_DISCOVERY", "need_root"]
# discovery of the lab segment from the scanner namespace, as a user types it
SEGMENT_DISCOVERY = [
    "--interface",
    "eth0",
    "--target",
    "10.66.0.0/24",
    "--methods",
    "arp,wsdiscovery,sadp,dhip",
    "--timeout",
    "2",
]


def need_root(what: str, *tools: str) -> None:
    """Skip (fail on CI) unless root; skip when one of ``tools`` is not installed."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail(f"{what} needs root")
        pytest.skip(f"{what} needs root")
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
