"""Users' strategies for the tests, loaded as a user's file is (``path: file.py:Class``)."""

from __future__ import annotations

from datetime import timedelta

from jules_contracts import Bar
from jules_signal.sdk import Features, Field, Params, Strategy, Timer

BTC = "BTCUSD.COINBASE"
ETH = "ETHUSD.COINBASE"


class ThresholdParams(Params):
    level: float = Field(default=100.0, gt=0, description="Long above it, flat below.")


class Threshold(Strategy[ThresholdParams]):
    """Long while the close is above ``level``; logs what each hook saw."""

    seen: list[tuple[str, int]]

    def features(self) -> list[str]:
        return ["sma_3"]

    def on_start(self) -> None:
        self.seen = [("start", self.time)]
        self.every("hourly", timedelta(minutes=60))

    def on_timer(self, timer: Timer) -> None:
        self.seen.append((timer.name, timer.time))

    def on_bar(self, bar: Bar, features: Features) -> None:
        self.seen.append(("bar", bar.event_time))
        if features["sma_3"] is None:
            return
        self.target(bar.instrument_id, 1.0 if bar.close > self.params.level else 0.0)


class Boom(Strategy[Params]):
    def on_bar(self, bar: Bar, features: Features) -> None:
        if bar.close > 101:
            raise ZeroDivisionError("the user's bug")
        self.target(bar.instrument_id, 0.5)


class BothLegs(Strategy[Params]):
    def on_bar(self, bar: Bar, features: Features) -> None:
        if bar.instrument_id == ETH:  # decide on the second leg's bar
            self.target(BTC, -0.5)
            self.target(ETH, 0.5)
