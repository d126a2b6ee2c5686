"""Trust on first use for device certificates, as ssh does with ``known_hosts``.

Cameras present self-signed certificates, so a CA check proves nothing; what can be
checked is that a device presents the same certificate as the first time it was seen.
The first SHA-256 (of the leaf certificate's DER) seen for ``host port`` is kept in a
file in the user's state directory; a different one later is a warning, and the user's
credentials are then not sent to that device. A changed pin is never overwritten: the
user removes the line once the change is understood (as with ssh).

File format, one pin a line: ``<address> <port> sha256:<hex>``; ``#`` starts a comment.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Mapping
from pathlib import Path

from camaudit.errors import InputError

__all__ = ["ENV_KNOWN_HOSTS", "KnownHosts", "default_known_hosts_path"]

ENV_KNOWN_HOSTS = "CAMAUDIT_KNOWN_HOSTS"
MAX_FILE_BYTES = 4 << 20


def default_known_hosts_path(env: Mapping[str, str]) -> Path:
    """``$CAMAUDIT_KNOWN_HOSTS``, else ``$XDG_STATE_HOME/camaudit/known_hosts``, else
    ``~/.local/state/camaudit/known_hosts``."""
    override = env.get(ENV_KNOWN_HOSTS, "").strip()
    if override:
        return Path(override)
    state = env.get("XDG_STATE_HOME", "").strip() or str(Path.home() / ".local" / "state")
    return Path(state) / "camaudit" / "known_hosts"


def _key(host: str, port: int) -> tuple[str, int]:
    return str(ipaddress.ip_address(host)), port


class KnownHosts:
    """The pinned certificates of one file; safe to share between probe threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pins: dict[tuple[str, int], str] = {}
        self._added: dict[tuple[str, int], str] = {}
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise InputError(
                    f"known hosts file {self.path}: larger than {MAX_FILE_BYTES} bytes"
                )
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"known hosts file {self.path}: cannot read it ({exc})") from None
        for number, line in enumerate(text.splitlines(), 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            try:
                host, port, pin = fields
                algorithm, _, digest = pin.partition(":")
                int(digest, 16)
                if algorithm != "sha256" or len(digest) != 64:
                    raise ValueError(pin)
                self._pins[_key(host, int(port))] = digest.lower()
            except ValueError:
                raise InputError(
                    f"known hosts file {self.path}, line {number}: expected "
                    "'<address> <port> sha256:<64 hex digits>'"
                ) from None

    def pinned(self, host: str, port: int) -> str | None:
        """The SHA-256 first seen for ``host:port``; ``None`` if it was never seen."""
        with self._lock:
            return self._pins.get(_key(host, port))

    def remember(self, host: str, port: int, sha256: str) -> str | None:
        """Pin ``sha256`` if ``host:port`` has no pin yet; the earlier pin if it differs."""
        key = _key(host, port)
        with self._lock:
            known = self._pins.get(key)
            if known is None:
                self._pins[key] = self._added[key] = sha256.lower()
                return None
            return known if known != sha256.lower() else None

    def save(self) -> None:
        """Append the pins first seen in this run (parent made private; nothing if none)."""
        with self._lock:
            added, self._added = dict(self._added), {}
        if not added:
            return
        lines = "".join(f"{host} {port} sha256:{pin}\n" for (host, port), pin in added.items())
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                handle.write(lines)
        except OSError as exc:
            raise InputError(f"known hosts file {self.path}: cannot write it ({exc})") from None
