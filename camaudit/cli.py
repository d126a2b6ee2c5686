"""The ``camaudit`` command: parses, calls the library, renders. No logic of its own."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO, TypeVar, get_type_hints

import typer

from camaudit import __version__, exitcodes
from camaudit.errors import CamauditError
from camaudit.report.output import refuse_evidence_as_output, write_report
from camaudit.sanitize import clean_text, shown_path

# Each command imports its own stage in its body: `verify` on a small capture must not pay
# for the probe stacks (onvif-zeep, requests, scapy), rich's progress bar or a renderer it
# does not use (tests/cli/test_startup.py keeps it so).
if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.progress import Progress, ProgressColumn

    from camaudit.api import VerifyResult
    from camaudit.audit.record import RecordStatus
    from camaudit.discover.interface import Target
    from camaudit.fingerprint.interface import Credentials, Fingerprint
    from camaudit.i18n import Translator
    from camaudit.report.model import AuditReport, InventoryReport, Report, VerifyReport
    from camaudit.report.register import RegisterRow

app = typer.Typer(
    name="camaudit",
    help="Audit the network isolation of IP surveillance cameras.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

PROGRESS_FROM_BYTES = 32 << 20


class OutputFormat(StrEnum):
    """Report formats (camaudit.report.render's registry)."""

    console = "console"
    json = "json"
    html = "html"
    markdown = "markdown"
    csv = "csv"
    sarif = "sarif"


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


# Options that several commands take, each with its own sentence: the names and the metavar
# are declared once here, the help says what the option means for that command.
def _closed_network(help: str) -> Any:
    return typer.Option("--closed-network", "-n", metavar="CIDR", help=help)


def _policy(help: str) -> Any:
    return typer.Option("--policy", "-p", help=help)


def _output(help: str) -> Any:
    return typer.Option("--output", "-o", help=help)


def _target(help: str) -> Any:
    return typer.Option("--target", "-t", metavar="CIDR", help=help)


def _interface(help: str) -> Any:
    return typer.Option("--interface", "-i", help=help)


def _budget(help: str) -> Any:
    return typer.Option("--budget", help=help)


def _duration(help: str) -> Any:
    """--duration TIME of the recording commands (verify --live takes seconds)."""
    return typer.Option("--duration", "-d", metavar="TIME", help=help)


def _record_dir(help: str) -> Any:
    return typer.Option("--record-dir", metavar="DIR", help=help)


def _rotate(help: str) -> Any:
    return typer.Option("--rotate", metavar="TIME", help=help)


def _evidence(help: str) -> Any:
    return typer.Option("--evidence", metavar="DIR", help=help)


FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        "-f",
        help="Report format: console, json (language-neutral codes), html, markdown, "
        "csv (the council's inventory table), sarif (2.1.0).",
    ),
]
OutputOption = Annotated[Path | None, _output("Write the report here instead of stdout.")]
LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        metavar="nl|en",
        help="Language of what camaudit writes for people (default: from LC_ALL / "
        "LC_MESSAGES / LANG: nl* gives nl, anything else en).",
    ),
]

