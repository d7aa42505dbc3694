"""The HTML report of a run: metrics, confidence intervals and plots (inline SVG).

Plots are drawn with matplotlib's object API (no pyplot global state) into SVG with a fixed
hash salt and no date, so the same run always gives a byte-identical report. matplotlib and
numpy are imported when a report is rendered, not with the module (``PriceSeries`` is imported
by ``outputs``, which the Kafka mode uses without plotting anything here).
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

    from jules_backtest.trades import RoundTrip

__all__ = ["PriceSeries", "render_report"]


@dataclass
class PriceSeries:
    """Closing prices of one instrument, for the price plot."""

    instrument_id: str
    times: list[int] = field(default_factory=list)
    closes: list[float] = field(default_factory=list)


_MAX_LINE_POINTS = 2000


def _thin(times: Sequence[int], values: Sequence[float]) -> tuple[list[int], list[float]]:
    """Every k-th point (and the last) so a line has at most ``_MAX_LINE_POINTS`` points.

    Only lines are thinned, for the size of the page; entries and exits are plotted exactly.
    """
    step = max(1, -(-len(times) // _MAX_LINE_POINTS))
    if step == 1:
        return list(times), list(values)
    index = [*range(0, len(times), step), len(times) - 1]
    index = sorted(set(index))
    return [times[i] for i in index], [values[i] for i in index]


def _figure(figsize: tuple[float, float]) -> Figure:
    """A new figure; the SVG settings (fixed hash salt, text as text) are set first."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    mpl.rcParams["svg.hashsalt"] = "intradayjules"
    mpl.rcParams["svg.fonttype"] = "none"
    return Figure(figsize=figsize)


def _dates(times: Sequence[int]) -> np.ndarray:
    import numpy as np

    return np.asarray(times, dtype="datetime64[ns]")


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _equity_plot(times: Sequence[int], equity: Sequence[float]) -> str:
    import numpy as np

    full = np.asarray(equity)
    drawdown_full = full / np.maximum.accumulate(full) - 1.0
    times, thinned = _thin(times, list(full))
    _, drawdown_list = _thin(list(range(len(full))), list(drawdown_full))
    curve = np.asarray(thinned)
    drawdown = np.asarray(drawdown_list)
    figure = _figure((10, 5))
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    dates = _dates(times)
    top.plot(dates, curve, color="#1f77b4", linewidth=1)
    top.set_ylabel("equity")
    top.grid(alpha=0.3)
    bottom.fill_between(dates, drawdown * 100, 0, color="#d62728", alpha=0.4, linewidth=0)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    figure.autofmt_xdate()
    return _svg(figure)


def _price_plot(series: PriceSeries, trips: Sequence[RoundTrip]) -> str:
    figure = _figure((10, 3.5))
    axis = figure.subplots()
    line_times, line_closes = _thin(series.times, series.closes)
    axis.plot(_dates(line_times), line_closes, color="#555555", linewidth=0.8)
    mine = [t for t in trips if t.instrument_id == series.instrument_id]
    for side, marker, color in (("LONG", "^", "#2ca02c"), ("SHORT", "v", "#d62728")):
        entries = [t for t in mine if t.side == side]
        axis.scatter(
            _dates([t.entry_time for t in entries]),
            [t.entry_price for t in entries],
            marker=marker,
            color=color,
            s=28,
            label=f"{side.lower()} entry",
            zorder=3,
        )
    exits = [
        (t.exit_time, t.exit_price)
        for t in mine
        if t.exit_time is not None and t.exit_price is not None
    ]
    axis.scatter(
        _dates([time for time, _ in exits]),
        [price for _, price in exits],
        marker="x",
        color="#000000",
        s=22,
        label="exit",
        zorder=3,
    )
    axis.set_title(series.instrument_id)
    axis.grid(alpha=0.3)
    axis.legend(loc="best", fontsize=8)
    figure.autofmt_xdate()
    return _svg(figure)


def _format(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.4f}"
    return html.escape(str(value))


def _table(rows: Mapping[str, object]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(key)}</th><td>{_format(value)}</td></tr>"
        for key, value in rows.items()
    )
    return f"<table>{body}</table>"


MAX_PRICE_PLOTS = 12
"""Price plots on one page at most: a universe's page shows its most traded instruments."""


def _most_traded(prices: Sequence[PriceSeries], trips: Sequence[RoundTrip]) -> list[PriceSeries]:
    """The price series to plot, in their order: all, or the ``MAX_PRICE_PLOTS`` most traded."""
    if len(prices) <= MAX_PRICE_PLOTS:
        return list(prices)
    counts: dict[str, int] = {}
    for trip in trips:
        counts[trip.instrument_id] = counts.get(trip.instrument_id, 0) + 1
    ranked = sorted(range(len(prices)), key=lambda i: (-counts.get(prices[i].instrument_id, 0), i))
    return [prices[i] for i in sorted(ranked[:MAX_PRICE_PLOTS])]


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
) -> str:
    """Render the report as one self-contained HTML page."""
    interval_rows = {
        f"{name} {quantile}": value
        for name, quantiles in intervals.items()
        for quantile, value in quantiles.items()
    }
    shown = _most_traded(prices, trips)
    price_plots = "".join(_price_plot(series, trips) for series in shown)
    if len(shown) < len(prices):
        price_plots += (
            f"<p>{len(prices) - len(shown)} more instruments are not plotted: the page shows "
            f"the {len(shown)} with the most round trips (every trade is in trades.csv).</p>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; margin: 0 2rem 1rem 0; display: inline-table; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.2rem 0.8rem; text-align: left; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }}
svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<h2>Metrics</h2>
{_table(metrics)}
<h2>Monte Carlo bootstrap (moving blocks)</h2>
{_table(interval_rows)}
<h2>Run settings</h2>
{_table(settings)}
<h2>Equity and drawdown</h2>
{_equity_plot(times, equity)}
<h2>Prices with entries and exits</h2>
{price_plots}
</body></html>
"""
