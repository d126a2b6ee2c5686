"""Where a report goes: never over the evidence, never half-written.

A report written over an input capture destroys the evidence it cites (its SHA-256 in
the report no longer matches anything), so an output path that is an input, or lies
inside an input directory, is refused. Files are written to a temporary file in the
same directory and moved into place, so a reader sees the old report or the new one,
never a torn one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from camaudit.errors import OutputError, UsageError

__all__ = ["refuse_evidence_as_output", "write_report"]


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def refuse_evidence_as_output(output: Path, inputs: Iterable[Path], role: str = "input") -> None:
    """Raise :class:`UsageError` when writing ``output`` could touch one of ``inputs``.

    An input file is matched by identity (``samefile``: hard links and symlinks too)
    and by resolved path; an input directory matches every path inside it, since a
    report there would be read back as part of the evidence or replace a file of it.
    """
    target = _real(output)
    for item in inputs:
        real = _real(item)
        same = target == real
        if not same and output.exists() and item.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(output, item)
        inside = real.is_dir() and target.is_relative_to(real)
        if same or inside:
            where = "is" if same else "lies inside"
            raise UsageError(
                f"--output {output} {where} the {role} {item}: the report would overwrite "
                "the evidence it cites; write it somewhere else"
            )


def write_report(output: Path | None, write: Callable[[TextIO], None]) -> None:
    """Call ``write`` on standard output, or on ``output`` replaced atomically.

    A device or pipe given as ``output`` (``/dev/stdout``, a FIFO) is written in
    place: only regular files are replaced. Failures raise :class:`OutputError`
    naming the path and the reason.
    """
    if output is None:
        try:
            write(sys.stdout)
            sys.stdout.flush()
        except OSError as exc:
            raise OutputError("standard output", exc) from None
        return
    try:
        mode = os.stat(output).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(str(output), exc) from None
    try:
        if mode is not None and not stat.S_ISREG(mode):
            if stat.S_ISDIR(mode):
                raise IsADirectoryError(21, "Is a directory")
            with output.open("w", encoding="utf-8") as handle:
                write(handle)
            return
        _replace(_real(output), mode, write)
    except OSError as exc:
        raise OutputError(str(output), exc) from None


def _replace(target: Path, mode: int | None, write: Callable[[TextIO], None]) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file 0600; give it what open() would have (or the old mode).
        os.chmod(temporary, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
