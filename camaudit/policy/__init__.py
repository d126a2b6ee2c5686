"""The audit policy: the closed network, the audited devices, and what may go out."""

from __future__ import annotations

from camaudit.policy.load import (
    DEFAULT_CLOSED_NETWORK,
    FAIL_ON,
    Policy,
    ServiceRule,
    load_policy,
)

__all__ = ["DEFAULT_CLOSED_NETWORK", "FAIL_ON", "Policy", "ServiceRule", "load_policy"]
