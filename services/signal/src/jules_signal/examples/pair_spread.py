"""A two-instrument spread.

Trade the z-score of the log-price ratio of two related instruments: short the rich one and
buy the cheap one, out when the spread comes back.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from typing import Self

from pydantic import model_validator

from jules_signal.sdk import Bar, Features, Field, Params, Strategy


class PairSpreadParams(Params):
    """Parameters of ``PairSpread``."""

    first: str = Field(description="Instrument id of the first leg (BTCUSD.COINBASE).")
    second: str = Field(description="Instrument id of the second leg.")
    window: int = Field(default=60, ge=5, le=100_000, description="Bars of the z-score.")
    entry_z: float = Field(default=2.0, gt=0, description="Enter beyond this z-score.")
    exit_z: float = Field(default=0.5, ge=0, description="Exit inside this z-score.")
    weight: float = Field(default=0.5, gt=0, le=1, description="Target weight of each leg.")

    @model_validator(mode="after")
    def _legs(self) -> Self:
        if self.first == self.second:
            raise ValueError("first and second must be different instruments")
        if self.exit_z >= self.entry_z:
            raise ValueError(f"exit_z ({self.exit_z}) must be below entry_z ({self.entry_z})")
        return self


class PairSpread(Strategy[PairSpreadParams]):
    """The z-score of ``ln(first) - ln(second)``, traded as a spread.

    At each time both legs have a bar: the spread ``ln(first) - ln(second)``, its z-score
    over the last ``window`` times; above ``entry_z`` short the first leg and buy the second,
    below ``-entry_z`` the reverse; back inside ``exit_z``, both flat.

    In a backtest (embedded or replayed) the bars of one time come in instrument-id order, so
    the decision is made on the later leg's bar; live, on whichever leg's bar comes second.
    """

    spreads: deque[float]
    decided_at: int

    def on_start(self) -> None:
        """No spread seen yet."""
        self.spreads = deque(maxlen=self.params.window)
        self.decided_at = -1

    def on_bar(self, bar: Bar, features: Features) -> None:
        """Decide once both legs have their bar of this time (on the second one's)."""
        first, second = self.last_bar(self.params.first), self.last_bar(self.params.second)
        if bar.instrument_id not in (self.params.first, self.params.second):
            return
        if first is None or second is None or first.event_time != second.event_time:
            return  # the other leg's bar of this time has not come yet
        if self.decided_at == bar.event_time:
            return
        self.decided_at = bar.event_time
        self.spreads.append(math.log(first.close) - math.log(second.close))
        if len(self.spreads) < self.params.window:
            return
        spread, mean = self.spreads[-1], statistics.fmean(self.spreads)
        deviation = statistics.pstdev(self.spreads, mean)
        if deviation == 0:
            return
        z = (spread - mean) / deviation
        weight = self.params.weight
        held = self.position(self.params.first)
        if z > self.params.entry_z:
            self._legs(-weight)
        elif z < -self.params.entry_z:
            self._legs(weight)
        elif held != 0 and abs(z) < self.params.exit_z:
            self._legs(0.0)

    def _legs(self, first_weight: float) -> None:
        self.target(self.params.first, first_weight)
        self.target(self.params.second, -first_weight)
