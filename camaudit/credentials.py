"""Device credentials from the environment, a private file or a prompt — never argv.

The password is never logged, never put in an exception message and never shown by
:class:`~camaudit.fingerprint.interface.Credentials` (its ``repr`` hides it). Error
messages name the file and the problem, never the file's content.
"""

from __future__ import annotations

import getpass
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

from camaudit.errors import CamauditError
from camaudit.fingerprint.interface import Credentials

__all__ = [
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "CredentialsError",
    "load_credentials",
    "read_credentials_file",
]

ENV_USERNAME = "CAMAUDIT_USERNAME"
ENV_PASSWORD = "CAMAUDIT_PASSWORD"  # noqa: S105 (a variable name, not a password)
MAX_FILE_BYTES = 4096


class CredentialsError(CamauditError):
    """Credentials were asked for but cannot be used (file unsafe, unreadable, malformed)."""


def read_credentials_file(path: Path) -> Credentials:
    """``username = "..."`` / ``password = "..."`` (TOML) or one ``user:password`` line.

    Refuses a file that every user may read, since it holds a password.
    """
    shown = str(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise CredentialsError(
            f"credentials file {shown}: cannot read it ({exc.strerror})"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise CredentialsError(f"credentials file {shown}: not a regular file")
    if info.st_mode & stat.S_IROTH:
        raise CredentialsError(
            f"credentials file {shown} is readable by every user "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); make it private with: chmod 600 {shown}"
        )
    if info.st_size > MAX_FILE_BYTES:
        raise CredentialsError(f"credentials file {shown}: larger than {MAX_FILE_BYTES} bytes")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise CredentialsError(
            f"credentials file {shown}: cannot read it ({exc.strerror})"
        ) from None
    except UnicodeDecodeError:
        raise CredentialsError(f"credentials file {shown}: not UTF-8 text") from None
    return _parse(text, shown)


def _parse(text: str, shown: str) -> Credentials:
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    toml_key = re.match(r"^\s*(username|password)\s*=", lines[0]) if lines else None
    if len(lines) == 1 and toml_key is None and ":" in lines[0]:
        username, _, password = lines[0].strip().partition(":")
        return _checked(username, password, shown)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # tomllib's message may quote the line, which may hold the password
        raise CredentialsError(
            f"credentials file {shown}: expected 'username = \"...\"' and "
            f"'password = \"...\"' (TOML) or a single 'user:password' line"
        ) from None
    unknown = sorted(set(data) - {"username", "password"})
    if unknown:
        raise CredentialsError(f"credentials file {shown}: unknown keys {', '.join(unknown)}")
    name, secret = data.get("username"), data.get("password")
    if not isinstance(name, str) or not isinstance(secret, str):
        raise CredentialsError(
            f"credentials file {shown}: needs string values for both username and password"
        )
    return _checked(name, secret, shown)


def _checked(username: str, password: str, shown: str) -> Credentials:
    if not username.strip():
        raise CredentialsError(f"{shown}: the user name is empty")
    if not password:
        raise CredentialsError(f"{shown}: the password is empty")
    return Credentials(username=username.strip(), password=password)


def load_credentials(
    env: Mapping[str, str],
    file: Path | None,
    prompt: bool,
    *,
    ask: Callable[[str], str] = input,
    ask_secret: Callable[[str], str] = getpass.getpass,
) -> Credentials | None:
    """The user's credentials: from ``file`` if given, else the environment, else a prompt.

    ``None`` when none is configured and ``prompt`` is false. A user name in
    ``CAMAUDIT_USERNAME`` without ``CAMAUDIT_PASSWORD`` is completed by a password prompt
    when ``prompt`` is true; otherwise it is an error (a half-set pair is a mistake).
    """
    if file is not None:
        return read_credentials_file(file)
    username = env.get(ENV_USERNAME, "")
    password = env.get(ENV_PASSWORD, "")
    if username and password:
        return _checked(username, password, "environment")
    if password and not username:
        raise CredentialsError(f"{ENV_PASSWORD} is set but {ENV_USERNAME} is not")
    if not prompt:
        if username:
            raise CredentialsError(
                f"{ENV_USERNAME} is set but {ENV_PASSWORD} is not (and no prompt was allowed)"
            )
        return None
    try:
        if not username:
            username = ask("Device user name: ")
        password = ask_secret(f"Password for {username.strip()}: ")
    except (EOFError, KeyboardInterrupt):
        raise CredentialsError("no credentials entered at the prompt") from None
    return _checked(username, password, "prompt")
