"""Backtest configuration: a YAML or TOML file, with flags overriding it.

Every key is in docs/backtest-config.md (generated from these models; ``jules backtest
--print-config`` prints a file's configuration with its defaults). Example
(``examples/demo.yaml``)::

    name: sma-cross-crypto
    data_dir: ../shared/data
    data:
      - {path: QuantConnect_Lean/Data/crypto/coinbase/minute/btcusd/20180404_trade.zip,
         instrument_id: BTCUSD.COINBASE}
    strategy: {kind: sma_cross, fast: 10, slow: 30, mode: long_short}
    risk: {sizing: {kind: fixed_fraction, fraction: 0.3}}
    execution: {fill_model: {kind: next_bar_open}, fees: {taker_bps: 5}}
    account: {starting_cash: 100000}

``risk`` is the risk engine's configuration without the account (``RiskControls``: limits,
sizing, stops, ``atr_period``, ``history_length``, ``cancel_on_halt``) and ``execution`` the
order-router engine's simulated venue without the account (``VenueConfig``: fill model, fees,
latency, participation cap, listed instruments), with the engines' own defaults; ``account``
supplies the account of both. ``instruments`` is the instrument table both engines take (tick
and lot sizes, minimums, contract multipliers, fees per contract): a YAML file, relative to
the config file's folder (``instruments: ../instruments.yaml``), or a list of entries.
"""

from __future__ import annotations

import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from jules_contracts import PriceType
from jules_contracts.any_case import AnyCase, canonical_choice, choices_of
from jules_market_data.loaders import Format
from jules_order_router.engine import VenueConfig
from jules_risk.engine import RiskControls
from jules_runtime.instruments import InstrumentTableSettings
from jules_signal.engine import STRATEGY_KINDS, StrategyConfig, strategy_config_from_mapping
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "AccountConfig",
    "AuditLevel",
    "AuditOptions",
    "BacktestConfig",
    "DataSource",
    "MarketKind",
    "MonteCarloConfig",
    "OnnxStrategyConfig",
    "apply_overrides",
    "load_config",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class DataSource(_Frozen):
    """One recorded data file and the instrument it holds."""

    path: str
    """Relative to ``data_dir`` (or absolute)."""
    instrument_id: str | None = None
    """``SYMBOL.VENUE`` of the file's events; by default told from the path."""
    format: str | None = None
    """One of ``jules_market_data.loaders.Format`` (any case); unset: told from the file."""
    interval: str | None = None
    """The bar length of a bar file (``1m``); by default told from the name or the spacing."""
    price_type: Annotated[PriceType | None, AnyCase()] = None
    """The prices of bars: ``TRADE``, ``BID``, ``ASK`` or ``MID`` (any case). Unset: a Lean
    quote-bar file gives ``MID`` bars, bars built from quotes are mid bars, and from trades
    trade bars."""
    bar_interval: str | None = None
    """Aggregate the file's trades or quotes into bars of this length (``1m``, ``1h``)."""
    assume_utc: bool = False
    """Tables: read timestamps without a UTC offset as UTC."""
    events: Annotated[tuple[Annotated[MarketKind, AnyCase()], ...], Field(min_length=1)] = ("bar",)
    """The market events of the file that drive the run: ``bar`` (the file's bars, or those
    ``bar_interval`` aggregates), and ``quote``, ``trade``, ``book`` for a quote-, trade- or
    book-driven run: the venue fills on them (with a fill model that reads them, such as
    ``l1_quote``, ``l2_book`` or ``kyle_lambda``), risk prices and stops on them, and a
    strategy's ``on_quote``, ``on_trade``, ``on_book`` hooks see them."""
    book_depth: Annotated[int, Field(ge=1, le=1000)] = 20
    """Levels per side of the book snapshots a ``book`` run rebuilds from the file's updates."""

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        """A format the loaders read (in any case), or the list of them."""
        if value is None:
            return None
        known = choices_of(Format)
        fmt = canonical_choice(value, known)
        if fmt not in known:
            raise ValueError(f"unknown format {value!r}; the formats are: {', '.join(known)}")
        return str(fmt)

    @model_validator(mode="after")
    def _events(self) -> Self:
        if len(set(self.events)) != len(self.events):
            raise ValueError(f"events {list(self.events)} names a kind twice")
        if self.bar_interval is not None and "bar" not in self.events:
            raise ValueError(
                f"bar_interval {self.bar_interval!r} aggregates bars, but events "
                f"{list(self.events)} has no 'bar'"
            )
        return self


