"""One exception tree; every error carries a one-line message for the user."""

from __future__ import annotations

from camaudit import exitcodes


class CamauditError(Exception):
    """Base of every error camaudit raises on purpose.

    ``str(error)`` is a single line fit for stderr; ``exit_code`` is what the CLI returns.
    """

    exit_code: int = exitcodes.INPUT_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class UsageError(CamauditError):
    """The command line itself is wrong (bad CIDR, unknown format ...)."""

    exit_code = exitcodes.USAGE


class InputError(CamauditError):
    """A capture cannot be read at all (missing, unreadable, not a capture, empty)."""


class ProfileError(CamauditError):
    """A profile or policy file is invalid; the message lists every error with file and field."""

    def __init__(self, path: str, errors: list[str]) -> None:
        self.path = path
        self.errors = tuple(errors)
        shown = "; ".join(errors[:20])
        more = f"; and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{path}: {len(errors)} error(s): {shown}{more}")


class PolicyError(ProfileError):
    """A policy file is invalid."""


class OutputError(CamauditError):
    """The report cannot be written (no such directory, no permission, disk full ...)."""

    def __init__(self, where: str, error: OSError) -> None:
        super().__init__(f"{where}: cannot write the report: {error.strerror or error}")
