"""Settings of the market-data service (environment prefix ``JULES_MARKET_DATA__``).

``run`` has two modes. With ``venues`` (a list of ``jules_venues.VenueConfig``, or
``venues_file``, a YAML file with a ``venues:`` list) it is live: it subscribes to the venues'
instruments through the ``jules_venues`` adapters, validates, builds bars from trades and
publishes to the ``md.*`` topics, reconnecting and backfilling after a drop (``live``), and can
record what it published (``record_dir``). Without venues it replays the recorded files named
in ``files`` onto the same topics, at full speed or paced by event time. Either way it keeps
serving ``/health``, ``/ready`` and ``/metrics``. Both ``files`` and venues at once are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

from jules_contracts.any_case import AnyCase
from jules_runtime.settings import ServiceSettings, service_settings_config
from jules_venues import VenueConfig, VenueConfigError, load_venue_configs
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jules_market_data.engine import BarAggregatorConfig, ValidatorConfig
from jules_market_data.loaders import Format, default_instrument_id

__all__ = ["LiveSettings", "MarketDataSettings", "ReplaySource", "Stream"]

Stream = Literal["trades", "quotes", "books"]
"""A live stream of an instrument."""


class ReplaySource(BaseModel):
    """One recorded file to replay and the instrument it holds.

    A plain string is read as ``{"path": ...}``.

    Attributes:
        path: The file (any format ``jules_market_data.loaders.load`` reads).
        instrument_id: ``SYMBOL.VENUE`` of its events; by default derived from the path.
        format: The file format (in any case); by default sniffed from the name and first
            line.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path
    instrument_id: Annotated[str, Field(min_length=1)] | None = None
    format: Annotated[Format | None, AnyCase()] = None

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str | Path) else value

    @field_validator("path")
    @classmethod
    def _existing_file(cls, path: Path) -> Path:
        if not path.is_file():
            raise ValueError(f"file not found: {path}")
        return path

    @model_validator(mode="after")
    def _known_instrument(self) -> Self:
        if self.instrument_id is None and default_instrument_id(self.path) is None:
            raise ValueError(f"cannot tell the instrument of {self.path}: give instrument_id")
        return self


class LiveSettings(BaseModel):
    """How the live mode streams, reconnects, deduplicates and records.

    Attributes:
        streams: The streams watched for every configured instrument.
        bar_interval: Bars built from the trades, in event time (``1m``, ``5s``).
        stale_after_s: A stream without a message for this long is flagged stale and
            reconnected (from new ccxt clients; trades missed meanwhile are backfilled).
        backoff_min_s: The first wait before reconnecting or retrying a REST call.
        backoff_max_s: The longest wait (the backoff doubles up to it); a venue's
            ``Retry-After`` is honoured even when longer.
        record_dir: Write what was published there as Parquet files that the loaders (and so
            ``jules backtest``) read: ``<instrument>_trades_<n>.parquet``,
            ``<instrument>_quotes_<n>.parquet``, ``<instrument>_<interval>_bars_<n>.parquet``;
            unset: nothing is recorded.
        record_rows: Rows per recorded file (a file is written each time a buffer is full,
            the rest at shutdown).
        heartbeat_s: Publish the market time now (``jules_market_data.live_clock``) on
            ``watermarks.v1`` this often, so that consumers (risk's stale market data limit)
            see time pass while a feed is silent; unset: no heartbeat.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    streams: tuple[Stream, ...] = ("trades", "quotes", "books")
    bar_interval: str = "1m"
    stale_after_s: Annotated[float, Field(gt=0, le=86_400)] = 30.0
    backoff_min_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    backoff_max_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    record_dir: Path | None = None
    record_rows: Annotated[int, Field(ge=1, le=10_000_000)] = 100_000
    heartbeat_s: Annotated[float, Field(gt=0, le=3_600, allow_inf_nan=False)] | None = 1.0

    @field_validator("bar_interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        BarAggregatorConfig(interval=value)
        return value

    @model_validator(mode="after")
    def _backoff(self) -> Self:
        if self.backoff_min_s > self.backoff_max_s:
            raise ValueError(
                f"backoff_min_s {self.backoff_min_s:g} is above backoff_max_s "
                f"{self.backoff_max_s:g}"
            )
        return self

    @property
    def bars(self) -> BarAggregatorConfig:
        """The bar aggregator's configuration."""
        return BarAggregatorConfig(interval=self.bar_interval)


class MarketDataSettings(ServiceSettings):
    """Settings of the market-data service.

    Attributes:
        files: The recorded files ``run`` replays, merged in event time
            (``JULES_MARKET_DATA__FILES='["a.zip", {"path": "b.csv", "instrument_id":
            "BTCUSD.BITSTAMP"}]'``); empty: nothing to replay. Not with venues.
        speed: Replay pace: ``60`` publishes one minute of event time per second of wall
            time; unset: full speed.
        validator: What the stream validator refuses (refused rows are counted by reason).
        publish_batch: Events published before waiting for the broker's acknowledgements at
            full speed.
        book_depth: Publish, in place of each accepted book update, the book after it with
            this many levels a side (``md.book.v1`` then carries whole books, as a backtest's
            book source gives them to a strategy's ``on_book``); unset: the updates as read.
        venues: The live venues and their instruments (``JULES_MARKET_DATA__VENUES='[{"name":
            "binance", "instruments": {"BTCUSDT.BINANCE": "BTC/USDT"}}]'``); set: ``run`` is
            live. Live books are whole books already (the venue config's ``book_depth``).
        venues_file: A YAML file with a ``venues:`` list, read at start-up (added to
            ``venues``).
        live: How the live mode streams, reconnects, deduplicates and records.
    """

    service_name: ClassVar[str] = "market-data"
    default_http_port: ClassVar[int] = 8101
    model_config = service_settings_config("market-data")

    files: tuple[ReplaySource, ...] = ()
    speed: Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)] | None = None
    validator: ValidatorConfig = ValidatorConfig()
    publish_batch: Annotated[int, Field(ge=1, le=100_000)] = 500
    book_depth: Annotated[int, Field(ge=1, le=5_000)] | None = None
    venues: tuple[VenueConfig, ...] = ()
    venues_file: Path | None = None
    live: LiveSettings = LiveSettings()

    @model_validator(mode="after")
    def _live_venues(self) -> Self:
        venues = list(self.venues)
        if self.venues_file is not None:
            try:
                venues.extend(load_venue_configs(self.venues_file).values())
            except VenueConfigError as error:
                raise ValueError(str(error)) from None
        names = [venue.name for venue in venues]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"venues: {', '.join(repeated)} configured more than once")
        instruments = [i for venue in venues for i in venue.instruments]
        if venues and not instruments:
            raise ValueError("venues: no instrument configured")
        if len(set(instruments)) < len(instruments):
            raise ValueError("venues: an instrument is configured on more than one venue")
        if venues and self.files:
            raise ValueError("files and venues cannot both be set: replay or go live, not both")
        object.__setattr__(self, "venues", tuple(venues))
        object.__setattr__(self, "venues_file", None)
        return self

    @property
    def is_live(self) -> bool:
        """Whether ``run`` streams from venues (else it replays ``files``)."""
        return bool(self.venues)
