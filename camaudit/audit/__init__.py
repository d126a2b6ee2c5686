"""``camaudit audit``: discover, fingerprint, record or read traffic, one verdict per device."""

from camaudit.audit.devices import build_audit_report
from camaudit.audit.durations import parse_duration

__all__ = ["build_audit_report", "parse_duration"]
