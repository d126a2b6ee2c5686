"""The representative reports the renderer tests share, made once per test session."""

from __future__ import annotations

import pytest

from camaudit.report.model import AuditReport, InventoryReport, VerifyReport
from tests.report.reports import fake_camera_inventory, golden_audit, golden_verify


@pytest.fixture(scope="session")
def crossing() -> VerifyReport:
    """A verify report with a crossing and findings (pcaps/tls-established)."""
    return golden_verify("tls-established")


@pytest.fixture(scope="session")
def attempts() -> VerifyReport:
    """A verify report with attempts only (pcaps/dns-nxdomain)."""
    return golden_verify("dns-nxdomain")


@pytest.fixture(scope="session")
def inventory() -> InventoryReport:
    """The inventory of the fake Hikvision camera (lab/devices hik-ipc)."""
    return fake_camera_inventory()


@pytest.fixture(scope="session")
def audit() -> AuditReport:
    """The audit of the lab segment (tests/report/reports.golden_audit)."""
    return golden_audit()
