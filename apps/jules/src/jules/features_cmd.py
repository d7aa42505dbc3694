"""``jules features``: streaming features computed over bar files.

Registered in the ``jules`` command as ``app.add_typer(features_app, name="features")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

__all__ = ["features_app"]

features_app = typer.Typer(
    name="features",
    help="Streaming features (TA-Lib indicators, VWAP, returns, time of day) over bar files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_USAGE = 2


@features_app.callback()
def _features() -> None:
    """Streaming features over bar files."""


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


@features_app.command()
def compute(
    input_path: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            exists=True,
            dir_okay=False,
            readable=True,
            help="Bar CSV with header timestamp,open,high,low,close,volume "
            "(timestamp = bar start, ISO-8601 with offset or integer epoch).",
        ),
    ],
    output_path: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Where to write the result CSV (an existing file only with --overwrite).",
        ),
    ],
    features: Annotated[
        str | None,
        typer.Option(
            "--features",
            "-f",
            help="Comma-separated feature names (see `jules features list`); "
            "default: every bar feature.",
        ),
    ] = None,
    instrument_id: Annotated[
        str, typer.Option("--instrument-id", help="Instrument of the bars, SYMBOL.VENUE.")
    ] = "BARS.CSV",
    interval: Annotated[
        str | None,
        typer.Option(
            "--interval", help="Bar interval (1m, 5m, 1h ...); default: inferred from the spacing."
        ),
    ] = None,
    session_start_offset_minutes: Annotated[
        int,
        typer.Option(
            "--session-start-offset-minutes",
            help="Session start in minutes after 00:00 UTC (VWAP reset, time of day).",
        ),
    ] = 0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the output file if it exists.")
    ] = False,
) -> None:
    """Add feature columns to a bar CSV: the input columns plus one column per feature.

    A value is empty while the feature is undefined (warm-up). An existing output file is
    refused (exit 2, nothing touched) unless ``--overwrite``.
    """
    from jules_features.bar_csv import BarCsvError, compute_features_csv
    from jules_features.engine import (
        DEFAULT_BAR_FEATURES,
        FeatureEngineConfig,
        FeatureError,
        FeatureSchema,
    )
    from jules_runtime.output_paths import OutputRefusedError
    from pydantic import ValidationError

    try:
        schema = (
            FeatureSchema.from_names(DEFAULT_BAR_FEATURES)
            if features is None
            else FeatureSchema.parse(features)
        )
        config = FeatureEngineConfig(session_start_offset_minutes=session_start_offset_minutes)
        summary = compute_features_csv(
            input_path,
            output_path,
            schema,
            instrument_id=instrument_id,
            interval=interval,
            config=config,
            overwrite=overwrite,
        )
    except (FeatureError, BarCsvError, OutputRefusedError) as exc:
        _fail(str(exc))
    except ValidationError as exc:
        problem = exc.errors()[0]
        _fail(f"--session-start-offset-minutes {session_start_offset_minutes}: {problem['msg']}")
    except OSError as exc:
        _fail(f"{exc.filename or output_path}: {exc.strerror or exc}")
    typer.echo(
        f"wrote {summary.rows} bars with {len(summary.features)} features to {output_path} "
        f"(interval {summary.interval}, feature schema {summary.schema_id})"
    )


@features_app.command("list")
def list_features() -> None:
    """List the supported feature names, with an example of each."""
    from jules_features.engine import DEFAULT_BAR_FEATURES, supported_features

    typer.echo(supported_features())
    typer.echo(f"\ndefault for bar files: {','.join(DEFAULT_BAR_FEATURES)}")
