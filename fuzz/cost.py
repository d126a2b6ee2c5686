"""CPU time per input of a fuzz target, without libFuzzer: where does a slow target's time go?

``python fuzz/cost.py [--plain] [--profile] target [corpus dir ...]`` runs the target's
``one(data)`` over its seeds (or the given corpus directories) in a plain loop and prints the
CPU time per input, best of three. ``--plain`` imports camaudit without atheris's coverage
instrumentation, to see what the instrumentation adds; ``--profile`` prints cProfile's top
functions (cumulative) of one more pass. A per-input cost that is not the parser's work on
the bytes (a file written, a request built, a table loaded) shows up here as a fixed share.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
PASSES = 3


def seeds(target: str, dirs: list[str], max_len: int) -> list[bytes]:
    folders = [Path(d) for d in dirs] or [FUZZ / "corpus" / target]
    return [f.read_bytes()[:max_len] for d in folders for f in sorted(d.iterdir()) if f.is_file()]


def per_input(one: Callable[[bytes], None], inputs: list[bytes], repeat: int) -> float:
    """Best-of-:data:`PASSES` CPU seconds per input over ``repeat`` passes of ``inputs``."""
    best = float("inf")
    for _ in range(PASSES):
        start = time.process_time()
        for _ in range(repeat):
            for data in inputs:
                one(data)
        best = min(best, (time.process_time() - start) / (repeat * len(inputs)))
    return best


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="without coverage instrumentation")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("target")
    parser.add_argument("corpus", nargs="*", help="default: fuzz/corpus/<target>")
    args = parser.parse_args(argv)
    if args.plain:
        import atheris  # type: ignore[import-untyped]

        atheris.instrument_imports = lambda **_kwargs: contextlib.nullcontext()
    sys.path.insert(0, str(FUZZ))
    from run import MAX_LEN

    module = importlib.import_module(f"fuzz_{args.target}")
    from _harness import checked

    one = checked(module.one)
    inputs = seeds(args.target, args.corpus, MAX_LEN.get(args.target, 4096))
    if not inputs:
        parser.error("no inputs")
    repeat = max(1, 300 // len(inputs))
    for data in inputs:  # once first: lazy imports and caches are not a per-input cost
        one(data)
    cost = per_input(one, inputs, repeat)
    mode = "plain" if args.plain else "instrumented"
    print(f"{args.target} ({mode}): {cost * 1e6:.0f} µs CPU per input, {len(inputs)} inputs")
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(per_input, one, inputs, 1)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
