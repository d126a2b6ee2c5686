"""The ``camaudit`` command: parses, calls the library, renders. No logic of its own."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

from camaudit import __version__, exitcodes
from camaudit.api import verify as run_verify
from camaudit.errors import CamauditError
from camaudit.report.build import write_json
from camaudit.report.console import render
from camaudit.sanitize import clean_text
from camaudit.traffic.live import capture_live

app = typer.Typer(
    name="camaudit",
    help="Audit the network isolation of IP surveillance cameras.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

PROGRESS_FROM_BYTES = 32 << 20


class OutputFormat(StrEnum):
    """Report formats."""

    console = "console"
    json = "json"


def _fail(message: str, code: int) -> typer.Exit:
    sys.stderr.write(f"camaudit: error: {clean_text(message, 2000)}\n")
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"camaudit {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """camaudit: turn a "closed network" claim into evidence."""


@app.command()
def verify(
    captures: Annotated[
        list[Path] | None,
        typer.Argument(
            help="pcap / pcapng files (gzip'd too) or directories of them; read in time order.",
            show_default=False,
        ),
    ] = None,
    closed_network: Annotated[
        list[str] | None,
        typer.Option(
            "--closed-network",
            "-n",
            metavar="CIDR",
            help="A range that is inside the closed network (repeat). Replaces the policy's list; "
            "default: RFC 1918, 100.64/10, link-local, ULA.",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            "-p",
            help="Policy TOML: closed network, allowed services, exceptions, fail_on.",
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Report format.")
    ] = OutputFormat.console,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report here instead of standard output."),
    ] = None,
    live: Annotated[
        str | None,
        typer.Option(
            "--live",
            metavar="INTERFACE",
            help="Record this interface (dumpcap/tcpdump) instead of reading files.",
        ),
    ] = None,
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds to record with --live.")
    ] = 60.0,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            help="Where --live keeps its capture (the evidence the report cites); "
            "default ./camaudit-live-<time>.pcapng.",
        ),
    ] = None,
    profiles: Annotated[
        Path | None,
        typer.Option(
            "--profiles",
            help="Directory of vendor profiles (default: the bundled ones).",
            hidden=True,
        ),
    ] = None,
) -> None:
    """Prove or refute "closed network" from packet captures.

    Exit codes: 0 isolated, 1 not isolated (or attempts, when the policy fails on
    attempts), 2 usage, 3 unreadable input, 4 inconclusive.
    """
    err = Console(stderr=True)
    if bool(captures) == bool(live):
        raise _fail("give capture files, or --live INTERFACE (not both)", exitcodes.USAGE)
    try:
        if live:
            target = save or Path(f"camaudit-live-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.pcapng")
            err.print(
                f"camaudit: recording {clean_text(live)} for {duration:g} s into "
                f"{clean_text(str(target))}",
                markup=False,
                highlight=False,
            )
            captures = [capture_live(live, duration, target)]
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("reading captures", total=None, visible=False)

            def progress(done: int, total: int) -> None:
                if total >= PROGRESS_FROM_BYTES:
                    bar.update(task, completed=done, total=total, visible=True)

            result = run_verify(captures or [], closed_network or (), policy, profiles, progress)
    except CamauditError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except KeyboardInterrupt:
        raise _fail("interrupted", exitcodes.INPUT_ERROR) from None
    except MemoryError:
        raise _fail("out of memory", exitcodes.INPUT_ERROR) from None
    report = result.report
    code = int(report["exit_code"])
    try:
        if output_format == OutputFormat.json:
            if output is None:
                write_json(report, sys.stdout)
            else:
                with output.open("w", encoding="utf-8") as handle:
                    write_json(report, handle)
        elif output is None:
            render(report, Console())
        else:
            with output.open("w", encoding="utf-8") as handle:
                render(report, Console(file=handle, width=160, no_color=True))
    except OSError as exc:
        raise _fail(
            f"{output}: cannot write the report: {exc.strerror}", exitcodes.INPUT_ERROR
        ) from None
    if output is not None:
        err.print(
            f"camaudit: verdict {report['verdict']} (exit {code}); report written to "
            f"{clean_text(str(output))}",
            markup=False,
            highlight=False,
        )
    raise typer.Exit(code)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except CamauditError as exc:  # pragma: no cover - every command catches its own
        sys.stderr.write(f"camaudit: error: {exc}\n")
        sys.exit(exc.exit_code)
