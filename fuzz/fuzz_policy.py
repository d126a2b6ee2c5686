"""A policy file (TOML) through its loader and validator."""

from __future__ import annotations

from _harness import as_file, instrumented, main

with instrumented():
    from camaudit.policy.load import load_policy


def one(data: bytes) -> None:
    with as_file(data, "policy.toml") as path:
        load_policy(path)


if __name__ == "__main__":
    main(one)
