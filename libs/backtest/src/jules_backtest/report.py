"""The HTML report of a run: interactive plotly figures, the metrics and the trades, one page.

The page is self-contained (plotly.js inline, once; no network) and deterministic: fixed
element ids, no dates or random ids, numbers serialised by the standard library's JSON encoder,
so the same run always gives a byte-identical ``report.html``. The numbers come from
``report_data``, the figures from ``report_figures``, the HTML from ``report_html``; they (and
numpy and plotly) are imported when a report is rendered, not with this module.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from jules_backtest.outputs import PriceSeries
    from jules_backtest.report_data import Floats
    from jules_backtest.trades import Fill, RoundTrip

__all__ = [
    "MAX_PRICE_PLOTS",
    "MAX_TABLE_TRADES",
    "MONTE_CARLO_PERCENTILES",
    "render_report",
]


MAX_PRICE_PLOTS = 12
"""Price plots on one page at most: a universe's page shows its most traded instruments."""

MAX_TABLE_TRADES = 1000
"""Rows of the trade table at most (every trade is in ``trades.csv``)."""

MONTE_CARLO_PERCENTILES = tuple(i / 100 for i in range(1, 100))
"""The levels of the bootstrap's distribution in the report: percentiles 1 to 99."""


def _most_traded(prices: Sequence[PriceSeries], trips: Sequence[RoundTrip]) -> list[PriceSeries]:
    """The price series to plot, in their order: all, or the ``MAX_PRICE_PLOTS`` most traded."""
    if len(prices) <= MAX_PRICE_PLOTS:
        return list(prices)
    counts: dict[str, int] = {}
    for trip in trips:
        counts[trip.instrument_id] = counts.get(trip.instrument_id, 0) + 1
    ranked = sorted(range(len(prices)), key=lambda i: (-counts.get(prices[i].instrument_id, 0), i))
    return [prices[i] for i in sorted(ranked[:MAX_PRICE_PLOTS])]


class _Page:
    """The page's sections and figures, in order; each figure gets a fixed id."""

    def __init__(self) -> None:
        self.sections: list[str] = []
        self.figures: list[tuple[str, str]] = []

    def plot(self, div_id: str, figure: Figure) -> str:
        """Register a figure; returns its (empty) element, which the page's script fills."""
        from jules_backtest.report_html import figure_json

        self.figures.append((div_id, figure_json(figure)))
        return f'<div class="plot" id="{div_id}"></div>'

    def section(self, heading: str, *parts: str) -> None:
        """Add a section: a heading and its parts, one below the other."""
        self.sections.append(f"<section><h2>{html.escape(heading)}</h2>{''.join(parts)}</section>")


def _side_by_side(*parts: str) -> str:
    """Parts next to each other (one below the other on a narrow screen)."""
    return '<div class="grid2">' + "".join(f"<div>{part}</div>" for part in parts) + "</div>"


