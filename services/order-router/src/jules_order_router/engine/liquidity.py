"""What one market event offers to orders, as seen through the configured fill model.

A ``MarketView`` answers three questions for one event: at what price and up to what quantity
a marketable order executes now (``take``), whether the market traded through a resting limit
price (``rest``), and whether a stop price was reached (``triggered``). Liquidity taken by one
order is gone for the next (``commit``), so several orders on one event share the bar's
participation budget, the quoted size or the book's levels.

Prices each event offers (buy / sell):

=====================  =================  =====================  =======================
event                  ``take`` price     ``rest``: limit L       ``triggered``: stop S
                                          fills if                if
=====================  =================  =====================  =======================
``Bar``                model reference    low ≤ L / high ≥ L     high ≥ S / low ≤ S
``Quote`` (l1)         ask / bid          ask ≤ L / bid ≥ L      ask ≥ S / bid ≤ S
``Quote`` (kyle)       mid ± impact       ask ≤ L / bid ≥ L      ask ≥ S / bid ≤ S
``Trade`` (kyle)       price ± impact     price ≤ L / ≥ L        price ≥ S / ≤ S
``BookSnapshot``       walk asks / bids   best ask ≤ L / bid ≥ L best ask ≥ S / bid ≤ S
=====================  =================  =====================  =======================
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from jules_contracts.enums import LiquiditySide, OrderSide, PriceType
from jules_contracts.market_data import Bar, BookSnapshot, Quote, Trade, market_price

from jules_order_router.engine.config import (
    BarCloseSlippage,
    FillModel,
    KyleLambda,
    L1Quote,
    L2Book,
    NextBarOpen,
)

__all__ = ["Execution", "MarketEvent", "MarketView", "mark_price", "observed_time", "view_for"]

MarketEvent = Bar | Quote | BookSnapshot | Trade
"""The market events the router consumes."""

_BUY = OrderSide.BUY


@dataclass(frozen=True)
class Execution:
    """A proposed fill: how much, at what price, adding or taking liquidity."""

    quantity: float
    price: float
    liquidity: LiquiditySide


def observed_time(event: MarketEvent) -> int:
    """When an event's prices were first observable: a bar's start, otherwise its event time."""
    return event.start_time if isinstance(event, Bar) else event.event_time


def _better_or_equal(side: OrderSide, price: float, limit: float) -> bool:
    """Whether ``price`` is at least as good as ``limit`` for an order on ``side``."""
    return price <= limit if side is _BUY else price >= limit


class MarketView(ABC):
    """The liquidity of one market event under the configured fill model."""

    @abstractmethod
    def take(
        self, side: OrderSide, quantity: float, limit: float | None, stop: float | None
    ) -> Execution | None:
        """Execute a marketable order now (taker), without consuming liquidity yet.

        Args:
            side: The order's side.
            quantity: The most it may fill.
            limit: Worst acceptable price, or ``None`` for a market order.
            stop: For a stop triggered by this event, the stop price: the fill is no better
                than it (the price crossed the stop within the event).

        Returns:
            The execution, or ``None`` when nothing can execute.
        """

    @abstractmethod
    def rest(self, side: OrderSide, quantity: float, limit: float) -> Execution | None:
        """Fill a resting limit order (maker, at its limit) if the market traded through it."""

    @abstractmethod
    def triggered(self, side: OrderSide, stop: float) -> bool:
        """Whether the market reached a stop price (buy: at or above, sell: at or below)."""

    @abstractmethod
    def commit(self, side: OrderSide, quantity: float) -> None:
        """Consume the liquidity an execution used."""


class _Impact:
    """How the execution price moves from the reference with the quantity (none here)."""

    def price(self, side: OrderSide, reference: float, quantity: float) -> float:
        return reference

    def max_quantity(self, side: OrderSide, reference: float, limit: float) -> float:
        """The largest quantity whose price is within ``limit`` (``inf``: any, ``0``: none)."""
        ok = _better_or_equal(side, self.price(side, reference, 0.0), limit)
        return float("inf") if ok else 0.0


class _Slippage(_Impact):
    def __init__(self, bps: float) -> None:
        self._factor = bps / 10_000

    def price(self, side: OrderSide, reference: float, quantity: float) -> float:
        return reference * (1 + self._factor if side is _BUY else 1 - self._factor)


class _KyleImpact(_Impact):
    def __init__(self, model: KyleLambda) -> None:
        self._lambda = model.impact_lambda
        self._cap = model.max_impact_fraction

    def _impact(self, reference: float, quantity: float) -> float:
        return min(self._lambda * quantity, self._cap * reference)

    def price(self, side: OrderSide, reference: float, quantity: float) -> float:
        impact = self._impact(reference, quantity)
        return reference + impact if side is _BUY else reference - impact

    def max_quantity(self, side: OrderSide, reference: float, limit: float) -> float:
        room = limit - reference if side is _BUY else reference - limit
        if room < 0:
            return 0.0
        if self._lambda == 0 or room >= self._cap * reference:
            return float("inf")
        return room / self._lambda


class _Capacity:
    """How much the event can fill: unlimited, a budget shared by both sides, or per side."""

    def __init__(
        self, shared: float | None = None, buy: float | None = None, sell: float | None = None
    ) -> None:
        self._shared = shared
        self._sided = {OrderSide.BUY: buy, OrderSide.SELL: sell}

    def available(self, side: OrderSide, quantity: float) -> float:
        for cap in (self._shared, self._sided[side]):
            if cap is not None:
                quantity = min(quantity, cap)
        return max(quantity, 0.0)

    def use(self, side: OrderSide, quantity: float) -> None:
        if self._shared is not None:
            self._shared -= quantity
        sided = self._sided[side]
        if sided is not None:
            self._sided[side] = sided - quantity


@dataclass
class _Prices:
    """Prices of an event per side: (buy, sell)."""

    reference: tuple[float, float]
    touch: tuple[float, float]
    trigger: tuple[float, float]


def _pick(side: OrderSide, pair: tuple[float, float]) -> float:
    return pair[0] if side is _BUY else pair[1]


class _PriceView(MarketView):
    """A view with one reference price per side (bars, quotes, trades)."""

    def __init__(self, prices: _Prices, impact: _Impact, capacity: _Capacity) -> None:
        self._prices = prices
        self._impact = impact
        self._capacity = capacity

    def take(
        self, side: OrderSide, quantity: float, limit: float | None, stop: float | None
    ) -> Execution | None:
        reference = _pick(side, self._prices.reference)
        if stop is not None:
            reference = max(reference, stop) if side is _BUY else min(reference, stop)
        quantity = self._capacity.available(side, quantity)
        if limit is not None:
            quantity = min(quantity, self._impact.max_quantity(side, reference, limit))
        if quantity <= 0:
            return None
        price = self._impact.price(side, reference, quantity)
        if limit is not None:  # float rounding of the impact must not cross the limit
            price = min(price, limit) if side is _BUY else max(price, limit)
        return Execution(quantity, price, LiquiditySide.TAKER)

    def rest(self, side: OrderSide, quantity: float, limit: float) -> Execution | None:
        if not _better_or_equal(side, _pick(side, self._prices.touch), limit):
            return None
        quantity = self._capacity.available(side, quantity)
        return Execution(quantity, limit, LiquiditySide.MAKER) if quantity > 0 else None

    def triggered(self, side: OrderSide, stop: float) -> bool:
        price = _pick(side, self._prices.trigger)
        return price >= stop if side is _BUY else price <= stop

    def commit(self, side: OrderSide, quantity: float) -> None:
        self._capacity.use(side, quantity)


class _BookView(MarketView):
    """An L2 book: orders walk the levels of the side they take."""

    def __init__(self, book: BookSnapshot) -> None:
        self._levels: dict[OrderSide, list[list[float]]] = {
            OrderSide.BUY: [[level.price, level.size] for level in book.asks],
            OrderSide.SELL: [[level.price, level.size] for level in book.bids],
        }

    def _reachable(self, side: OrderSide, limit: float | None) -> list[list[float]]:
        return [
            level
            for level in self._levels[side]
            if level[1] > 0 and (limit is None or _better_or_equal(side, level[0], limit))
        ]

    def take(
        self, side: OrderSide, quantity: float, limit: float | None, stop: float | None
    ) -> Execution | None:
        remaining, notional = quantity, 0.0
        for price, size in self._reachable(side, limit):
            part = min(size, remaining)
            notional += part * price
            remaining -= part
            if remaining <= 0:
                break
        filled = quantity - max(remaining, 0.0)
        if filled <= 0:
            return None
        return Execution(filled, notional / filled, LiquiditySide.TAKER)

    def rest(self, side: OrderSide, quantity: float, limit: float) -> Execution | None:
        depth = sum(size for _, size in self._reachable(side, limit))
        filled = min(quantity, depth)
        return Execution(filled, limit, LiquiditySide.MAKER) if filled > 0 else None

    def triggered(self, side: OrderSide, stop: float) -> bool:
        levels = self._reachable(side, None)
        if not levels:
            return False
        best = levels[0][0]
        return best >= stop if side is _BUY else best <= stop

    def commit(self, side: OrderSide, quantity: float) -> None:
        for level in self._levels[side]:
            part = min(level[1], quantity)
            level[1] -= part
            quantity -= part
            if quantity <= 0:
                return


def _bar_budget(bar: Bar, participation: float | None) -> float | None:
    if participation is None or bar.price_type is not PriceType.TRADE:
        return None
    return participation * bar.volume


def _quote_sizes(quote: Quote, model: L1Quote) -> _Capacity:
    if not model.limit_to_quoted_size:
        return _Capacity()
    return _Capacity(
        buy=quote.ask_size if quote.ask_size > 0 else None,
        sell=quote.bid_size if quote.bid_size > 0 else None,
    )


def _bar_view(
    bar: Bar, reference: float, impact: _Impact, participation: float | None
) -> _PriceView:
    prices = _Prices((reference, reference), (bar.low, bar.high), (bar.high, bar.low))
    return _PriceView(prices, impact, _Capacity(shared=_bar_budget(bar, participation)))


def _quote_prices(quote: Quote, reference: tuple[float, float]) -> _Prices:
    sides = (quote.ask_price, quote.bid_price)
    return _Prices(reference, sides, sides)


def view_for(
    model: FillModel, event: MarketEvent, participation: float | None
) -> MarketView | None:
    """The view of ``event`` under ``model``, or ``None`` if the model does not fill on it.

    Args:
        model: The configured fill model.
        event: A market event.
        participation: The maximum fraction of a trade bar's volume (or a trade's size) the
            router's orders may fill on it, or ``None``.
    """
    if isinstance(event, Bar):
        if isinstance(model, NextBarOpen):
            return _bar_view(event, event.open, _Impact(), participation)
        if isinstance(model, BarCloseSlippage):
            return _bar_view(event, event.close, _Slippage(model.slippage_bps), participation)
        if isinstance(model, KyleLambda):
            return _bar_view(event, event.open, _KyleImpact(model), participation)
    elif isinstance(event, Quote):
        if isinstance(model, L1Quote):
            prices = _quote_prices(event, (event.ask_price, event.bid_price))
            return _PriceView(prices, _Impact(), _quote_sizes(event, model))
        if isinstance(model, KyleLambda):
            mid = (event.ask_price + event.bid_price) / 2
            return _PriceView(_quote_prices(event, (mid, mid)), _KyleImpact(model), _Capacity())
    elif isinstance(event, Trade):
        if isinstance(model, KyleLambda):
            pair = (event.price, event.price)
            budget = None if participation is None else participation * event.size
            return _PriceView(_Prices(pair, pair, pair), _KyleImpact(model), _Capacity(budget))
    elif isinstance(model, L2Book):
        return _BookView(event)
    return None


def mark_price(event: MarketEvent) -> float | None:
    """The price positions are marked at after ``event`` (``jules_contracts.market_price``)."""
    return market_price(event)
