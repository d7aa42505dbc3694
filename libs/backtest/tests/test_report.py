"""The report's numbers, formats and page, against hand computations (no browser here)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from jules_backtest.outputs import PriceSeries
from jules_backtest.report import MONTE_CARLO_PERCENTILES, render_report
from jules_backtest.report_data import (
    Returns,
    buy_and_hold,
    cumulative_fees,
    denial_counts,
    monthly_returns,
    plot_times,
    quality_counts,
    rolling_stats,
    sampled_returns,
    thin_index,
    trade_hover,
)
from jules_backtest.report_html import format_metric, format_value, metrics_table
from jules_backtest.trades import Fill, RoundTrip

MINUTE = 60 * 10**9


def ns(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 10**9


def fill(time: int, instrument: str, fee: float) -> Fill:
    return Fill(instrument, time, 1.0, 100.0, fee, "c", "f", "TAKER", "BUY")


def test_percentages_are_shown_in_percent_and_none_as_n_a():
    assert format_value(0.1234, "pct") == "12.34 %"
    assert format_value(-0.5, "pct") == "-50.00 %"
    assert format_metric("total_return", 0.123456) == "12.35 %"
    assert format_metric("max_drawdown", -0.0725) == "-7.25 %"
    assert format_metric("sharpe", 1.23456) == "1.23"
    assert format_metric("trade_count", 1234) == "1,234"
    assert format_metric("sharpe", None) == "n/a"
    assert format_metric("cagr", float("nan")) == "n/a"


def test_unknown_metrics_get_a_label_and_a_format_from_their_name_and_value():
    table = metrics_table(
        {"daily_return_mean": 0.01, "new_ratio": 2.5, "days": 3, "note": "<b>", "omega": None}
    )
    assert "<th>Daily return mean</th><td>1.00 %</td>" in table
    assert "<th>New ratio</th><td>2.5000</td>" in table
    assert "<th>Days</th><td>3</td>" in table
    assert "<th>Note</th><td>&lt;b&gt;</td>" in table  # escaped
    assert "<th>Omega</th><td>n/a</td>" in table


def test_known_metrics_come_first_in_their_order():
    table = metrics_table({"zeta": 1, "sharpe": 1.0, "total_return": 0.1})
    labels = re.findall(r"<th>([^<]*)</th>", table)
    assert labels == ["Total return", "Sharpe ratio", "Zeta"]


def test_buy_and_hold_holds_an_equal_share_of_each_instrument():
    a = PriceSeries("A", [0, 2, 4], [100.0, 110.0, 120.0])
    b = PriceSeries("B", [1, 3], [50.0, 25.0])  # starts later: held at its first close before
    values = buy_and_hold([0, 1, 2, 3, 4], [a, b], 1000.0)
    assert values is not None
    # half in A (100 -> 110 -> 120), half in B (50 -> 25 from t=3)
    expected = [1000.0, 1000.0, 500 * 1.1 + 500, 500 * 1.1 + 250, 500 * 1.2 + 250]
    assert values.tolist() == pytest.approx(expected)
    assert buy_and_hold([0, 1], [], 1000.0) is None


def test_monthly_returns_chain_each_month_on_the_previous_month_end():
    times = [ns(2024, 1, 1), ns(2024, 1, 31), ns(2024, 2, 15), ns(2024, 4, 2), ns(2025, 1, 3)]
    equity = [100.0, 110.0, 99.0, 108.9, 54.45]
    monthly = monthly_returns(times, equity)
    assert monthly.years == [2024, 2025]
    first, second = monthly.table
    assert first[0] == pytest.approx(0.10)  # 100 -> 110
    assert first[1] == pytest.approx(-0.10)  # 110 -> 99
    assert first[2] is None  # no point in March
    assert first[3] == pytest.approx(0.10)  # 99 -> 108.9
    assert second[0] == pytest.approx(-0.50)
    assert second[1:] == [None] * 11


def test_the_trade_hover_shows_side_time_price_quantity_and_pnl():
    trip = RoundTrip("BTC.X", "SHORT", 2.5, ns(2024, 3, 1, 9, 30), 100.0, ns(2024, 3, 1, 10), 90.0,
                     25.0, 1.5)  # fmt: skip
    entry = trade_hover(trip, "entry")
    assert entry == (
        "<b>SHORT entry</b><br>BTC.X<br>time 2024-03-01 09:30:00 UTC<br>price 100"
        "<br>quantity 2.5<br>PnL 25.00 (net of fees 23.50)"
    )
    exit_text = trade_hover(trip, "exit")
    assert "<b>SHORT exit</b>" in exit_text
    assert "time 2024-03-01 10:00:00 UTC" in exit_text
    assert "price 90" in exit_text
    open_trip = RoundTrip("<i>", "LONG", 1.0, 0, 5.0, None, None, 0.0, 0.0)
    assert "(open at the end)" in trade_hover(open_trip, "entry")
    assert "&lt;i&gt;" in trade_hover(open_trip, "entry")


def test_rolling_statistics_match_a_direct_computation():
    rng = np.random.default_rng(3)
    values = rng.normal(0.001, 0.01, 300)
    returns = Returns(list(range(300)), values, per_year=252.0, unit="day")
    volatility, sharpe = rolling_stats(returns, 20)
    assert np.isnan(volatility[:19]).all()
    for end in (19, 100, 299):
        window = values[end - 19 : end + 1]
        std = window.std(ddof=1)
        assert volatility[end] == pytest.approx(std * np.sqrt(252), rel=1e-9)
        assert sharpe[end] == pytest.approx(window.mean() / std * np.sqrt(252), rel=1e-9)


def test_long_runs_are_sampled_daily_short_ones_per_bar():
    short = sampled_returns([0, MINUTE, 2 * MINUTE], [100.0, 101.0, 100.0])
    assert short.unit == "bar"
    assert short.values.tolist() == pytest.approx([0.01, 100 / 101 - 1])
    days = [ns(2024, 1, 1) + d * 86_400 * 10**9 + h * 3_600 * 10**9 for d in range(100)
            for h in (0, 12)]  # fmt: skip
    equity = [100.0 + i for i in range(len(days))]
    daily = sampled_returns(days, equity)
    assert daily.unit == "day"
    assert daily.values.size == 100  # from the first point to each day's last
    assert daily.values[0] == pytest.approx(101.0 / 100.0 - 1)
    assert daily.values[1] == pytest.approx(103.0 / 101.0 - 1)


def test_fees_denials_and_data_quality_are_counted():
    fees = cumulative_fees([fill(2, "B", 1.0), fill(1, "A", 2.0), fill(3, "A", 0.5)])
    assert list(fees) == ["all", "A", "B"]
    assert fees["all"][0] == [1, 2, 3]
    assert fees["all"][1].tolist() == [2.0, 3.0, 3.5]
    assert fees["A"][1].tolist() == [2.0, 2.5]
    reasons = ["ORDER_NOTIONAL_LIMIT", "PRICE_COLLAR|ORDER_NOTIONAL_LIMIT", "KILL_SWITCH", ""]
    assert denial_counts(reasons) == {
        "ORDER_NOTIONAL_LIMIT": 2,
        "KILL_SWITCH": 1,
        "PRICE_COLLAR": 1,
    }
    quality = {
        "accepted_bars_by_instrument": {"A": 10, "B": 12},
        "rejected_by_reason": {"NON_POSITIVE_PRICE": 2},
        "rejected_examples": ["a.csv:3: NON_POSITIVE_PRICE: close 0"],
        "ignored_non_bar_events": 4,
    }
    assert quality_counts(quality) == {
        "accepted bars · A": 10,
        "accepted bars · B": 12,
        "rejected · NON_POSITIVE_PRICE": 2,
        "ignored non bar events": 4,
    }


def test_thinning_keeps_the_last_point_and_at_most_the_limit():
    assert thin_index(5, 10) == [0, 1, 2, 3, 4]
    index = thin_index(10_001, 2000)
    assert len(index) <= 2001
    assert index[0] == 0
    assert index[-1] == 10_000
    assert plot_times([ns(2024, 5, 6, 7, 8)]) == ["2024-05-06 07:08:00"]


def _report(**changes: object) -> str:
    times = [ns(2024, 1, 31, 23, 58) + i * MINUTE for i in range(200)]
    equity = [100_000.0 * (1 + 0.001 * np.sin(i / 7)) for i in range(200)]
    trips = [RoundTrip("A.X", "LONG", 1.0, times[10], 100.0, times[40], 102.0, 2.0, 0.1),
             RoundTrip("A.X", "SHORT", 2.0, times[50], 101.0, None, None, -1.0, 0.2)]  # fmt: skip
    arguments: dict[str, object] = {
        "title": "t <1>",
        "settings": {"seed": 7, "fill model": "next_bar_open"},
        "metrics": {"total_return": 0.0123, "sharpe": None, "brand_new": 3},
        "intervals": {"total_return": {"p05": -0.01, "p50": 0.0, "p95": 0.02}},
        "times": times,
        "equity": equity,
        "prices": [PriceSeries("A.X", times, [100.0 + i / 10 for i in range(200)])],
        "trips": trips,
        "gross_exposure": [50_000.0] * 200,
        "fills": [fill(times[10], "A.X", 0.1), fill(times[40], "A.X", 0.1)],
        "denial_reasons": ["ORDER_NOTIONAL_LIMIT"],
        "data_quality": {"accepted_bars_by_instrument": {"A.X": 200}, "rejected_by_reason": {}},
        "monte_carlo": {"total_return": {f"p{round(q * 100):02d}": q / 10 - 0.05
                                         for q in MONTE_CARLO_PERCENTILES}},
    }  # fmt: skip
    arguments.update(changes)
    return render_report(**arguments)  # type: ignore[arg-type]


PLOT_IDS = [
    "plot-equity",
    "plot-price-1",
    "plot-monthly",
    "plot-histogram",
    "plot-exposure",
    "plot-rolling",
    "plot-fees",
    "plot-denials",
    "plot-quality",
    "plot-monte-carlo",
]


def _figures(page: str) -> dict[str, Any]:
    block = page.split("var JULES_FIGURES = [\n", 1)[1].split("\n];\n", 1)[0]
    entries = json.loads(f"[{block}]")
    return dict(entries)


def test_the_page_is_self_contained_and_byte_identical_when_rendered_again():
    page = _report()
    assert page == _report()
    assert "<script src" not in page  # plotly.js is inline, once
    assert page.count("Copyright 2012") == 1
    assert re.findall(r'<div class="plot" id="([^"]+)">', page) == PLOT_IDS
    assert list(_figures(page)) == PLOT_IDS
    assert "t &lt;1&gt;" in page
    assert "<th>Brand new</th><td>3</td>" in page
    assert "<th>Sharpe ratio</th><td>n/a</td>" in page
    assert "<td>1.23 %</td>" in page


def test_the_figures_hold_the_run_s_numbers():
    figures = _figures(_report())
    equity = figures["plot-equity"]["data"]
    assert [trace["name"] for trace in equity] == [
        "strategy",
        "buy-and-hold (equal weight)",
        "drawdown",
    ]
    price = figures["plot-price-1"]["data"]
    entries = {trace["name"]: trace for trace in price}
    assert entries["long entry"]["y"] == [100.0]
    assert entries["long entry"]["hovertext"][0].startswith("<b>LONG entry</b>")
    assert entries["short entry"]["hovertext"][0].endswith("(net of fees -1.20)")
    assert entries["exit (green: profit)"]["y"] == [102.0]
    monthly = figures["plot-monthly"]["data"][0]
    assert monthly["y"] == ["2024"]
    equity = [100_000.0 * (1 + 0.001 * np.sin(i / 7)) for i in range(200)]  # as _report's
    january = equity[1] / equity[0] - 1  # 23:58 and 23:59 on 31 January
    february = equity[-1] / equity[1] - 1
    assert monthly["z"][0][:2] == [round(january * 100, 4), round(february * 100, 4)]
    assert monthly["z"][0][2:] == [None] * 10
    denials = figures["plot-denials"]["data"][0]
    assert denials["y"] == ["ORDER_NOTIONAL_LIMIT"]
    assert denials["x"] == [1]


def test_a_report_without_trades_fills_denials_or_bootstrap_still_renders_every_plot():
    page = _report(
        trips=[], fills=[], denial_reasons=[], monte_carlo=None, intervals={}, gross_exposure=[]
    )
    assert re.findall(r'<div class="plot" id="([^"]+)">', page) == PLOT_IDS
    assert "No trades." in page
    assert "no order was denied" in page
