"""``jules features``: streaming features computed over bar files.

Registered in the ``jules`` command as ``app.add_typer(features_app, name="features")``.
"""

from __future__ import annotations

from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from jules_backtest.config import DataSource
    from jules_features.bar_csv import ComputeSummary
    from jules_features.engine import FeatureEngineConfig, FeatureSchema

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
            help="Bar file: a CSV with header timestamp,open,high,low,close,volume "
            "(timestamp = bar start, ISO-8601 with offset or integer epoch), or any file a "
            "backtest reads (Lean zip, gzip'd or Parquet table ...).",
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
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="The file's format, as a backtest's data source takes it."),
    ] = None,
    price_type: Annotated[
        str | None,
        typer.Option(help="Quote bars: BID, ASK or MID (default: MID), as a backtest takes it."),
    ] = None,
    assume_utc: Annotated[
        bool,
        typer.Option("--assume-utc", help="Read timestamps without a UTC offset as UTC."),
    ] = False,
) -> None:
    """Add feature columns to bars: a bar CSV's columns (or a file's bars) plus one a feature.

    A bar CSV keeps its columns; any other file a backtest reads (``--format``,
    ``--price-type``, ``--assume-utc`` as a backtest's data source takes them) is read by the
    same loaders and validation, and written as ``timestamp,open,high,low,close,volume``.
    A value is empty while the feature is undefined (warm-up). An existing output file is
    refused (exit 2, nothing touched) unless ``--overwrite``; a file whose every row is
    rejected fails (exit 2) with the rejections by reason.
    """
    from jules_backtest.config import DataSource
    from jules_features.bar_csv import BarCsvError, compute_features_csv
    from jules_features.engine import (
        DEFAULT_BAR_FEATURES,
        FeatureEngineConfig,
        FeatureError,
        FeatureSchema,
    )
    from jules_market_data.loaders import LoaderError
    from jules_runtime.output_paths import OutputRefusedError
    from pydantic import ValidationError

    try:
        schema = (
            FeatureSchema.from_names(DEFAULT_BAR_FEATURES)
            if features is None
            else FeatureSchema.parse(features)
        )
        config = FeatureEngineConfig(session_start_offset_minutes=session_start_offset_minutes)
        plain_csv = input_path.suffix.lower() == ".csv" and not (file_format or assume_utc)
        if plain_csv and price_type is None:
            summary = compute_features_csv(
                input_path,
                output_path,
                schema,
                instrument_id=instrument_id,
                interval=interval,
                config=config,
                overwrite=overwrite,
            )
        else:
            source = DataSource.model_validate(
                {
                    "path": str(input_path),
                    "instrument_id": instrument_id,
                    "format": file_format,
                    "interval": interval,
                    "price_type": price_type,
                    "assume_utc": assume_utc,
                }
            )
            summary = _of_file(source, input_path, output_path, schema, config, overwrite)
    except (FeatureError, BarCsvError, OutputRefusedError, LoaderError) as exc:
        _fail(str(exc))
    except ValidationError as exc:
        problem = exc.errors()[0]
        message = problem["msg"].removeprefix("Value error, ")
        if exc.title == "FeatureEngineConfig":
            _fail(f"--session-start-offset-minutes {session_start_offset_minutes}: {message}")
        _fail(f"--{'-'.join(str(part) for part in problem['loc'])}: {message}")
    except OSError as exc:
        _fail(f"{exc.filename or output_path}: {exc.strerror or exc}")
    typer.echo(
        f"wrote {summary.rows} bars with {len(summary.features)} features to {output_path} "
        f"(interval {summary.interval}, feature schema {summary.schema_id})"
    )


def _of_file(
    source: DataSource,
    path: Path,
    output_path: Path,
    schema: FeatureSchema,
    config: FeatureEngineConfig,
    overwrite: bool,
) -> ComputeSummary:
    """The features of a file's bars, read as a backtest reads them; fails when none is left."""
    from jules_backtest.data import DataQuality, read_bars
    from jules_features.bar_csv import compute_features_of_bars
    from jules_runtime.output_paths import check_output_file

    check_output_file(output_path, overwrite=overwrite)  # refused before anything is read
    quality = DataQuality()
    bars = read_bars(source, path, quality)
    first = next(bars, None)
    rejected = ", ".join(f"{reason} {n:,}" for reason, n in sorted(quality.rejected.items()))
    if first is None:  # nothing written
        examples = "".join(f"\n  e.g. {example}" for example in quality.examples[:2])
        _fail(f"no bar left in {path}: rejected {rejected or 'nothing'}{examples}")
    summary = compute_features_of_bars(
        chain([first], bars), output_path, schema, config=config, overwrite=overwrite
    )
    rejected = ", ".join(f"{reason} {n:,}" for reason, n in sorted(quality.rejected.items()))
    if rejected:
        typer.echo(f"rejected rows: {rejected}", err=True)
    return summary


@features_app.command("list")
def list_features() -> None:
    """List the supported feature names, with an example of each."""
    from jules_features.engine import DEFAULT_BAR_FEATURES, supported_features

    typer.echo(supported_features())
    typer.echo(f"\ndefault for bar files: {','.join(DEFAULT_BAR_FEATURES)}")
