"""Settings of the market-data service (environment prefix ``JULES_MARKET_DATA__``).

The service has no live venue connection yet (ccxt adapters come later): ``run`` replays the
recorded files named in ``files`` onto the ``md.*`` topics, at full speed or paced by event
time, and then keeps serving ``/health``, ``/ready`` and ``/metrics``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Self

from jules_contracts.any_case import AnyCase
from jules_runtime.settings import ServiceSettings, service_settings_config
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jules_market_data.engine import ValidatorConfig
from jules_market_data.loaders import Format, default_instrument_id

__all__ = ["MarketDataSettings", "ReplaySource"]


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


class MarketDataSettings(ServiceSettings):
    """Settings of the market-data service.

    Attributes:
        files: The recorded files ``run`` replays, merged in event time
            (``JULES_MARKET_DATA__FILES='["a.zip", {"path": "b.csv", "instrument_id":
            "BTCUSD.BITSTAMP"}]'``); empty: nothing to publish (live venues come later).
        speed: Replay pace: ``60`` publishes one minute of event time per second of wall
            time; unset: full speed.
        validator: What the stream validator refuses (refused rows are counted by reason).
        publish_batch: Events published before waiting for the broker's acknowledgements at
            full speed.
        book_depth: Publish, in place of each accepted book update, the book after it with
            this many levels a side (``md.book.v1`` then carries whole books, as a backtest's
            book source gives them to a strategy's ``on_book``); unset: the updates as read.
    """

    service_name: ClassVar[str] = "market-data"
    default_http_port: ClassVar[int] = 8101
    model_config = service_settings_config("market-data")

    files: tuple[ReplaySource, ...] = ()
    speed: Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)] | None = None
    validator: ValidatorConfig = ValidatorConfig()
    publish_batch: Annotated[int, Field(ge=1, le=100_000)] = 500
    book_depth: Annotated[int, Field(ge=1, le=5_000)] | None = None