ProfilesOption = Annotated[
    Path | None,
    typer.Option(
        "--profiles",
        help="Directory of vendor profiles (default: the bundled ones).",
        hidden=True,
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Write --evidence into a non-empty directory.")
]
TimestampOption = Annotated[
    bool,
    typer.Option(
        "--timestamp",
        help="Record the wall clock in the evidence pack (off: same inputs, same bytes).",
    ),
]
RegisterOption = Annotated[
    Path | None,
    typer.Option(
        "--register",
        metavar="FILE.csv",
        help="The council's camera register (CSV, ';' or ',': locatie/location, "
        "omschrijving/description, ip, mac, merk/make): report devices found but not "
        "registered, registered but not found, and makes that differ.",
    ),
]
PolicyAsVerify = Annotated[Path | None, _policy("Policy TOML, as for verify.")]
CredentialsFile = Annotated[
    Path | None,
    typer.Option(
        "--credentials-file",
        help="File with 'username = ...' / 'password = ...' (TOML) or 'user:password'; "
        "mode 600. Or set CAMAUDIT_USERNAME / CAMAUDIT_PASSWORD. Never on the command line.",
    ),
]
AskPassword = Annotated[
    bool, typer.Option("--ask-password", help="Prompt for the user name and password.")
]
ClosedNetworkOption = Annotated[
    list[str] | None,
    _closed_network(
        "Inside ranges: device NTP/DNS/gateway settings pointing elsewhere are reported "
        "(default: the same private ranges as verify; the report says so)."
    ),
]
AllowBasicAuth = Annotated[
    bool,
    typer.Option(
        "--allow-basic-auth",
        help="Also answer HTTP Basic challenges (off by default: Basic hands the password "
        "itself to whoever answers on the device's address, over HTTP or unverified TLS). "
        "Digest is always preferred.",
    ),
]
KnownHostsOption = Annotated[
    Path | None,
    typer.Option(
        "--known-hosts",
        metavar="FILE",
        help="Device TLS certificates pinned on first use; a changed one is warned about and "
        "gets no credentials. Default: $CAMAUDIT_KNOWN_HOSTS, else "
        "$XDG_STATE_HOME/camaudit/known_hosts, else ~/.local/state/camaudit/known_hosts.",
    ),
]
TimeoutOption = Annotated[
    float, typer.Option("--timeout", help="Seconds each probe / method may wait for replies.")
]
MethodsOption = Annotated[
    str | None,
    typer.Option("--methods", help="Comma-separated subset of: arp,wsdiscovery,sadp,dhip,nmap."),
]
PortsOption = Annotated[
    str | None,
    typer.Option(
        "--ports",
        help="Comma-separated TCP ports for the service scan (default: profiles/ports.toml).",
    ),
]
AllowPublicOption = Annotated[
    bool,
    typer.Option(
        "--allow-public",
        help="Allow probing public address space (refused by default: scanning networks "
        "you do not own is an attack).",
    ),
]


# Option groups: options that several commands take together and use alike, declared once as
# the fields of a frozen dataclass. A command takes the group as one keyword-only parameter;
# @_with_groups lays the fields out for typer in that place (the help lists them there) and
# hands the command the group built from them.
@dataclasses.dataclass(frozen=True)
class _DeviceLogin:
    """How the probes of discover, fingerprint and audit may log in to a device."""

    credentials_file: CredentialsFile = None
    ask_password: AskPassword = False
    allow_basic_auth: AllowBasicAuth = False
    known_hosts: KnownHostsOption = None

    def credentials(self) -> Credentials | None:
        """From CAMAUDIT_USERNAME/CAMAUDIT_PASSWORD, a file, or a prompt; never argv."""
        from camaudit.credentials import load_credentials

        if self.ask_password and not sys.stdin.isatty():
            raise _fail(
                "--ask-password needs a terminal; use a credentials file or "
                "CAMAUDIT_USERNAME/CAMAUDIT_PASSWORD",
                exitcodes.USAGE,
            )
        creds = load_credentials(os.environ, self.credentials_file, self.ask_password)
        if creds is None or not self.allow_basic_auth:
            return creds
        return dataclasses.replace(creds, allow_basic=True)

    def known_hosts_file(self) -> Path:
        from camaudit.fingerprint.known_hosts import default_known_hosts_path

        given = self.known_hosts
        return given if given is not None else default_known_hosts_path(os.environ)


@dataclasses.dataclass(frozen=True)
class _InventoryOutput:
    """How discover and fingerprint write their inventory report."""

    output_format: FormatOption = OutputFormat.console
    output: OutputOption = None
    register: RegisterOption = None
    lang: LangOption = None

    def emit(
        self,
        report: InventoryReport,
        book: tuple[Path, tuple[RegisterRow, ...], str] | None,
        t: Translator,
    ) -> None:
        _emit(_with_register(report, book), self.output_format, self.output, _console_inventory, t)


def _with_groups(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` as typer should see it: each option-group parameter laid out as the
    group's options, in its place; called with those options, it calls ``command`` with
    the groups built from them."""
    own = inspect.signature(command, eval_str=True).parameters.values()
    groups = {
        p.name: p.annotation
        for p in own
        if isinstance(p.annotation, type) and dataclasses.is_dataclass(p.annotation)
    }

    @functools.wraps(command)
    def with_groups_built(**options: Any) -> None:
        for name, group in groups.items():
            fields = dataclasses.fields(group)
            options[name] = group(**{field.name: options.pop(field.name) for field in fields})
        command(**options)

    # All keyword-only: typer calls with keywords, and defaulted options may then stand
    # before the group parameters, which have no default.
    laid_out: list[inspect.Parameter] = []
    for param in own:
        group = groups.get(param.name)
        if group is None:
            laid_out.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY))
            continue
        hints = get_type_hints(group, include_extras=True)
        laid_out += [
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=field.default,
                annotation=hints[field.name],
            )
            for field in dataclasses.fields(group)
        ]
    with_groups_built.__signature__ = inspect.Signature(laid_out)  # type: ignore[attr-defined]
    return with_groups_built


def _read_register(path: Path | None) -> tuple[Path, tuple[RegisterRow, ...], str] | None:
    """The register's rows, read before anything is sent so a bad file stops the run."""
    from camaudit.report.register import read_register

    return (path, *read_register(path)) if path is not None else None


Registered = TypeVar("Registered", "InventoryReport", "AuditReport")


def _with_register(
    report: Registered, register: tuple[Path, tuple[RegisterRow, ...], str] | None
) -> Registered:
    from camaudit.report.register import with_register

    if register is None:
        return report
    path, rows, sha256 = register
    return with_register(report, rows, str(path), sha256)


def _translator(lang: str | None) -> Translator:
    """The translator for --lang, or for the locale when it is not given."""
    from camaudit.i18n import default_language, translator

    return translator(lang if lang is not None else default_language(os.environ))


def _stderr() -> Console:
    """rich's console on stderr (imported on first use: it is not free to load)."""
    from rich.console import Console

    return Console(stderr=True)


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
        _closed_network(
            "A range that is inside the closed network (repeat). Replaces the policy's list; "
            "default: RFC 1918, 100.64/10, link-local, ULA."
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        _policy("Policy TOML: closed network, allowed services, exceptions, fail_on."),
    ] = None,
    output_format: FormatOption = OutputFormat.console,
    output: OutputOption = None,
    lang: LangOption = None,
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
    profiles: ProfilesOption = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="Processes reading the captures or Zeek conn logs (0: one per CPU core). "
            "The result is the "
            "same for every value.",
        ),
    ] = 0,
    evidence: Annotated[
        Path | None,
        _evidence(
            "Also write an evidence pack here: the frames behind the findings "
            "(evidence.pcapng), report.json and a manifest; check it with check-evidence."
        ),
    ] = None,
    force: ForceOption = False,
    timestamp: TimestampOption = False,
    zeek: Annotated[
        list[Path] | None,
        typer.Option(
            "--zeek",
            metavar="DIR",
            help="Read the Zeek logs (conn, dns, ssl, http, ntp; TSV or JSON, gzip'd, "
            "rotated) in this directory instead of captures (repeat).",
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="tcp://HOST:PORT",
            help="Read the captures (or Zeek conn logs) on this Dask cluster's workers "
            "instead of --jobs "
            "processes (pip install 'camaudit[cluster]'); every worker must be able to read "
            "the same paths. The result is the same.",
        ),
    ] = None,
) -> None:
    """Prove or refute "closed network" from packet captures.

    Exit codes: 0 isolated, 1 not isolated (or attempts, when the policy fails on
    attempts), 2 usage, 3 unreadable input or report not written, 4 inconclusive,
    70 internal error (a bug, never a verdict).
    """
    from camaudit.api import verify as run_verify

    err = _stderr()
    _check_format(output_format)
    if scheduler is not None:
        with _user_errors():
            from camaudit.traffic.cluster import check_address

            check_address(scheduler)
    if zeek:
        if captures or live or evidence is not None:
            raise _fail(
                "--zeek reads logs instead of captures: give no capture files, --live "
                "or --evidence with it",
                exitcodes.USAGE,
            )
        with _user_errors():
            t = _translator(lang)
            if output is not None:
                refuse_evidence_as_output(output, zeek)
            result = run_verify(
                [],
                closed_network or (),
                policy,
                profiles,
                zeek=zeek,
                jobs=jobs or os.cpu_count() or 1,
                scheduler=scheduler,
            )
        _finish_verify(result.report, output_format, output, t, err)
    if bool(captures) == bool(live):
        raise _fail("give capture files, or --live INTERFACE (not both)", exitcodes.USAGE)
    if evidence is not None and output is not None and _inside(output, evidence):
        raise _fail(
            f"--output {output} lies inside --evidence {evidence}: the pack holds only its "
            "own files; write the report elsewhere",
            exitcodes.USAGE,
        )
    with _user_errors():
        t = _translator(lang)
        if live:
            target = save or Path(f"camaudit-live-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.pcapng")
            if output is not None:
                refuse_evidence_as_output(output, [target], "--save capture")
            err.print(
                f"camaudit: recording {clean_text(live)} for {duration:g} s into "
                f"{shown_path(target)}",
                markup=False,
                highlight=False,
            )
            from camaudit.traffic.live import capture_live

            captures = [capture_live(live, duration, target)]
        elif output is not None:
            refuse_evidence_as_output(output, captures or [])
        if evidence is not None:
            from camaudit.evidence import refuse_evidence_dir

            refuse_evidence_dir(evidence, captures or [], force)
        with ExitStack() as bar:
            result = run_verify(
                captures or [],
                closed_network or (),
                policy,
                profiles,
                _bytes_bar(err, bar) if err.is_terminal else None,
                jobs=jobs or os.cpu_count() or 1,
                scheduler=scheduler,
            )
        if evidence is not None:
            _write_evidence(result, evidence, captures or [], policy, profiles, force, timestamp)
    _finish_verify(result.report, output_format, output, t, err)


def _bytes_bar(err: Console, stack: ExitStack) -> Callable[[int, int], None]:
    """A bar of the bytes read, shown once the captures are large enough to wait for."""
    from rich.progress import DownloadColumn, TimeRemainingColumn

    bar = stack.enter_context(_progress_bar(err, DownloadColumn(), TimeRemainingColumn()))
    task = bar.add_task("reading captures", total=None, visible=False)

    def progress(done: int, total: int) -> None:
        if total >= PROGRESS_FROM_BYTES:
            bar.update(task, completed=done, total=total, visible=True)

    return progress


def _finish_verify(
    report: VerifyReport,
    output_format: OutputFormat,
    output: Path | None,
    t: Translator,
    err: Console,
) -> NoReturn:
    """Render the verify report, say where it went, and exit with its code."""
    _emit(report, output_format, output, _console_verify, t)
    code = report.exit_code
    if output is not None:
        from camaudit.messages import VERDICT_NAMES

        verdict = t.gettext(VERDICT_NAMES[str(report.verdict)])
        summary = t.gettext(
            "verdict {verdict} (exit {code}); report written to {path}",
            verdict=verdict,
            code=code,
            path=shown_path(output),
        )
        err.print(
            f"camaudit: {summary}",
            markup=False,
            highlight=False,
        )
    raise typer.Exit(code)


@app.command()
def baseline(
    captures: Annotated[
        list[Path],
        typer.Argument(
            help="pcap / pcapng files (gzip'd too) or directories of them, of a network "
            "taken to be good.",
            show_default=False,
        ),
    ],
    closed_network: Annotated[
        list[str], _closed_network("A range that is inside the closed network (repeat; required).")
    ],
    output: Annotated[Path | None, _output("Write the policy here instead of stdout.")] = None,
    name: Annotated[str, typer.Option("--name", help="The policy's name.")] = "baseline",
    profiles: ProfilesOption = None,
) -> None:
    """Write a policy (TOML) from captures of a known-good network, to review, then enforce.

    Services seen inside become allow entries with a TODO reason. Traffic that left the
    closed network (or tried to) is never allowed: it is written as commented-out
    exceptions and warned about. Exit codes: 0 written, 2 usage, 3 input or output error.
    """
    from camaudit.api import baseline as run_baseline

    err = _stderr()
    with _user_errors():
        if output is not None:
            refuse_evidence_as_output(output, captures)
        result = run_baseline(captures, closed_network, profiles, name=name)

        def write(handle: TextIO) -> None:
            handle.write(result.policy_text)

        write_report(output, write)
    for warning in result.baseline.warnings:
        err.print(f"camaudit: warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    if output is not None:
        err.print(
            f"camaudit: policy written to {shown_path(output)}: review every entry "
            "and TODO before enforcing it with verify --policy",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    raise typer.Exit(0)


def _inside(path: Path, directory: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(directory))


def _write_evidence(
    result: VerifyResult,
    directory: Path,
    given: list[Path],
    policy: Path | None,
    profiles: Path | None,
    force: bool,
    timestamp: bool,
    report: AuditReport | None = None,
    creds: Credentials | None = None,
) -> None:
    from camaudit.evidence import write_evidence_pack
    from camaudit.fingerprint.interface import Credentials

    password = os.environ.get("CAMAUDIT_PASSWORD")
    if creds is None and password:
        creds = Credentials(os.environ.get("CAMAUDIT_USERNAME", ""), password)
    pack = write_evidence_pack(
        result,
        directory,
        ["camaudit", *sys.argv[1:]],
        policy=policy,
        profiles=profiles,
        credentials=creds,
        force=force,
        timestamp=datetime.now(UTC) if timestamp else None,
        given=given,
        report=report,
    )
    short = [f for f in pack.manifest.flows if f.copied_packets != f.expected_packets]
    _stderr().print(
        f"camaudit: evidence pack ({len(pack.manifest.packets)} packet(s)) written to "
        f"{shown_path(directory)}"
        + (f"; {len(short)} cited flow(s) not complete, see manifest.json" if short else ""),
        markup=False,
        highlight=False,
    )


@app.command("check-evidence")
def check_evidence(
    directory: Annotated[Path, typer.Argument(help="An evidence pack written by --evidence.")],
    captures: Annotated[
        list[Path] | None,
        typer.Option(
            "--captures",
            help="Where the input captures are now, if not at their recorded paths (repeat).",
        ),
    ] = None,
) -> None:
    """Re-check an evidence pack: hashes of the pack and of the inputs, and every packet.

    One line per check, then OK or FAILED. Exit codes: 0 ok, 1 a check failed,
    3 the pack cannot be read.
    """
    from camaudit.evidence import CheckStatus
    from camaudit.evidence import check_evidence as run_check

    with _user_errors():
        checks = run_check(directory, captures or ())
    for check in checks:
        print(clean_text(f"{check.status.value:<11} {check.what}: {check.detail}", 2000))
    failed = sum(1 for c in checks if c.status == CheckStatus.FAILED)
    incomplete = sum(1 for c in checks if c.status == CheckStatus.INCOMPLETE)
    note = f" ({incomplete} flow(s) incomplete, see above)" if incomplete else ""
    print(f"FAILED ({failed} check(s)){note}" if failed else f"OK{note}")
    raise typer.Exit(exitcodes.EVIDENCE_MISMATCH if failed else 0)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Library errors become one line on stderr and their exit code; never a traceback."""
    try:
        yield
    except CamauditError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except KeyboardInterrupt:
        raise _fail("interrupted", exitcodes.INPUT_ERROR) from None
    except MemoryError:
        raise _fail("out of memory", exitcodes.INPUT_ERROR) from None


AnyReport = TypeVar("AnyReport", bound="Report")


def _console_verify(report: VerifyReport, console: Console) -> None:
    """verify's own terminal view (the console renderer loads only when it is shown)."""
    from camaudit.report.console import render

    render(report, console)


def _console_inventory(report: InventoryReport, console: Console) -> None:
    """discover's and fingerprint's own terminal view."""
    from camaudit.report.console import render_inventory

    render_inventory(report, console)


def _emit(
    report: AnyReport,
    output_format: OutputFormat,
    output: Path | None,
    renderer: Callable[[AnyReport, Console], None] | None = None,
    t: Translator | None = None,
) -> None:
    """Write ``report`` in ``output_format`` and the language of ``t``, to a file or stdout.

    The console format on standard output is printed with colour for a terminal (through
    ``renderer`` when the command has its own); every other case writes the registry's
    text (camaudit.report.render), so a file holds the same bytes as ``camaudit report``
    makes from the saved JSON.
    """
    from camaudit.report.render import writer as find_writer

    with _user_errors():
        t = t or _translator(None)
        draw = find_writer(output_format.value)

        def write(handle: TextIO) -> None:
            if output_format == OutputFormat.console and output is None:
                from rich.console import Console

                from camaudit.report.console import render_report

                if renderer is not None and t.lang == "en":
                    renderer(report, Console(file=handle))
                else:
                    render_report(report, Console(file=handle), t)
            else:
                draw(report, t, handle)

        write_report(output, write)


def _check_format(output_format: OutputFormat) -> None:
    """Fail before any work when the format cannot be rendered (one line, exit 2)."""
    from camaudit.report.render import renderer as find_renderer

    with _user_errors():
        find_renderer(output_format.value)


@app.command("report")
def report_command(
    report_file: Annotated[
        Path,
        typer.Argument(
            metavar="REPORT.json",
            help="A report saved with --format json (by verify, discover, fingerprint).",
            show_default=False,
        ),
    ],
    output_format: FormatOption = OutputFormat.console,
    output: OutputOption = None,
    lang: LangOption = None,
) -> None:
    """Re-render a saved JSON report in another format or language, without rescanning.

    The file is checked against the report schema first. The same file, format and
    language always give the same bytes. Exit codes: 0 rendered (the verdict is in the report),
    2 usage, 3 not a report or not written.
    """
    with _user_errors():
        t = _translator(lang)
        _check_format(output_format)
        if output is not None:
            refuse_evidence_as_output(output, [report_file], "report")
        from camaudit.report.model import from_json

        saved = from_json(_read_report(report_file))
    _emit(saved, output_format, output, None, t)
    raise typer.Exit(0)


def _read_report(path: Path) -> str:
    """The text of a saved report; an :class:`InputError` naming the path when unreadable."""
    from camaudit.errors import InputError

    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a camaudit report: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _method_list(methods: str | None) -> list[str] | None:
    """--methods as names; None (every method) when not given."""
    return [m.strip() for m in methods.split(",") if m.strip()] if methods else None


def _segment(
    target: list[str], interface: str | None, ports: str | None, timeout: float, budget: float
) -> Target:
    """The discovery target of discover and audit; --ports checked here (usage error)."""
    from camaudit.discover.interface import Target

    return Target(
        networks=tuple(target),
        interface=interface,
        ports=_port_list(ports),
        timeout=timeout,
        budget=budget,
    )


def _progress_bar(err: Console, *columns: ProgressColumn) -> Progress:
    """A bar on stderr, only on a terminal; by default it counts items (done of total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        *(columns or (MofNCompleteColumn(), TimeElapsedColumn())),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@app.command()
@_with_groups
def discover(
    target: Annotated[
        list[str],
        _target("Segment to sweep (repeat); private ranges only unless --allow-public."),
    ],
    interface: Annotated[
        str | None, _interface("Interface for ARP and multicast discovery.")
    ] = None,
    methods: MethodsOption = None,
    allow_public: AllowPublicOption = False,
    ports: PortsOption = None,
    timeout: TimeoutOption = 3.0,
    budget: Annotated[float, _budget("Wall-clock bound for the whole run, seconds.")] = 300.0,
    no_fingerprint: Annotated[
        bool, typer.Option("--no-fingerprint", help="Only discover; do not probe each device.")
    ] = False,
    closed_network: ClosedNetworkOption = None,
    *,
    login: _DeviceLogin,
    report_options: _InventoryOutput,
) -> None:
    """Find the cameras on a segment (ARP, WS-Discovery, SADP, DHIP, nmap) and identify them.

    Sends only read-only discovery and identification requests: no exploit, no guessed
    password. Exit codes: 0 done, 2 usage, 3 input error.
    """
    from camaudit.api import scan

    err = _stderr()
    with _user_errors():
        t = _translator(report_options.lang)
    _check_format(report_options.output_format)
    chosen = _method_list(methods)
    segment = _segment(target, interface, ports, timeout, budget)
    with _user_errors():
        book = _read_register(report_options.register)
        creds = login.credentials()
        with _progress_bar(err) as bar:
            sweep = bar.add_task("discovering", total=None)
            probing = bar.add_task("identifying", total=None, visible=False)

            def on_method(_name: str, done: int, total: int) -> None:
                bar.update(sweep, completed=done, total=total)

            def on_host(fp: Fingerprint) -> None:
                bar.update(probing, advance=1, visible=True)
                if err.is_terminal:  # above the live bar, while discovery may still run
                    bar.console.print(_identified_line(fp), markup=False, highlight=False)

            result = scan(
                segment,
                chosen,
                allow_public,
                not no_fingerprint,
                creds,
                closed_network or (),
                on_method,
                on_host,
                login.known_hosts_file(),
            )
    if result.inventory is not None and result.inventory.target.interface_note:
        err.print(
            f"camaudit: no --interface given: {result.inventory.target.interface_note}",
            markup=False,
            highlight=False,
            soft_wrap=True,  # one line, whatever the terminal width
        )
    report_options.emit(result.report, book, t)
    raise typer.Exit(0)


def _identified_line(fp: Fingerprint) -> str:
    """``identified 10.66.0.21: hikvision DS-2CD2143G0-I V5.6.3`` (what is known so far)."""
    who = fp.identity
    named = [who.vendor, who.oem_brand, who.model, who.firmware]
    return f"identified {fp.host}: {' '.join(n for n in named if n) or 'unknown make'}"


@app.command()
@_with_groups
def fingerprint(
    hosts: Annotated[
        list[str], typer.Argument(help="IP addresses to identify (names are not resolved).")
    ],
    port: Annotated[
        list[str] | None,
        typer.Option(
            "--port",
            metavar="PROBE=PORT",
            help="Non-default port for a probe, e.g. http=8080, rtsp=10554 (repeat).",
        ),
    ] = None,
    timeout: TimeoutOption = 5.0,
    closed_network: ClosedNetworkOption = None,
    *,
    login: _DeviceLogin,
    report_options: _InventoryOutput,
) -> None:
    """Identify vendor (incl. OEM relabels), model, firmware and known CVEs of given hosts.

    Unauthenticated read-only requests, or authenticated ones with the credentials you
    supply; never an exploit or a guessed password. Exit codes: 0 done, 2 usage, 3 input.
    """
    from camaudit.api import identify

    err = _stderr()
    with _user_errors():
        t = _translator(report_options.lang)
    _check_format(report_options.output_format)
    ports: dict[str, int] = {}
    for item in port or ():
        name, _, number = item.partition("=")
        if not number.isdigit() or not 0 < int(number) < 65536:
            raise _fail(f"--port {item!r}: expected PROBE=PORT, e.g. http=8080", exitcodes.USAGE)
        ports[name.strip()] = int(number)
    with _user_errors():
        book = _read_register(report_options.register)
        creds = login.credentials()
        with _progress_bar(err) as bar:
            task = bar.add_task("identifying", total=len(hosts))

            def on_host(_fp: Fingerprint) -> None:
                bar.update(task, advance=1)

            result = identify(
                hosts,
                ports or None,
                creds,
                timeout,
                closed_network or (),
                on_host,
                login.known_hosts_file(),
            )
    report_options.emit(result.report, book, t)
    raise typer.Exit(0)


def _port_list(ports: str | None) -> tuple[int, ...]:
    """--ports as numbers; a usage error for anything else."""
    try:
        chosen = tuple(int(p) for p in (ports or "").split(",") if p.strip())
    except ValueError:
        raise _fail(f"--ports {ports!r}: expected numbers like 80,554", exitcodes.USAGE) from None
    if not all(0 < p < 65536 for p in chosen):
        raise _fail(f"--ports {ports!r}: ports are 1-65535", exitcodes.USAGE)
    return chosen


class _RecordLine:
    """The live progress line while ``audit`` records: packets and time, and the flows
    and findings in the files closed so far (each folded once as it closes and judged
    by the verify policy; the report still verifies every file when recording ends).

    On a terminal a rich live line redrawn in place; otherwise (a log, CI) one plain
    line per closed file, without escape codes.
    """

    def __init__(self, interface: str, duration: float) -> None:
        self.interface, self.duration = clean_text(interface), duration
        self.tty = sys.stderr.isatty()
        self.live: Live | None = None

    def __call__(self, status: RecordStatus) -> None:
        if self.tty:
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text

            if self.live is None:
                err = Console(stderr=True, highlight=False)
                self.live = Live(console=err, auto_refresh=False, redirect_stdout=False)
                self.live.start()
            line = Text(self.text(status), no_wrap=True, overflow="ellipsis")
            self.live.update(line, refresh=True)
        elif status.closed is not None:
            sys.stderr.write(self.text(status) + "\n")
            sys.stderr.flush()

    def text(self, status: RecordStatus) -> str:
        head = (
            f"camaudit: recording {self.interface}: "
            f"{min(status.elapsed, self.duration):.0f} s of {self.duration:g} s, "
            f"{_count(status.packets, 'packet')}"
        )
        if status.closed is not None:  # a log line: which file the counts include
            head += f"; file {status.files or '?'} ({clean_text(status.closed.name)}) read:"
        else:
            head += ","
        if status.flows is not None and status.findings is not None:
            flows, findings = _count(status.flows, "flow"), _count(status.findings, "finding")
            return f"{head} {flows}, {findings} so far"
        if status.unjudged is not None:
            return f"{head} flows and findings not shown: {status.unjudged}"
        return f"{head} flows and findings when the first file closes"

    def done(self) -> None:
        if self.live is not None:
            self.live.stop()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@app.command()
@_with_groups
def audit(
    target: Annotated[
        list[str],
        _target(
            "Segment to discover, fingerprint and judge (repeat); private ranges only "
            "unless --allow-public."
        ),
    ],
    more_captures: Annotated[
        list[Path] | None,
        typer.Argument(
            help="More capture files after --captures (so --captures a.pcap b.pcap works).",
            show_default=False,
            metavar="[FILES]...",
        ),
    ] = None,
    interface: Annotated[
        str | None,
        _interface("Interface for discovery and for recording (a mirror port sees the segment)."),
    ] = None,
    duration: Annotated[
        str | None,
        _duration("Record the segment this long (seconds, or 90s, 10m, 2h) with dumpcap."),
    ] = None,
    captures: Annotated[
        list[Path] | None,
        typer.Option(
            "--captures",
            "-c",
            metavar="FILES",
            help="Captures already made (pcap/pcapng, gzip'd, or directories) instead of "
            "recording.",
        ),
    ] = None,
    record_dir: Annotated[
        Path | None,
        _record_dir(
            "New or empty directory for the recorded files (kept: they are the evidence); "
            "default ./camaudit-audit-<time>."
        ),
    ] = None,
    rotate: Annotated[str, _rotate("Start a new capture file this often.")] = "5m",
    closed_network: ClosedNetworkOption = None,
    policy: PolicyAsVerify = None,
    methods: MethodsOption = None,
    allow_public: AllowPublicOption = False,
    ports: PortsOption = None,
    timeout: TimeoutOption = 3.0,
    budget: Annotated[float, _budget("Wall-clock bound for discovery, seconds.")] = 300.0,
    *,
    login: _DeviceLogin,
    output_format: FormatOption = OutputFormat.console,
    output: OutputOption = None,
    lang: LangOption = None,
    evidence: Annotated[
        Path | None,
        _evidence(
            "Also write an evidence pack: the audit report, the frames behind every "
            "device's findings and a manifest; check it with check-evidence."
        ),
    ] = None,
    force: ForceOption = False,
    timestamp: TimestampOption = False,
    profiles: ProfilesOption = None,
    register: RegisterOption = None,
) -> None:
    """Discover and fingerprint a segment, record (or read) its traffic, and judge every
    device: identity, CVEs, settings and its own isolation verdict, in one report.

    Exit codes as verify, from the overall verdict: 0 isolated, 1 not isolated (or
    attempts, when the policy fails on attempts), 2 usage, 3 input error, 4 inconclusive.
    """
    from camaudit.api import audit as run_audit
    from camaudit.audit import parse_duration
    from camaudit.audit.record import RecordPlan

    err = _stderr()
    given = [*(captures or ()), *(more_captures or ())]
    if bool(given) == (duration is not None):
        raise _fail(
            "give --duration TIME to record, or --captures FILES (not both)", exitcodes.USAGE
        )
    if more_captures and not captures:
        raise _fail("capture files go after --captures", exitcodes.USAGE)
    if duration is not None and interface is None:
        raise _fail("--duration records an interface: give --interface", exitcodes.USAGE)
    segment = _segment(target, interface, ports, timeout, budget)
    with _user_errors():
        book = _read_register(register)
        t = _translator(lang)
        plan = None
        line: _RecordLine | None = None
        if duration is not None and interface is not None:
            seconds = parse_duration(duration)
            where = record_dir or Path(f"camaudit-audit-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
            plan = RecordPlan(interface, seconds, where, parse_duration(rotate, "--rotate"))
            line = _RecordLine(interface, seconds)
            if output is not None and _inside(output, where):
                raise _fail(f"--output {output} lies inside --record-dir", exitcodes.USAGE)
        elif output is not None:
            refuse_evidence_as_output(output, given)
        if evidence is not None:
            from camaudit.evidence import refuse_evidence_dir

            refuse_evidence_dir(evidence, given, force)
        creds = login.credentials()
        chosen = _method_list(methods)
        err.print("camaudit: discovering and identifying devices", markup=False, highlight=False)
        try:
            result = run_audit(
                segment,
                given,
                plan,
                credentials=creds,
                closed_network=closed_network or (),
                policy=policy,
                methods=chosen,
                allow_public=allow_public,
                known_hosts=login.known_hosts_file(),
                profiles=profiles,
                record_progress=line,
            )
        finally:
            if line is not None:
                line.done()
        report = _with_register(result.report, book)
        if evidence is not None:
            recorded = report.audit.recording
            files = [Path(f) for f in recorded.files] if recorded is not None else given
            _write_evidence(
                result.verify, evidence, files, policy, profiles, force, timestamp, report, creds
            )
    _emit(report, output_format, output, None, t)
    if output is not None:
        from camaudit.messages import VERDICT_NAMES

        verdict = t.gettext(VERDICT_NAMES[str(report.verdict)])
        summary = t.gettext(
            "verdict {verdict} (exit {code}); report written to {path}",
            verdict=verdict,
            code=report.exit_code,
            path=shown_path(output),
        )
        err.print(f"camaudit: {summary}", markup=False, highlight=False)
    raise typer.Exit(report.exit_code)


@app.command()
def watch(
    interface: Annotated[str, _interface("Interface to record (a mirror port).")],
    rotate: Annotated[str, _rotate("Close a file and verify it this often (90s, 5m).")] = "5m",
    closed_network: Annotated[list[str] | None, _closed_network("As for verify (repeat).")] = None,
    policy: PolicyAsVerify = None,
    alerts: Annotated[
        str | None,
        typer.Option(
            "--alerts",
            metavar="FILE|-",
            help="Append each alert as a JSON line to FILE, or write them to stdout (-).",
        ),
    ] = None,
    exit_on_finding: Annotated[
        bool,
        typer.Option(
            "--exit-on-finding", help="Stop after the first file with a finding (verdict exit)."
        ),
    ] = False,
    record_dir: Annotated[
        Path | None,
        _record_dir(
            "New or empty directory for the files (kept: the evidence); "
            "default ./camaudit-watch-<time>."
        ),
    ] = None,
    duration: Annotated[str | None, _duration("Stop after this long.")] = None,
    output_format: FormatOption = OutputFormat.json,
    output: Annotated[
        Path | None, _output("Also write the final report here (see --format).")
    ] = None,
    lang: LangOption = None,
    profiles: ProfilesOption = None,
) -> None:
    """Record an interface without end, verify each rotated file as it closes, and alert
    on every new finding and phone-home rhythm. Ctrl-C or SIGTERM reads the current file,
    prints the summary and exits with the verdict's exit code, as verify does.
    """
    import signal
    import threading

    from camaudit.audit import parse_duration
    from camaudit.report.alerts import alert_line, file_line, ready_line, write_json_line
    from camaudit.watch import Alert, WatchPlan
    from camaudit.watch import watch as run_watch

    _check_format(output_format)
    with _user_errors():
        t = _translator(lang)
        where = record_dir or Path(f"camaudit-watch-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
        seconds = parse_duration(duration) if duration is not None else None
        plan = WatchPlan(interface, where, parse_duration(rotate, "--rotate"), seconds)
        if output is not None and _inside(output, where):
            raise _fail(f"--output {output} lies inside --record-dir", exitcodes.USAGE)
        from rich.console import Console

        human = Console(stderr=alerts == "-", highlight=False)
        sink = sys.stdout if alerts == "-" else None
        if alerts not in (None, "-"):
            try:
                sink = Path(alerts).open("a", encoding="utf-8")  # noqa: SIM115 - for the run
            except OSError as exc:
                raise _fail(f"--alerts {alerts}: {exc.strerror}", exitcodes.INPUT_ERROR) from None
        stop = threading.Event()
        stops = (signal.SIGINT, signal.SIGTERM)
        before = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in stops}

        def said(text: str) -> None:
            human.print(f"camaudit: {text}", markup=False, highlight=False, soft_wrap=True)

        def alert(found: Alert) -> None:
            said(alert_line(found, t))
            if sink is not None:
                write_json_line(found, sink)

        try:
            result = run_watch(
                plan,
                tuple(closed_network or ()),
                policy,
                profiles,
                on_ready=lambda: said(ready_line(interface, plan.rotate, where, t)),
                on_file=lambda path, state: said(file_line(path, state, t)),
                on_alert=alert,
                exit_on_finding=exit_on_finding,
                stop=stop,
            )
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)
            if sink is not None and sink is not sys.stdout:
                sink.close()
    if result.report is None:
        raise _fail("no capture file was completed: nothing to verify", exitcodes.INPUT_ERROR)
    if result.recorder_error is not None:
        _stderr().print(
            f"camaudit: warning: {result.recorder_error}; the files up to then were verified",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    from camaudit.report.console import render_report

    render_report(result.report, human, t)
    if output is not None:
        _emit(result.report, output_format, output, None, t)
    raise typer.Exit(result.report.exit_code)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except CamauditError as exc:  # pragma: no cover - every command catches its own
        sys.stderr.write(f"camaudit: error: {exc}\n")
        sys.exit(exc.exit_code)
    except Exception as exc:
        # A bug is never a verdict: its own exit code, one line, the traceback in a file.
        sys.stderr.write(f"camaudit: internal error: {_crash_line(exc)}\n")
        sys.exit(exitcodes.INTERNAL_ERROR)


def _crash_line(exc: Exception) -> str:
    what = clean_text(f"{type(exc).__name__}: {exc}", 200)
    try:
        fd, path = tempfile.mkstemp(prefix="camaudit-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"camaudit {__version__}\nargv: {sys.argv!r}\n\n")
            handle.write("".join(traceback.format_exception(exc)))
    except OSError as error:
        where = f"the traceback could not be saved ({error.strerror or error})"
    else:
        where = f"traceback in {path}"
    return f"{what} (a bug in camaudit, not a verdict; {where})"
