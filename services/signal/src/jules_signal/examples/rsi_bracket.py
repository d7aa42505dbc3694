"""RSI dips bought with a bracket around the entry's fill.

Buy when the RSI says oversold; once the entry fills, take profit and stop out at fixed
distances from the price it filled at (not from the close it was decided on). The strategy
learns that price from its own fills (``on_fill``).
"""

from __future__ import annotations

from jules_signal.sdk import Bar, Features, Field, Fill, OrderSide, Params, Strategy


class RsiBracketParams(Params):
    """Parameters of ``RsiBracket``."""

    rsi_period: int = Field(default=14, ge=2, le=10_000, description="Period of the RSI.")
    oversold: float = Field(default=30.0, gt=0, lt=100, description="Buy below this RSI.")
    take_profit: float = Field(
        default=0.01, gt=0, le=1, description="Exit this fraction above the entry's fill price."
    )
    stop_loss: float = Field(
        default=0.005, gt=0, lt=1, description="Exit this fraction below the entry's fill price."
    )
    weight: float = Field(default=1.0, gt=0, le=1, description="Target weight of a position.")


class RsiBracket(Strategy[RsiBracketParams]):
    """Long on an oversold RSI; out at ``take_profit`` above or ``stop_loss`` below the entry.

    ``entries`` holds the average price of each instrument's open entry, set by the entry's
    fills and forgotten when fills take the position back to flat (its own exit, or one risk
    made).
    """

    entries: dict[str, float]

    def features(self) -> list[str]:
        """The RSI."""
        return [f"rsi_{self.params.rsi_period}"]

    def on_start(self) -> None:
        """No entries."""
        self.entries = {}

    def on_fill(self, fill: Fill) -> None:
        """Remember the entry's fill price; forget it once the position is flat again."""
        instrument = fill.instrument_id
        if self.holding(instrument) <= 0:
            self.entries.pop(instrument, None)
        elif self.is_mine(fill) and fill.side is OrderSide.BUY:
            self.entries[instrument] = fill.average_price

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Exit at the bracket around the entry's fill, or enter on an oversold RSI."""
        instrument, close = bar.instrument_id, bar.close
        entry = self.entries.get(instrument)
        if entry is not None:
            params = self.params
            if close >= entry * (1 + params.take_profit) or close <= entry * (1 - params.stop_loss):
                self.target(instrument, 0.0)
            return
        rsi = features[f"rsi_{self.params.rsi_period}"]
        if self.position(instrument) == 0 and rsi is not None and rsi < self.params.oversold:
            self.target(instrument, self.params.weight)
