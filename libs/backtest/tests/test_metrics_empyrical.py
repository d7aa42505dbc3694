"""The annualised metrics against empyrical, on real data and on generated return series.

empyrical and pandas are test-only: the metrics themselves are numpy. Daily closes are built
here with pandas (``resample("D", closed="right")``: a day is ``(00:00, 24:00]``, the bar
closing at midnight its last; days without points forward-filled), independently of
``daily_returns``, and every figure is compared with empyrical's with ``annualization=365``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jules_backtest.config import BacktestConfig
from jules_backtest.metrics import (
    MIN_DAYS,
    PERIODS_PER_YEAR,
    annualised_metrics,
    daily_returns,
    max_drawdown,
)
from jules_backtest.run import run_backtest

from .sample_data import DATA_DIR

BTC_PERP = "nautilus_trader/tests/test_data/btc-perp-20211231-20220201_1m.csv"
BITSTAMP = DATA_DIR / "pyalgotrade" / "testcases" / "data" / "bitstampUSD.csv"
EURO_FX = DATA_DIR / "nautilus_trader" / "tests" / "test_data" / "xcme"
EURO_FX_FILE = EURO_FX / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz"

needs_data = pytest.mark.skipif(not DATA_DIR.is_dir(), reason="shared data not found")


def pandas_daily_returns(series: pd.Series) -> pd.Series:
    """Returns of the UTC day closes, the first day's from the first point (the reference)."""
    days = series.resample("D", closed="right", label="right")
    closes = days.last().ffill().dropna()  # pandas may open with an empty day
    return pd.concat([series.iloc[:1], closes]).pct_change().iloc[1:]


def empyrical_figures(returns: pd.Series | np.ndarray, per_year: float) -> dict[str, float]:
    """empyrical's figures, named as in ``metrics.json``."""
    values = np.asarray(returns, dtype=np.float64)
    return {
        "cagr": empyrical.annual_return(values, annualization=per_year),
        "annual_volatility": empyrical.annual_volatility(values, annualization=per_year),
        "sharpe": empyrical.sharpe_ratio(values, annualization=per_year),
        "sortino": empyrical.sortino_ratio(values, annualization=per_year),
        "calmar": empyrical.calmar_ratio(values, annualization=per_year),
    }


def assert_same_figures(ours: dict[str, float | None], theirs: dict[str, float]) -> None:
    """Equal within 1e-9 (relative); ours ``None`` exactly where empyrical's is not finite."""
    assert set(ours) == set(theirs)
    for name, expected in theirs.items():
        value = ours[name]
        if not math.isfinite(expected):
            assert value is None, name
        else:
            assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), name


def price_series(times_ns: np.ndarray, prices: np.ndarray) -> pd.Series:
    return pd.Series(prices, index=pd.to_datetime(times_ns, unit="ns", utc=True))


@needs_data
def test_a_month_long_real_backtest_matches_empyrical(tmp_path: Path) -> None:
    config = BacktestConfig.model_validate(
        {
            "name": "btc-perp-month",
            "data_dir": DATA_DIR,
            "data": [{"path": BTC_PERP, "instrument_id": "BTC-PERP.FTX", "assume_utc": True}],
            "strategy": {"kind": "sma_cross", "fast": 60, "slow": 240, "mode": "long_short"},
            "risk": {"sizing": {"kind": "fixed_fraction", "fraction": 0.5}},
            "execution": {"fill_model": {"kind": "next_bar_open"}, "fees": {"taker_bps": 5}},
            "monte_carlo": {"samples": 0},
            "audit": {"level": "off"},
            "output_dir": tmp_path / "run",
        }
    )
    summary = run_backtest(config)
    metrics = summary.metrics
    stored = json.loads((summary.run_dir / "metrics.json").read_text())["metrics"]
    assert stored == metrics
    equity = pd.read_csv(summary.run_dir / "equity.csv", usecols=["time", "equity"])
    curve = pd.Series(equity["equity"].to_numpy(), index=pd.to_datetime(equity["time"]))

    daily = pandas_daily_returns(curve)

    assert metrics["days"] == len(daily) == 33 >= MIN_DAYS
    assert metrics["periods_per_year"] == PERIODS_PER_YEAR == 365
    assert metrics["sharpe"] is not None
    figures = {name: metrics[name] for name in empyrical_figures(daily, 365)}
    assert_same_figures(figures, empyrical_figures(daily, 365))
    # the headline drawdown is of every bar, as empyrical's of the per-bar returns
    per_bar = curve.pct_change().iloc[1:].to_numpy()
    assert metrics["max_drawdown"] == pytest.approx(empyrical.max_drawdown(per_bar), rel=1e-12)
    assert metrics["total_return"] == pytest.approx(empyrical.cum_returns_final(per_bar))
    assert metrics["total_return"] == pytest.approx(empyrical.cum_returns_final(daily))


