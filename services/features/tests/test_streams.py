"""A TA-Lib stream opens on the series' first bars, or later on all of them if it must."""

from __future__ import annotations

from typing import Any

import numpy as np
import talib
from jules_features.engine.streams import TalibStream

from .market_data import btc_perp_bars, columns

CLOSE = columns(btc_perp_bars(300))["close"]


class OpensOneBarLate:
    """Stands in for a talib.stream factory that needs one bar more than the lookback."""

    def __init__(self, lookback: int) -> None:
        self.lookback = lookback
        self.histories: list[int] = []

    def __call__(self, real: np.ndarray, **params: Any) -> Any:
        self.histories.append(len(real))
        if len(real) <= self.lookback + 1:
            raise talib.InsufficientHistory("one more bar, please")  # type: ignore[attr-defined]
        return talib.stream.EMA(real, **params)


def test_stream_opens_at_the_lookback_and_then_follows_the_batch_function():
    stream = TalibStream("EMA", {"timeperiod": 10}, 1)

    values = [stream.update(float(close))[0] for close in CLOSE]

    assert stream.lookback == 9
    assert values[:9] == [None] * 9
    np.testing.assert_array_equal(np.array(values[9:]), talib.EMA(CLOSE, 10)[9:])


def test_a_stream_that_needs_more_history_keeps_every_bar_since_the_first():
    stream = TalibStream("EMA", {"timeperiod": 10}, 1)
    fake = OpensOneBarLate(stream.lookback)
    stream._factory = fake  # the seam: where the handle comes from

    values = [stream.update(float(close))[0] for close in CLOSE]

    assert fake.histories == [10, 11]  # refused at lookback + 1, opened on all 11 bars
    assert values[:10] == [None] * 10
    np.testing.assert_array_equal(np.array(values[10:]), talib.EMA(CLOSE, 10)[10:])


def test_multi_output_functions_return_every_output():
    stream = TalibStream("BBANDS", {"timeperiod": 5, "nbdevup": 2.0, "nbdevdn": 2.0}, 1)

    last = [stream.update(float(close)) for close in CLOSE][-1]

    assert stream.n_outputs == 3
    expected = [band[-1] for band in talib.BBANDS(CLOSE, 5, 2.0, 2.0)]
    assert list(last) == expected
