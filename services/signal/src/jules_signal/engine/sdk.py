"""Write your own strategy: a Python class the platform runs on every bar, in every mode.

A strategy subclasses ``Strategy``, declares its parameters as a ``Params`` model (validated,
with defaults and descriptions) and the features it reads (``features``), keeps
whatever state it likes on ``self``, and answers through ``target``: the position it wants in
an instrument, as a signed fraction of equity (1.0 long with all the equity, -0.5 short with
half, 0.0 flat). Risk sizes, checks and orders the change. Or it answers with orders
(``order``): a quantity, and a limit or stop price and a time in force if it likes, which risk
checks as they stand.

    from jules_signal.sdk import Bar, Features, Field, Params, Strategy

    class BreakoutParams(Params):
        lookback: int = Field(default=20, ge=2, description="Bars of the channel.")

    class Breakout(Strategy[BreakoutParams]):
        def features(self) -> list[str]:
            return [f"donchian_high_{self.params.lookback}"]

        def on_bar(self, bar: Bar, features: Features) -> None:
            high = features[f"donchian_high_{self.params.lookback}"]
            if high is not None and bar.close >= high:
                self.target(bar.instrument_id, 1.0)

Hooks run in event time: ``on_start`` once before the first event, ``on_bar`` for each bar of
an instrument with its feature vector (the features are those at the bar's close), ``on_timer``
when a timer set with ``every`` or ``at`` comes due (on the first event at or after its time,
before that event's hook). A strategy that overrides ``on_quote``, ``on_trade`` or ``on_book``
asks for those events too: a run driven by quotes, trades or order books (``events`` of a data
source) calls them on each one, and a target set there is priced at that event (a quote's or a
book's mid, a trade's price). The same inputs give the same targets in an embedded backtest, a
topic replay through Kafka and the live signal service. A hook that raises quarantines the
strategy: it decides nothing more, an alert (``STRATEGY_QUARANTINED``) says why, and the rest
of the platform goes on.

A strategy that overrides ``on_fill`` asks for the account's fills in the instruments it sees:
each partial or complete fill, after the venue made it and before the market events of its
time reach the strategy (in a backtest, an order decided on one bar fills on the next, and
``on_fill`` runs before that bar's ``on_bar``). ``is_mine`` tells a fill of an order made from
the strategy's own targets from one risk made for it (a stop exit); ``holding`` is the
position those fills add up to, in units. A target set in ``on_fill`` is priced at the
instrument's latest price.

A signal is emitted only when a target changes, so setting the same target on every bar is
fine. ``position`` tells the target in force.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from jules_contracts import (
    Bar,
    BookSnapshot,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRequest,
    OrderSide,
    OrderType,
    Quote,
    TimeInForce,
    Trade,
)
from pydantic import BaseModel, ConfigDict, Field

from jules_signal.engine.errors import MissingFeaturesError

__all__ = [
    "Bar",
    "BookSnapshot",
    "Features",
    "Field",
    "Fill",
    "OrderSide",
    "Params",
    "Quote",
    "Strategy",
    "TimeInForce",
    "Timer",
    "Trade",
]


Fill = OrderFilled | OrderPartiallyFilled
"""A fill of an order: its ``side``, ``last_quantity`` at ``last_price``, ``fee``, and what is
left (``leaves_quantity``; zero on the ``OrderFilled`` that completes the order)."""


_ORDER_TYPES = {
    (False, False): OrderType.MARKET,
    (True, False): OrderType.LIMIT,
    (False, True): OrderType.STOP,
    (True, True): OrderType.STOP_LIMIT,
}
"""The type of an order by (limit price given, stop price given)."""


class Params(BaseModel):
    """The parameters of a strategy: subclass it as ``Strategy.Params`` (frozen, no extras)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, order=True)
class Timer:
    """A timer that came due.

    Attributes:
        time: The event time (UTC ns) it was due at.
        name: The name it was set with.
    """

    time: int
    name: str


