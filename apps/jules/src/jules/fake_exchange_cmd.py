"""``jules fake-exchange``: a local exchange speaking a real exchange's API over recorded data."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from jules.backtest_cmd import DataDir

if TYPE_CHECKING:
    from jules_venues.fake import FakeExchange, FaultUpdate

__all__ = ["fake_exchange"]


def fake_exchange(
    dialect: Annotated[
        str, typer.Option(help="The exchange API to speak (binance or okx: their spot APIs).")
    ] = "binance",
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, help="The port (0: a free one).")] = 8765,
    data: Annotated[
        list[Path] | None,
        typer.Option(
            help="Recorded feed files (repeatable; default: the hftbacktest Binance spot "
            "BTCUSDT files of the sample data)."
        ),
    ] = None,
    data_dir: DataDir = None,
    speed: Annotated[
        float,
        typer.Option(min=0, help="Recorded seconds per second (0: as fast as possible)."),
    ] = 1.0,
    paused: Annotated[
        bool,
        typer.Option(
            "--paused",
            help="Start with the replay paused; POST /_fake/replay with "
            "'{\"speed\": 1}' starts it (a paper session does, once its services are up).",
        ),
    ] = False,
    latency_ms: Annotated[
        float, typer.Option(min=0, help="Added latency of every REST response and WS message.")
    ] = 0.0,
    faults: Annotated[
        str | None,
        typer.Option(help="More faults at start, as JSON (e.g. '{\"depth_gap\": 3}')."),
    ] = None,
    venues_file: Annotated[
        Path | None,
        typer.Option(
            help="Write a venues file for the market-data service's live mode "
            "(JULES_MARKET_DATA__VENUES_FILE) pointing at this fake; a new file only."
        ),
    ] = None,
) -> None:
    """Serve a recorded market as a live exchange until Ctrl-C.

    The real ccxt classes run against it with their URLs pointed at it (printed at start).
    Faults can be changed while it runs: ``POST /_fake/faults`` with JSON such as
    ``{"rate_limit": {"count": 5, "retry_after": 2}}``, ``{"drop_connections":
    {"refuse_seconds": 10}}`` or ``{"stale": {"streams": ["*@trade"], "seconds": 30}}``;
    ``DELETE /_fake/faults`` clears them; ``GET /_fake/status`` shows the replay.
    """
    from jules_venues.fake import DIALECTS, FaultUpdate, files_or_default
    from pydantic import ValidationError

    if dialect not in DIALECTS:
        typer.echo(f"unknown --dialect {dialect!r} (known: {', '.join(sorted(DIALECTS))})")
        raise typer.Exit(2)
    try:
        update = FaultUpdate.model_validate_json(faults or "{}")
    except ValidationError as exc:
        typer.echo(f"invalid --faults: {exc}")
        raise typer.Exit(2) from exc
    if latency_ms:
        update = update.model_copy(update={"latency_ms": latency_ms})
    files = files_or_default(data or [], data_dir or Path("..") / "shared" / "data")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        typer.echo(f"data file not found: {', '.join(missing)} (--data, --data-dir)")
        raise typer.Exit(2)
    if venues_file is not None and venues_file.exists():
        typer.echo(f"{venues_file} exists: give a new file for --venues-file")
        raise typer.Exit(2)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _serve(dialect, host, port, files, None if paused else speed, update, venues_file)
        )
    typer.echo("fake exchange stopped")


async def _serve(
    dialect: str,
    host: str,
    port: int,
    files: tuple[Path, ...],
    speed: float | None,
    faults: FaultUpdate,
    venues_file: Path | None = None,
) -> None:
    from jules_venues.fake import FakeExchange, Market, load_feed

    market = Market(load_feed(files), speed=speed)
    async with FakeExchange(market, dialect=dialect, host=host, port=port, faults=faults) as fake:
        _print_usage(fake, files, speed)
        if venues_file is not None:
            _write_venues_file(fake, venues_file)
        await asyncio.Event().wait()


def venues_entry(fake: FakeExchange) -> dict[str, object]:
    """A ``jules_venues.VenueConfig`` entry for the market-data service, pointing at ``fake``.

    Its instruments are the fake's symbols as ``<SYMBOL>.<VENUE>``; the API key is a
    placeholder (the fake takes any key, which Binance's trade backfill asks for).
    """
    from jules_venues.fake.binance_info import symbol_info

    name = fake.dialect.name
    config = fake.ccxt_config()
    instruments = {}
    for symbol in fake.market.symbols:
        info = symbol_info(symbol)
        instruments[f"{symbol}.{name.upper()}"] = f"{info['baseAsset']}/{info['quoteAsset']}"
    return {
        "name": name,
        "instruments": instruments,
        "urls": config["urls"],
        "options": config.get("options", {}),
        "api_key": "fake-exchange-key",
        "api_secret": "fake-exchange-secret",
    }


def _write_venues_file(fake: FakeExchange, path: Path) -> None:
    import yaml

    with path.open("x") as handle:  # a new file only: never replaces one
        yaml.safe_dump({"venues": [venues_entry(fake)]}, handle, sort_keys=False)
    typer.echo(
        f"\nvenues file for live market data: {path}\n"
        f"    JULES_MARKET_DATA__VENUES_FILE={path} jules-market-data run"
    )


def _print_usage(fake: FakeExchange, files: tuple[Path, ...], speed: float | None) -> None:
    urls = fake.urls
    name = fake.dialect.name
    pace = (
        "paused (POST /_fake/replay starts it)"
        if speed is None
        else "as fast as possible"
        if speed == 0
        else f"at {speed:g}x"
    )
    lines = [
        f"fake {name} exchange listening on {urls.http} (websockets {urls.ws})",
        f"replaying {', '.join(f.name for f in files)} {pace}; symbols: "
        + ", ".join(fake.market.symbols),
        "",
        "point ccxt at it:",
        "    import ccxt.pro  # or ccxt.async_support, the same options",
        "    from jules_venues.fake import get_dialect",
        f"    config = get_dialect({name!r}).ccxt_config({urls.http!r}, {urls.ws!r})",
        f"    exchange = ccxt.pro.{name}(config)",
        "",
        "faults (JSON, see jules_venues.fake.FaultUpdate):",
        f"    curl -X POST {urls.http}/_fake/faults -d '" + json.dumps({"latency_ms": 200}) + "'",
        f"    curl {urls.http}/_fake/status",
        "",
        "Ctrl-C stops it.",
    ]
    typer.echo("\n".join(lines))