def render_report(
    *,
    title: str,
    settings: Mapping[str, object],
    metrics: Mapping[str, object],
    intervals: Mapping[str, Mapping[str, float]],
    times: Sequence[int],
    equity: Sequence[float],
    prices: Sequence[PriceSeries],
    trips: Sequence[RoundTrip],
    gross_exposure: Sequence[float] = (),
    fills: Sequence[Fill] = (),
    denial_reasons: Sequence[str] = (),
    data_quality: Mapping[str, object] | None = None,
    monte_carlo: Mapping[str, Mapping[str, float]] | None = None,
) -> str:
    """Render the report as one self-contained HTML page.

    Args:
        title: The page's title.
        settings: The run's settings, shown as given.
        metrics: ``metrics.json``'s metrics (any keys; ``None`` is shown as n/a).
        intervals: ``metrics.json``'s Monte Carlo intervals.
        times: Event time of each equity point (ns).
        equity: Equity at each point.
        prices: Closes of each instrument (the price plots and buy-and-hold, equal weight).
        trips: The round trips (markers and the trade table).
        gross_exposure: Gross exposure at each equity point (empty: none shown).
        fills: Every fill (cumulative fees).
        denial_reasons: The reasons of each denied order (codes joined by ``|``).
        data_quality: ``data_quality.json``'s content.
        monte_carlo: Percentiles of the bootstrap's statistics (``MONTE_CARLO_PERCENTILES``)
            for the distribution plot; without it the plot shows the intervals only.
    """
    from jules_backtest import report_data as data
    from jules_backtest import report_figures as figures
    from jules_backtest import report_html as page_html

    benchmark = data.buy_and_hold(times, prices, equity[0]) if equity else None
    page = _Page()
    page.sections.append(_tiles(metrics, benchmark, fills))
    page.section(
        "Equity", page.plot("plot-equity", figures.equity_figure(times, equity, benchmark))
    )
    shown = _most_traded(prices, trips)
    plots = [
        page.plot(f"plot-price-{i}", figures.price_figure(series, trips))
        for i, series in enumerate(shown, start=1)
    ]
    if len(shown) < len(prices):
        plots.append(
            f'<p class="note">{len(prices) - len(shown)} more instruments are not plotted: the '
            f"page shows the {len(shown)} with the most round trips (every trade is in "
            "trades.csv).</p>"
        )
    page.section("Prices with entries and exits (hover a marker for the trade)", *plots)
    page.section(
        f"Trades ({len(trips):,} round trips; click a header to sort)",
        page_html.trade_table(trips, MAX_TABLE_TRADES),
    )
    returns = data.sampled_returns(times, equity)
    window = data.rolling_window(returns)
    page.section(
        "Returns",
        page.plot("plot-monthly", figures.monthly_figure(data.monthly_returns(times, equity))),
    )
    exposure = data.exposure_percent(equity, gross_exposure) if gross_exposure else None
    page.section(
        "Risk",
        _side_by_side(
            page.plot("plot-histogram", figures.histogram_figure(returns)),
            page.plot("plot-exposure", figures.exposure_figure(times, exposure)),
        ),
        page.plot(
            "plot-rolling",
            figures.rolling_figure(returns, window, *data.rolling_stats(returns, window)),
        ),
    )
    page.section(
        "Costs and orders",
        _side_by_side(
            page.plot("plot-fees", figures.fees_figure(data.cumulative_fees(fills))),
            page.plot("plot-denials", figures.denials_figure(data.denial_counts(denial_reasons))),
        ),
    )
    quality = data_quality or {}
    page.section(
        "Data quality",
        page.plot("plot-quality", figures.quality_figure(data.quality_counts(quality))),
        _examples(quality),
    )
    page.section(
        "Monte Carlo bootstrap (moving blocks)",
        page.plot(
            "plot-monte-carlo", figures.monte_carlo_figure(monte_carlo or {}, intervals, metrics)
        ),
        page_html.intervals_table(intervals),
    )
    page.section(
        "Metrics and settings",
        page_html.metrics_table(metrics),
        page_html.settings_table(settings),
    )
    return page_html.page(title, "\n".join(page.sections), page.figures)


def _tiles(metrics: Mapping[str, object], benchmark: Floats | None, fills: Sequence[Fill]) -> str:
    """The headline figures: return against buy-and-hold, risk, trades, fees, denials."""
    from jules_backtest.report_html import format_metric, format_value, metric_label, summary_tiles

    def tone(value: object, good_above: float = 0.0) -> str:
        if not isinstance(value, int | float):
            return ""
        return "good" if value > good_above else "bad"

    total = metrics.get("total_return")
    held = float(benchmark[-1] / benchmark[0] - 1.0) if benchmark is not None else None
    shown = ("sharpe", "max_drawdown", "win_rate", "trade_count", "orders_denied")
    return summary_tiles(
        [
            ("Total return", format_metric("total_return", total), tone(total)),
            ("Buy-and-hold return", format_value(held, "pct"), ""),
            *[(metric_label(key), format_metric(key, metrics.get(key)), "") for key in shown],
            ("Fees paid", format_value(sum(fill.fee for fill in fills), "money"), ""),
        ]
    )


def _examples(quality: Mapping[str, object]) -> str:
    """The rejected rows ``data_quality.json`` keeps as examples, as a list."""
    examples = quality.get("rejected_examples")
    if not isinstance(examples, list) or not examples:
        return '<p class="note">No row was rejected.</p>'
    items = "".join(f"<li>{html.escape(str(example))}</li>" for example in examples)
    return f'<p class="note">Examples of rejected rows:</p><ul class="note">{items}</ul>'