class Features(Mapping[str, float | None]):
    """The feature values of one instrument at one bar's close, by name.

    A value is ``None`` while the feature is undefined (warm-up). Reading a name the vector
    does not carry is an error naming what the strategy should declare in ``features``.
    """

    def __init__(
        self,
        values: Mapping[str, float | None],
        strategy_id: str,
        schema_id: str | None = None,
    ) -> None:
        self._values = values
        self._strategy_id = strategy_id
        self.schema_id = schema_id
        """The id of the feature schema the values follow (the vector's)."""

    def __getitem__(self, name: str) -> float | None:
        try:
            return self._values[name]
        except KeyError:
            raise MissingFeaturesError(self._strategy_id, [name], list(self._values)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def ready(self, *names: str) -> bool:
        """Whether every one of ``names`` is defined (past its warm-up)."""
        return all(self[name] is not None for name in names)


@dataclass
class _Clock:
    """The strategy's event time and its timers (a heap of (due time, name, interval))."""

    now: int = 0
    timers: list[tuple[int, str, int]] = field(default_factory=list)


P = TypeVar("P", bound=Params)


class Strategy(Generic[P]):
    """Base class of a user's strategy (see the module docstring).

    Subclass ``Strategy[MyParams]`` with ``MyParams`` a subclass of ``Params``: the class's
    ``Params`` is then ``MyParams``, and ``self.params`` one of it. Do not override
    ``__init__``: set the strategy up in ``on_start`` (or in attributes' defaults).

    Args:
        params: The validated parameters (an instance of the class's ``Params``).
    """

    Params: ClassVar[type[BaseModel]] = Params
    """The parameters model (set from the class's type argument)."""

    model_version: str | None = None
    """The version of the model behind the strategy's decisions, if any: its signals carry it
    (``SignalGenerated.model_version``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            args = get_args(base)
            origin = get_origin(base)
            typed = (
                isinstance(origin, type)
                and issubclass(origin, Strategy)
                and args
                and isinstance(args[0], type)
            )
            if typed and "Params" not in cls.__dict__ and issubclass(args[0], Params):
                cls.Params = args[0]

    def __init__(self, params: P) -> None:
        self.params: P = params
        self._clock = _Clock()
        self._targets: dict[str, float] = {}
        self._wanted: list[tuple[str, float, float]] = []
        self._requests: list[tuple[str, OrderRequest]] = []
        self._bars: dict[str, Bar] = {}
        self._prices: dict[str, float] = {}
        self._holdings: dict[str, float] = {}
        self._orders: set[str] = set()

    # --- what a strategy declares and overrides ------------------------------------------

    def features(self) -> Sequence[str]:
        """The feature names the strategy reads (``sma_20``, ``atr_14``); none by default."""
        return ()

    def on_start(self) -> None:
        """Called once, before the first bar (set timers here)."""

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Called on each bar of each instrument, with its features at the bar's close."""

    def on_timer(self, timer: Timer) -> None:
        """Called when a timer comes due, before the event that reached its time."""

    def on_quote(self, quote: Quote) -> None:
        """Called on each best bid and offer of a quote-driven run (override to ask for them)."""

    def on_trade(self, trade: Trade) -> None:
        """Called on each trade print of a trade-driven run (override to ask for them)."""

    def on_book(self, book: BookSnapshot) -> None:
        """Called on each update of a book-driven run, with the book after it (override)."""

    def on_fill(self, fill: Fill) -> None:
        """Called on each fill in the account, before the events of its time (override)."""

    # --- what a strategy calls ------------------------------------------------------------

    @property
    def time(self) -> int:
        """The current event time (UTC ns): the bar's close, or the tick's time."""
        return self._clock.now

    def target(self, instrument_id: str, weight: float, *, strength: float = 1.0) -> None:
        """Want a position in ``instrument_id``: ``weight`` in [-1, 1] of equity.

        The instrument must have had a bar or a tick already (its latest price is the order's
        reference).

        Raises:
            ValueError: ``weight`` or ``strength`` is out of range, or not a number.
        """
        if not -1.0 <= weight <= 1.0:
            raise ValueError(f"target weight {weight!r} for {instrument_id} is not in [-1, 1]")
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength {strength!r} for {instrument_id} is not in [0, 1]")
        self._wanted.append((instrument_id, float(weight), float(strength)))

    def order(
        self,
        instrument_id: str,
        quantity: float,
        *,
        limit_price: float | None = None,
        stop_price: float | None = None,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        expire_time: int | None = None,
        reduce_only: bool = False,
    ) -> None:
        """Place an order, instead of wanting a target: ``quantity`` units, > 0 to buy, < 0 to sell.

        The type follows the prices given: none a market order, ``limit_price`` a limit order,
        ``stop_price`` a stop, both a stop-limit. Risk checks it as it stands (it is not sized,
        and a quantity off the instrument's lot is denied); ``time_in_force`` is ``GTC``,
        ``IOC``, ``FOK``, ``DAY`` or ``GTD`` (with ``expire_time``, UTC ns). Each call is one
        order; ``position`` does not change.

        Raises:
            ValueError: ``quantity`` is zero or not a number, or the terms disagree (the message
                says which).
        """
        if not quantity or quantity != quantity or abs(quantity) == float("inf"):
            raise ValueError(f"order quantity {quantity!r} for {instrument_id} is not a number ≠ 0")
        order_type = _ORDER_TYPES[(limit_price is not None, stop_price is not None)]
        request = OrderRequest(
            side=OrderSide.BUY if quantity > 0 else OrderSide.SELL,
            quantity=abs(float(quantity)),
            order_type=order_type,
            limit_price=limit_price,
            stop_price=stop_price,
            time_in_force=TimeInForce(str(time_in_force).upper()),
            expire_time=expire_time,
            reduce_only=reduce_only,
        )
        self._requests.append((instrument_id, request))

    def position(self, instrument_id: str) -> float:
        """The target in force for ``instrument_id`` (0.0 before any)."""
        return self._targets.get(instrument_id, 0.0)

    def last_price(self, instrument_id: str) -> float | None:
        """The instrument's latest price (bar close, quote or book mid, trade price), if any."""
        return self._prices.get(instrument_id)

    def holding(self, instrument_id: str) -> float:
        """The position the fills seen so far add up to, in units (signed; ``on_fill`` only)."""
        return self._holdings.get(instrument_id, 0.0)

    def is_mine(self, fill: Fill) -> bool:
        """Whether ``fill`` is of an order made from one of this strategy's targets.

        Other fills are of orders risk made on the strategy's positions (a stop exit).
        """
        return fill.client_order_id in self._orders

    def last_bar(self, instrument_id: str) -> Bar | None:
        """The instrument's latest bar so far (``None`` before its first)."""
        return self._bars.get(instrument_id)

    def every(self, name: str, interval: timedelta) -> None:
        """Call ``on_timer`` every ``interval`` of event time, first at ``time + interval``."""
        step = round(interval.total_seconds() * 1e9)
        if step <= 0:
            raise ValueError(f"timer {name!r}: interval {interval} must be positive")
        heapq.heappush(self._clock.timers, (self._clock.now + step, name, step))

    def at(self, name: str, time: int) -> None:
        """Call ``on_timer`` once, at event time ``time`` (UTC ns)."""
        heapq.heappush(self._clock.timers, (time, name, 0))

    def cancel_timer(self, name: str) -> None:
        """Forget every timer called ``name``."""
        self._clock.timers = [t for t in self._clock.timers if t[1] != name]
        heapq.heapify(self._clock.timers)