@needs_data
def test_real_daily_closes_of_eight_months_of_bitcoin_trades_match_empyrical() -> None:
    trades = pd.read_csv(BITSTAMP, header=None, names=["seconds", "price", "amount"])
    times = trades["seconds"].to_numpy(dtype=np.int64) * 1_000_000_000
    prices = trades["price"].to_numpy(dtype=np.float64)

    ours = daily_returns(times.tolist(), prices.tolist())
    reference = pandas_daily_returns(price_series(times, prices))

    assert ours.size == len(reference) > 250
    np.testing.assert_allclose(ours, reference.to_numpy(), rtol=1e-12)
    assert_same_figures(annualised_metrics(ours), empyrical_figures(reference, 365))
    assert max_drawdown(np.concatenate(([1.0], np.cumprod(1 + ours)))) == pytest.approx(
        empyrical.max_drawdown(reference.to_numpy()), rel=1e-12
    )


@needs_data
def test_a_session_market_counts_its_weekends_as_days_without_return() -> None:
    bars = pd.read_csv(EURO_FX_FILE, usecols=["timestamp_utc", "close"])
    stamps = pd.to_datetime(bars["timestamp_utc"], utc=True)
    times = stamps.dt.as_unit("ns").astype("int64").to_numpy()
    closes = bars["close"].to_numpy(dtype=np.float64)

    ours = daily_returns(times.tolist(), closes.tolist())
    reference = pandas_daily_returns(price_series(times, closes))

    np.testing.assert_allclose(ours, reference.to_numpy(), rtol=1e-12)
    assert ours.size == 31  # every calendar day of January 2024
    assert np.count_nonzero(ours == 0.0) >= 4  # the four Saturdays: Globex is shut
    assert_same_figures(annualised_metrics(ours), empyrical_figures(reference, 365))


# Returns in whole basis points (ties and flat days included) or any float of at least 0.1 %:
# a drawdown of a few float ulps (returns of 1e-16) makes a Calmar ratio of rounding noise.
returns_lists = st.lists(
    st.one_of(
        st.integers(min_value=-5000, max_value=5000).map(lambda bps: bps / 10_000),
        st.floats(min_value=-0.5, max_value=0.5).filter(lambda r: abs(r) >= 1e-3),
    ),
    min_size=2,
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(returns=returns_lists, per_year=st.sampled_from([365, 252, 12, 52]))
def test_generated_return_series_match_empyrical(returns: list[float], per_year: int) -> None:
    values = np.asarray(returns, dtype=np.float64)
    ours = annualised_metrics(values, periods_per_year=per_year, min_periods=2)
    assert_same_figures(ours, empyrical_figures(values, per_year))


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3 * 86_400 * 10**9),
            st.floats(min_value=0.5, max_value=2.0, allow_nan=False),
        ),
        min_size=1,
        max_size=60,
    ),
    start=st.integers(min_value=1_500_000_000 * 10**9, max_value=1_600_000_000 * 10**9),
)
def test_generated_equity_curves_resample_as_pandas_does(
    steps: list[tuple[int, float]], start: int
) -> None:
    times = np.cumsum([start] + [gap for gap, _ in steps[1:]]).astype(np.int64)
    equity = np.asarray([level * 1000.0 for _, level in steps])

    ours = daily_returns(times.tolist(), equity.tolist())

    reference = pandas_daily_returns(price_series(times, equity))
    np.testing.assert_allclose(ours, reference.to_numpy(), rtol=1e-12, atol=1e-15)


def test_fewer_daily_returns_than_the_minimum_give_no_annualised_figure() -> None:
    rng = np.random.default_rng(3)
    returns = rng.normal(0.001, 0.02, MIN_DAYS)

    assert all(value is not None for value in annualised_metrics(returns).values())
    assert set(annualised_metrics(returns[:-1]).values()) == {None}
    short = annualised_metrics(returns[:-1], min_periods=MIN_DAYS - 1)
    assert_same_figures(short, empyrical_figures(returns[:-1], PERIODS_PER_YEAR))
