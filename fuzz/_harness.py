"""What every fuzz target shares: the crash rule, the instrumented import, the run.

A target is a module ``fuzz_<name>.py`` with one function ``one(data: bytes) -> None`` that
hands the bytes to one parser. Raising one of the project's own error types (camaudit/errors.py
and the few reply errors the probes define, listed in :data:`EXPECTED`) is a parser saying
"not this"; any other exception is a crash, and a run longer than libFuzzer's ``-timeout`` is
a hang. ``python fuzz/fuzz_<name>.py [libFuzzer flags] [corpus dirs]`` runs one target;
``fuzz/run.py`` runs them all (``make fuzz SECONDS=…``).
"""

from __future__ import annotations

import contextlib
import dis
import operator
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import atheris  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python fuzz/fuzz_x.py` from a checkout
    sys.path.insert(0, str(ROOT))

# atheris's native comparison tracer leaks a reference when a traced comparison is between
# numpy arrays (or scalars): the capture targets, whose decoder compares whole columns,
# grew ~3 KB per input until libFuzzer's 2 GB limit stopped them near 450,000 executions.
# Such comparisons are done here without the tracer (they hold no bytes libFuzzer could learn
# from; the branches they lead to still count as coverage); every other one goes to atheris.
# atheris.Fuzz installs libFuzzer's tracer in place of the first one: each run checks.
_SHIFT = 5 if sys.version_info >= (3, 13) else 4 if sys.version_info >= (3, 12) else 0
_OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
}


def _without_numpy(native: Callable[..., Any]) -> Callable[..., Any]:
    """atheris's ``_trace_cmp`` that leaves comparisons of numpy values out."""

    def trace_cmp(obj1: Any, obj2: Any, opid: int, counter: int, is_const: bool) -> Any:
        if type(obj1).__module__ == "numpy" or type(obj2).__module__ == "numpy":
            return _OPERATORS[dis.cmp_op[opid >> _SHIFT]](obj1, obj2)
        return native(obj1, obj2, opid, counter, is_const)

    trace_cmp.without_numpy = True  # type: ignore[attr-defined]
    return trace_cmp


def _trace_numpy_apart() -> None:
    if not getattr(atheris._trace_cmp, "without_numpy", False):
        atheris._trace_cmp = _without_numpy(atheris._trace_cmp)


_trace_numpy_apart()

with atheris.instrument_imports(include=["camaudit"]):
    from camaudit.discover._common import ReplyError
    from camaudit.errors import CamauditError
    from camaudit.fingerprint._net import NotAReply, ReplyTooLarge, UnsafeXml


def instrumented() -> contextlib.AbstractContextManager[None]:
    """Import camaudit's modules inside this block: atheris adds coverage to their code."""
    return atheris.instrument_imports(include=["camaudit"])  # type: ignore[no-any-return]


# The project's own "this input is not valid" errors: raising one is the parser working.
EXPECTED: tuple[type[BaseException], ...] = (
    CamauditError,
    ReplyError,
    NotAReply,
    UnsafeXml,
    ReplyTooLarge,
)

# One scratch directory per process, in memory when the machine has /dev/shm. libFuzzer ends
# the process without running atexit handlers: the next run removes what dead ones left.
_SHM = Path("/dev/shm")  # noqa: S108  (a per-process directory named by pid)
_BASE = _SHM if _SHM.is_dir() else Path(tempfile.gettempdir())
SCRATCH = _BASE / f"camaudit-fuzz-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


for _old in _BASE.glob("camaudit-fuzz-*"):
    _pid = _old.name.rsplit("-", 1)[-1]
    if _pid.isdigit() and not _alive(int(_pid)):
        shutil.rmtree(_old, ignore_errors=True)
SCRATCH.mkdir(exist_ok=True)


@contextlib.contextmanager
def as_file(data: bytes, name: str = "input") -> Iterator[Path]:
    """``data`` as a file of that name in the scratch directory (parsers that read paths)."""
    path = SCRATCH / name
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


class InlineExecutor:
    """A ``ThreadPoolExecutor`` that runs each call at once, in the calling thread.

    capfile hashes what it reads in a worker thread (free on two cores for a large file);
    for a fuzz input of a few KB, starting and joining that thread was the larger part of
    every run. The hash and its result are the same either way; targets that read captures
    install it with :func:`hash_inline`.
    """

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        pass

    def submit(self, fn: Callable[..., object], /, *args: object) -> Future[object]:
        done: Future[object] = Future()
        done.set_result(fn(*args))
        return done

    def shutdown(self, wait: bool = True) -> None:
        pass


def hash_inline() -> None:
    """Make camaudit.traffic.capfile hash in the calling thread (see :class:`InlineExecutor`)."""
    from camaudit.traffic import capfile

    capfile.ThreadPoolExecutor = InlineExecutor  # type: ignore[attr-defined,assignment]


def checked(one: Callable[[bytes], None]) -> Callable[[bytes], None]:
    """``one`` with the project's own errors swallowed: anything else reaches libFuzzer."""

    def run(data: bytes) -> None:
        _trace_numpy_apart()
        with contextlib.suppress(*EXPECTED):
            one(data)

    return run


def facts_of(parse: Callable[[bytes], tuple[Any, Any] | None]) -> Callable[[bytes], None]:
    """A target for a discovery reply reader: ``(facts, mac)`` or ``None``, every fact read."""

    def one(data: bytes) -> None:
        parsed = parse(data)
        if parsed is not None:
            parsed[0].items()

    return one


def main(one: Callable[[bytes], None]) -> None:
    """Fuzz ``one`` with libFuzzer's command line (``sys.argv``)."""
    atheris.Setup(sys.argv, checked(one))
    atheris.Fuzz()
