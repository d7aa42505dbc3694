"""ATR stops: stop-loss, take-profit and trailing stop for open positions.

Levels are fixed when the engine first sees a position open on a side (the ATR then, and the
position's average entry price, else the reference price) and kept while the position stays
on that side; adding to it does not move them. While no ATR is known, the stops of a
position wait until one is. Triggers compare the reference price (bar close, quote mid or
trade price) with the levels, a price equal to a level triggering:

* stop-loss: long ``price <= entry - k * ATR``; short ``price >= entry + k * ATR``;
* take-profit: long ``price >= entry + k * ATR``; short ``price <= entry - k * ATR``;
* trailing: long ``price <= best - k * ATR``; short ``price >= best + k * ATR``, where
  ``best`` is the highest (long) or lowest (short) reference price since entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from jules_risk.engine.config import StopsConfig

__all__ = ["StopLevels", "StopTracker"]


@dataclass(slots=True)
class StopLevels:
    """Stop state of one position.

    Attributes:
        side: +1 long, -1 short.
        entry: Entry price.
        atr: ATR at entry.
        best: Best price since entry.
    """

    side: int
    entry: float
    atr: float
    best: float


class StopTracker:
    """Stop levels per instrument."""

    def __init__(self) -> None:
        self._levels: dict[str, StopLevels] = {}

    def levels(self, instrument_id: str) -> StopLevels | None:
        """The instrument's current stop state, if any."""
        return self._levels.get(instrument_id)

    def check(
        self,
        config: StopsConfig,
        instrument_id: str,
        *,
        position: float,
        entry_price: float | None,
        atr: float | None,
        price: float,
    ) -> str | None:
        """Update the instrument's stop state and tell which stop, if any, triggers.

        Args:
            config: Stop multiples.
            instrument_id: The instrument.
            position: Its signed position.
            entry_price: Average entry price, when known.
            atr: Current ATR, when known.
            price: Current reference price.

        Returns:
            ``"stop_loss"``, ``"trailing_stop"`` or ``"take_profit"``, or ``None``.
        """
        if position == 0:
            self._levels.pop(instrument_id, None)
            return None
        side = 1 if position > 0 else -1
        levels = self._levels.get(instrument_id)
        if levels is None or levels.side != side:
            if atr is None:
                self._levels.pop(instrument_id, None)
                return None
            entry = entry_price if entry_price else price
            levels = StopLevels(side, entry, atr, entry)
            self._levels[instrument_id] = levels
        levels.best = max(levels.best, price) if side > 0 else min(levels.best, price)
        return _triggered(config, levels, price)


def _triggered(config: StopsConfig, levels: StopLevels, price: float) -> str | None:
    side, atr = levels.side, levels.atr
    # ``side * (level - price) >= 0``: the price is at or beyond the level against the position.
    if config.stop_loss_atr_multiple is not None:
        stop = levels.entry - side * config.stop_loss_atr_multiple * atr
        if side * (stop - price) >= 0:
            return "stop_loss"
    if config.trailing_atr_multiple is not None:
        trail = levels.best - side * config.trailing_atr_multiple * atr
        if side * (trail - price) >= 0:
            return "trailing_stop"
    if config.take_profit_atr_multiple is not None:
        target = levels.entry + side * config.take_profit_atr_multiple * atr
        if side * (price - target) >= 0:
            return "take_profit"
    return None