MarketKind = Literal["bar", "quote", "trade", "book"]
"""A kind of market event a data source can drive a run with (``DataSource.events``)."""


class OnnxStrategyConfig(_Frozen):
    """An ONNX policy as the strategy."""

    kind: Annotated[Literal["onnx"], AnyCase()] = "onnx"
    model: str
    """Path of the ``.onnx`` file (relative to the config file's folder, or absolute)."""
    dead_band: Annotated[float, Field(ge=0, lt=1)] = 0.05
    """A ``target_weight`` output this close to 0 is flat."""
    min_weight_change: Annotated[float, Field(gt=0, le=2)] = 0.1
    """Smallest move of the target, in the same direction, that is a new signal."""


class AccountConfig(_Frozen):
    """The account."""

    account_id: str = "BACKTEST"
    """The account's id, written into orders."""
    currency: str = "USD"
    """The account currency (no conversion: prices count as this currency)."""
    starting_cash: Annotated[float, Field(gt=0)] = 100_000.0
    """Cash at the start."""


class MonteCarloConfig(_Frozen):
    """Moving-block bootstrap of the equity curve's returns."""

    samples: Annotated[int, Field(ge=0, le=100_000)] = 1000
    """Resampled equity curves (0: none)."""
    block: Annotated[int, Field(ge=1)] = 20
    """Returns per resampled block (keeps their short-range dependence)."""


AuditLevel = Literal["all", "decisions", "off"]
"""How much of a run the audit log records (``jules_backtest.audit``)."""


class AuditOptions(_Frozen):
    """The run's audit log (``jules_backtest.audit``)."""

    level: Annotated[AuditLevel, AnyCase()] = "all"
    """``all`` every event; ``decisions`` what was decided and done (no market data,
    features or portfolio snapshots), for sweeps; ``off`` no audit log."""


