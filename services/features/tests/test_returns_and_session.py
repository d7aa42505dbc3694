"""Log returns, realised volatility, session VWAP and time of day against independent numpy."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pytest
from jules_features.engine import FeatureEngine, FeatureEngineConfig, FeatureSchema
from numpy.lib.stride_tricks import sliding_window_view

from .market_data import DATASETS, MINUTE_NS, columns, make_bar, series

SCHEMA = FeatureSchema.from_names(
    ["logret_1", "logret_5", "rvol_20", "rvol_5", "vwap", "tod_sin", "tod_cos", "minute_of_day"]
)


@cache
def run(dataset: str, offset_minutes: int = 0):
    bars = DATASETS[dataset]()
    engine = FeatureEngine(SCHEMA, FeatureEngineConfig(session_start_offset_minutes=offset_minutes))
    return tuple(engine.on_bar(bar) for bar in bars), columns(bars)


def numpy_session_vwap(a: dict[str, np.ndarray], offset_minutes: int) -> np.ndarray:
    session = (a["start"] - offset_minutes * MINUTE_NS) // (1440 * MINUTE_NS)
    typical = (a["high"] + a["low"] + a["close"]) / 3
    vwap: np.ndarray = np.empty_like(typical)
    for day in np.unique(session):
        rows = session == day
        vwap[rows] = np.cumsum(typical[rows] * a["volume"][rows]) / np.cumsum(a["volume"][rows])
    return vwap


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("period", [1, 5])
def test_log_return_is_log_of_close_over_close_n_bars_ago(dataset, period):
    vectors, a = run(dataset)

    actual = series(vectors, f"logret_{period}")

    assert np.isnan(actual[:period]).all()
    expected = np.log(a["close"][period:] / a["close"][:-period])
    np.testing.assert_allclose(actual[period:], expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("period", [5, 20])
def test_realised_volatility_is_population_std_of_the_last_n_log_returns(dataset, period):
    vectors, a = run(dataset)

    actual = series(vectors, f"rvol_{period}")

    returns = np.log(a["close"][1:] / a["close"][:-1])
    expected = sliding_window_view(returns, period).std(axis=1, ddof=0)
    assert np.isnan(actual[:period]).all()
    np.testing.assert_allclose(actual[period:], expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("dataset", ["btc-perp-ftx", "coinbase-btcusd-2016"])
@pytest.mark.parametrize("offset_minutes", [0, 810])
def test_session_vwap_accumulates_typical_price_and_resets_at_session_start(
    dataset, offset_minutes
):
    vectors, a = run(dataset, offset_minutes)

    actual = series(vectors, "vwap")

    expected = numpy_session_vwap(a, offset_minutes)
    sessions = np.unique((a["start"] - offset_minutes * MINUTE_NS) // (1440 * MINUTE_NS))
    assert len(sessions) >= 3  # the data crosses session starts
    np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=0)


def test_vwap_is_undefined_until_the_session_trades_and_restarts_with_the_next_session():
    midnight = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp()) * 1_000_000_000
    bars = [
        make_bar("X.TEST", midnight - 2 * MINUTE_NS, (10, 12, 9, 11, 2.0)),  # previous session
        make_bar("X.TEST", midnight, (20, 20, 20, 20, 0.0)),  # no volume yet
        make_bar("X.TEST", midnight + MINUTE_NS, (20, 23, 19, 20, 1.0)),
        make_bar("X.TEST", midnight + 2 * MINUTE_NS, (21, 21, 21, 21, 3.0)),
    ]
    engine = FeatureEngine(FeatureSchema.from_names(["vwap"]))

    values = [engine.on_bar(bar).features["vwap"] for bar in bars]

    assert values[0] == pytest.approx((12 + 9 + 11) / 3)
    assert values[1] is None
    assert values[2] == pytest.approx((23 + 19 + 20) / 3)
    assert values[3] == pytest.approx(((23 + 19 + 20) / 3 * 1 + 21 * 3) / 4)


def test_volatility_of_a_flat_market_is_zero_after_moves_leave_the_window():
    start = 1_700_000_000 * 1_000_000_000
    closes = [100.0, 101.0, 99.5, 100.5] + [100.0] * 8
    bars = [
        make_bar("X.TEST", start + i * MINUTE_NS, (c, c, c, c, 1.0)) for i, c in enumerate(closes)
    ]
    engine = FeatureEngine(FeatureSchema.from_names(["rvol_3"]))

    values = [engine.on_bar(bar).features["rvol_3"] for bar in bars]

    assert values[:3] == [None, None, None]
    assert values[3] == pytest.approx(np.std(np.diff(np.log(closes[:4]))), rel=1e-9)
    assert values[-1] == 0.0


@pytest.mark.parametrize("offset_minutes", [0, 810])
def test_time_of_day_describes_the_bar_start_in_its_session_day(offset_minutes):
    vectors, a = run("coinbase-btcusd-2016", offset_minutes)

    for vector, start in zip(vectors[::97], a["start"][::97], strict=True):
        clock = datetime.fromtimestamp(int(start) // 1_000_000_000, tz=UTC)
        into_session = (clock - timedelta(minutes=offset_minutes)).time()
        seconds = into_session.hour * 3600 + into_session.minute * 60 + into_session.second
        assert vector.features["minute_of_day"] == seconds // 60
        assert vector.features["tod_sin"] == pytest.approx(
            math.sin(2 * math.pi * seconds / 86_400), abs=1e-12
        )
        assert vector.features["tod_cos"] == pytest.approx(
            math.cos(2 * math.pi * seconds / 86_400), abs=1e-12
        )
