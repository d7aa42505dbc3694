"""The ``verify`` and ``export`` commands, shared by ``jules-audit`` and ``jules audit``.

Exit status: 0 when the log is intact (``verify``) or exported (``export``); 1 when it fails
verification, with the first bad record named (file, line, seq, reason code) on stderr; 2 for
unusable arguments (a missing directory, an empty key file, an output file that exists
without ``--overwrite``).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "EXIT_BROKEN",
    "EXIT_USAGE",
    "ExportFormat",
    "add_audit_commands",
    "export_command",
    "verify_command",
]

EXIT_BROKEN = 1
"""Exit status when the log fails verification."""

EXIT_USAGE = 2
"""Exit status for unusable arguments."""

LogDirectory = Annotated[
    Path,
    typer.Argument(
        exists=True,
        file_okay=False,
        dir_okay=True,
        help="The audit log directory.",
        show_default=False,
    ),
]
KeyFile = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        exists=True,
        dir_okay=False,
        help="File holding the checkpoint signing key (a trailing line feed is ignored); "
        "without it the signatures are not checked.",
    ),
]
AllowTail = Annotated[
    bool,
    typer.Option(
        "--allow-tail",
        help="Accept records after the last checkpoint (a log that is still being written).",
    ),
]


class ExportFormat(StrEnum):
    """Export formats."""

    CSV = "csv"


def _key(key_file: Path | None) -> bytes | None:
    if key_file is None:
        return None
    key = key_file.read_bytes().rstrip(b"\r\n")
    if not key:
        typer.echo(f"the key file {key_file} is empty", err=True)
        raise typer.Exit(EXIT_USAGE)
    return key


def verify_command(
    directory: LogDirectory,
    key_file: KeyFile = None,
    allow_tail: AllowTail = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the verdict as one JSON object.")
    ] = False,
) -> None:
    """Verify an audit log: every record's hash, the chain, the sequence and the checkpoints.

    Prints a one-line summary and exits 0 when the log is intact; otherwise names the first
    bad record (segment file, line, seq, reason code) and exits 1; ``--json`` prints the
    verdict as one JSON object instead (the same exit status). A folder without a log
    (empty, or a run folder instead of its ``audit/``) fails too (exit 1), saying so.
    """
    from jules_audit.store import verify  # the store only when a command runs (a fast CLI)

    try:
        result = verify(directory, _key(key_file), allow_tail=allow_tail)
    except FileNotFoundError as exc:  # an empty or wrong folder: nothing was verified
        if as_json:
            typer.echo(json.dumps({"ok": False, "error": str(exc)}))
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_BROKEN) from exc
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        if not result.ok:
            raise typer.Exit(EXIT_BROKEN)
        return
    if not result.ok:
        typer.echo(result.summary(), err=True)
        raise typer.Exit(EXIT_BROKEN)
    typer.echo(result.summary())


def export_command(
    directory: LogDirectory,
    format_: Annotated[
        ExportFormat, typer.Option("--format", help="Output format.", case_sensitive=False)
    ] = ExportFormat.CSV,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Output file (default: stdout); an existing file only with --overwrite.",
        ),
    ] = None,
    key_file: KeyFile = None,
    allow_tail: AllowTail = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the output file if it exists.")
    ] = False,
) -> None:
    """Export the order records of a verified audit log (MiFID II RTS 24 style CSV).

    One row per order event (decision, risk decision, venue lifecycle) in log order, with
    microsecond UTC timestamps. A log that fails verification is not exported (exit 1). An
    existing output file is refused (exit 2, nothing touched) unless ``--overwrite``.
    """
    # The store and the output rule only when the command runs (a fast CLI).
    from jules_runtime.output_paths import OutputRefusedError, output_file

    from jules_audit.store import AuditLogError, export_csv

    key = _key(key_file)
    try:
        if output is None:
            rows = export_csv(directory, sys.stdout, key=key, allow_tail=allow_tail)
        else:
            with (
                output_file(output, overwrite=overwrite) as partial,
                partial.open("w", encoding="utf-8", newline="") as handle,
            ):
                rows = export_csv(directory, handle, key=key, allow_tail=allow_tail)
    except OutputRefusedError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    except AuditLogError as exc:
        typer.echo(f"not exported: {exc.result.summary()}", err=True)
        raise typer.Exit(EXIT_BROKEN) from exc
    except FileNotFoundError as exc:  # an empty or wrong folder
        typer.echo(f"not exported: {exc}", err=True)
        raise typer.Exit(EXIT_BROKEN) from exc
    target = "stdout" if output is None else str(output)
    typer.echo(f"exported {rows} order event(s) as {format_.value} to {target}", err=True)


def add_audit_commands(app: typer.Typer) -> None:
    """Add the ``verify`` and ``export`` commands to a Typer application."""
    app.command("verify")(verify_command)
    app.command("export")(export_command)