class BacktestConfig(_Frozen, InstrumentTableSettings):
    """Everything a backtest needs.

    ``instruments`` (from ``InstrumentTableSettings``) is the instrument table of the risk and
    order-router engines: a YAML file's path or a list of entries (``None``: no table).
    """

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")] = "backtest"
    """The run's name (letters, digits, ``.``, ``_``, ``-``); the default run folder's."""
    data_dir: Path = Path("..") / "shared" / "data"
    """The folder the data sources' relative paths start from; in a file, relative to the
    file's folder (``--data-dir`` and ``JULES_DATA_DIR``: to the working directory)."""
    data: Annotated[tuple[DataSource, ...], Field(min_length=1)]
    """The recorded files, merged in event time."""
    strategy: StrategyConfig | OnnxStrategyConfig
    """The strategy, selected by ``kind`` (docs/strategies.md)."""
    features: tuple[str, ...] = ()
    """Features computed besides those the strategy needs (they appear in the audit log)."""
    risk: RiskControls = RiskControls()
    """The risk engine's configuration; the account is ``account.account_id``."""
    execution: VenueConfig = VenueConfig()
    """The order-router engine's simulated venue; the account is ``account``."""
    account: AccountConfig = AccountConfig()
    """The account both engines trade."""
    seed: int = 0
    """Seed of the Monte Carlo bootstrap."""
    monte_carlo: MonteCarloConfig = MonteCarloConfig()
    """The bootstrap of the equity curve's returns in the report."""
    audit: AuditOptions = AuditOptions()
    """What the run's audit log records."""
    output_dir: Path | None = None
    """The run folder; in a file, relative to the file's folder. Default ``runs/<name>`` in
    the working directory."""
    close_at_end: bool = True
    """Close open positions at the last bar's open."""
    start: AwareDatetime | None = None
    """Only bars closing at or after this time (ISO-8601 with an offset)."""
    end: AwareDatetime | None = None
    """Only bars closing before this time (ISO-8601 with an offset)."""

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} must be after start {self.start}")
        return self

    @property
    def tick_driven(self) -> bool:
        """Whether a data source drives the run with quotes, trades or books."""
        return any(kind != "bar" for source in self.data for kind in source.events)

    @property
    def window_ns(self) -> tuple[int | None, int | None]:
        """``start`` and ``end`` as UTC nanoseconds since the epoch (``None`` when open)."""
        return _nanos(self.start), _nanos(self.end)

    @field_validator("strategy", mode="before")
    @classmethod
    def _strategy(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        if _kind(value) == "onnx":
            return OnnxStrategyConfig.model_validate(value)
        return strategy_config_from_mapping(value)

    @property
    def run_dir(self) -> Path:
        """Where the run folder goes."""
        return self.output_dir or Path("runs") / self.name


def _nanos(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text()
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ValueError(f"{path} is not valid YAML{at}: {problem}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a backtest configuration must be a mapping at the top level")
    return data


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides (values parsed as YAML scalars) to a config mapping."""
    result: dict[str, Any] = {**data}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override {item!r} must look like section.key=value")
        target = result
        parts = key.split(".")
        for part in parts[:-1]:
            child = target.get(part)
            target[part] = dict(child) if isinstance(child, dict) else {}
            target = target[part]
        target[parts[-1]] = yaml.safe_load(raw)
    return result


def load_config(
    path: Path | None, overrides: list[str] | None = None, **fields: Any
) -> BacktestConfig:
    """Read a configuration file (YAML or TOML), apply overrides and validate.

    Relative paths in the file start at the file's folder: ``data_dir``, ``output_dir``, an
    ONNX model, a Python strategy's file (``path: strategies/mine.py:Mine``) and an
    instrument table file (a data source's ``path`` starts at ``data_dir``). Paths given as
    ``fields`` (command-line options) or overrides start at the working directory.

    Raises:
        pydantic.ValidationError: A field is invalid (the message names it).
        ValueError: The file is not a mapping, or an override is malformed.
    """
    data = _read(path) if path is not None else {}
    for key in ("data_dir", "output_dir"):
        value = data.get(key)
        if path is not None and isinstance(value, str) and not Path(value).is_absolute():
            data[key] = os.path.normpath(path.parent / value)
    data.update({key: value for key, value in fields.items() if value is not None})
    data = apply_overrides(data, overrides or [])
    strategy = data.get("strategy")
    if path is not None and isinstance(strategy, dict) and _kind(strategy) == "onnx":
        model = Path(str(strategy.get("model", "")))
        if not model.is_absolute():
            data["strategy"] = {**strategy, "model": str(path.parent / model)}
    if path is not None and isinstance(strategy, dict) and _kind(strategy) == "python":
        data["strategy"] = {**strategy, "path": _strategy_file(strategy.get("path"), path.parent)}
    table = data.get("instruments")
    if path is not None and isinstance(table, str) and not Path(table).is_absolute():
        data["instruments"] = os.path.normpath(path.parent / table)
    return BacktestConfig.model_validate(data)


def _kind(strategy: dict[str, Any]) -> object:
    """The strategy table's ``kind`` in its canonical spelling (it is read in any case)."""
    return canonical_choice(strategy.get("kind"), ("onnx", *STRATEGY_KINDS))


def _strategy_file(target: object, folder: Path) -> object:
    """``file.py:Class`` with a relative file resolved against ``folder``; else unchanged."""
    if not isinstance(target, str) or ":" not in target:
        return target
    module, _, name = target.rpartition(":")
    if not module.endswith(".py") or Path(module).is_absolute():
        return target
    return f"{(folder / module).resolve()}:{name}"
