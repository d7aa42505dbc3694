"""ATR breakout with a trailing stop.

Enter when the close breaks out of the last bars' channel, leave when it falls back by a
multiple of the average true range.
"""

from __future__ import annotations

from collections import deque

from jules_signal.sdk import Bar, Features, Field, Params, Strategy


class AtrBreakoutParams(Params):
    """Parameters of ``AtrBreakout``."""

    channel: int = Field(default=20, ge=2, le=10_000, description="Bars of the channel.")
    atr_period: int = Field(default=14, ge=2, le=10_000, description="Period of the ATR.")
    stop_atr: float = Field(default=2.0, gt=0, le=50, description="Trailing stop, in ATRs.")
    short: bool = Field(default=True, description="Also sell breakouts below the channel.")
    weight: float = Field(default=1.0, gt=0, le=1, description="Target weight of a position.")


class AtrBreakout(Strategy[AtrBreakoutParams]):
    """Breakouts of the previous ``channel`` bars, with a trailing stop in ATRs.

    Long above the highest high of the previous ``channel`` bars, short below their lowest
    low; a position's stop trails the best close by ``stop_atr`` ATRs, and a close beyond it
    goes flat. The channel and the stops are the strategy's own state, per instrument.
    """

    highs: dict[str, deque[float]]
    lows: dict[str, deque[float]]
    stops: dict[str, float]

    def features(self) -> list[str]:
        """The average true range."""
        return [f"atr_{self.params.atr_period}"]

    def on_start(self) -> None:
        """Empty channels and no stops."""
        self.highs, self.lows, self.stops = {}, {}, {}

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Trail or hit the stop, or enter on a breakout; then add the bar to the channel."""
        instrument, close = bar.instrument_id, bar.close
        atr = features[f"atr_{self.params.atr_period}"]
        highs = self.highs.setdefault(instrument, deque(maxlen=self.params.channel))
        lows = self.lows.setdefault(instrument, deque(maxlen=self.params.channel))
        held = self.position(instrument)
        if atr is not None and len(highs) == self.params.channel:
            distance = self.params.stop_atr * atr
            if held > 0:
                stop = max(self.stops[instrument], close - distance)
                self.stops[instrument] = stop
                if close < stop:
                    self.target(instrument, 0.0)
            elif held < 0:
                stop = min(self.stops[instrument], close + distance)
                self.stops[instrument] = stop
                if close > stop:
                    self.target(instrument, 0.0)
            elif close > max(highs):
                self.target(instrument, self.params.weight)
                self.stops[instrument] = close - distance
            elif close < min(lows) and self.params.short:
                self.target(instrument, -self.params.weight)
                self.stops[instrument] = close + distance
        highs.append(bar.high)
        lows.append(bar.low)
