"""The report's plotly figures, built from the numbers of ``report_data``.

plotly is imported inside each function: the module is imported only when a report is rendered.
Every figure carries the same small template (not plotly's default one, which would be repeated
in each figure's JSON), so the page stays small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from jules_backtest.report_data import (
    MonthlyReturns,
    Returns,
    drawdown,
    plot_times,
    thin_index,
    trade_hover,
)
from jules_backtest.report_html import format_value, metric_label

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from jules_backtest.outputs import PriceSeries
    from jules_backtest.report_data import Floats
    from jules_backtest.trades import RoundTrip

__all__ = [
    "denials_figure",
    "equity_figure",
    "exposure_figure",
    "fees_figure",
    "histogram_figure",
    "monte_carlo_figure",
    "monthly_figure",
    "price_figure",
    "quality_figure",
    "rolling_figure",
]

BLUE, GREY, RED, GREEN, ORANGE, BLACK = (
    "#1f77b4",
    "#7f7f7f",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#222222",
)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _layout(title: str, height: int, **extra: Any) -> dict[str, Any]:
    """The layout every figure shares: its title, height and a light template."""
    axis = {"gridcolor": "#e5e5e5", "zerolinecolor": "#cccccc", "automargin": True}
    return {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
        "template": {
            "layout": {
                "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#222"},
                "paper_bgcolor": "#ffffff",
                "plot_bgcolor": "#ffffff",
                "xaxis": axis,
                "yaxis": axis,
                "hovermode": "closest",
                "legend": {"orientation": "h", "y": -0.15},
            }
        },
        **extra,
    }


def _figure(title: str, height: int = 340, **extra: Any) -> Figure:
    import plotly.graph_objects as go

    return go.Figure(layout=_layout(title, height, **extra))


def _note(figure: Figure, text: str) -> Figure:
    """Say in the middle of an empty figure why it is empty."""
    figure.add_annotation(
        text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 14}
    )
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return figure


def _line(
    times: Sequence[int],
    values: Floats,
    name: str,
    color: str | None = None,
    *,
    width: float = 1.4,
    dash: str = "solid",
    shape: str = "linear",
    **extra: Any,
) -> dict[str, Any]:
    """A thinned line trace (a ``scatter`` in lines mode)."""
    keep = thin_index(len(times))
    line: dict[str, Any] = {"width": width, "dash": dash, "shape": shape}
    if color is not None:
        line["color"] = color
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": plot_times(times[i] for i in keep),
        "y": np.asarray(values, dtype=np.float64)[keep],
        "line": line,
        **extra,
    }


def equity_figure(
    times: Sequence[int], equity: Sequence[float], benchmark: Floats | None
) -> Figure:
    """Equity against buy-and-hold (top) and the drawdown in percent (bottom)."""
    from plotly.subplots import make_subplots

    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    figure.update_layout(_layout("Equity against buy-and-hold, and drawdown", 520))
    curve = np.asarray(equity, dtype=np.float64)
    figure.add_trace(_line(times, curve, "strategy", BLUE), row=1, col=1)
    if benchmark is not None:
        name = "buy-and-hold (equal weight)"
        figure.add_trace(_line(times, benchmark, name, GREY, dash="dot"), row=1, col=1)
    figure.add_trace(
        _line(times, drawdown(curve) * 100, "drawdown", RED, fill="tozeroy", showlegend=False),
        row=2,
        col=1,
    )
    figure.update_yaxes(title_text="equity", row=1, col=1)
    figure.update_yaxes(title_text="drawdown %", row=2, col=1)
    return figure


def _markers(
    trips: Sequence[RoundTrip], leg: str, name: str, symbol: str, colors: str | list[str]
) -> dict[str, Any]:
    """The entry or exit markers of ``trips``, with the trade in the hover text."""
    exit_leg = leg == "exit"
    return {
        "type": "scatter",
        "mode": "markers",
        "name": name,
        "x": plot_times(t.exit_time or 0 if exit_leg else t.entry_time for t in trips),
        "y": [t.exit_price if exit_leg else t.entry_price for t in trips],
        "hovertext": [trade_hover(t, leg) for t in trips],
        "hovertemplate": "%{hovertext}<extra></extra>",
        "marker": {"symbol": symbol, "color": colors, "size": 9, "line": {"width": 0}},
    }


def price_figure(series: PriceSeries, trips: Sequence[RoundTrip]) -> Figure:
    """One instrument's closes with its trades: entries by side, exits by outcome."""
    figure = _figure(f"{series.instrument_id}: price, entries and exits", 380)
    closes = np.asarray(series.closes, dtype=np.float64)
    figure.add_trace(_line(series.times, closes, "close", GREY, hoverinfo="x+y"))
    mine = [t for t in trips if t.instrument_id == series.instrument_id]
    for side, symbol, color in (("LONG", "triangle-up", GREEN), ("SHORT", "triangle-down", RED)):
        entries = [t for t in mine if t.side == side]
        figure.add_trace(_markers(entries, "entry", f"{side.lower()} entry", symbol, color))
    exits = [t for t in mine if t.exit_time is not None]
    colors = [GREEN if t.net_pnl > 0 else RED for t in exits]
    figure.add_trace(_markers(exits, "exit", "exit (green: profit)", "x", colors))
    figure.update_yaxes(title_text="price")
    return figure


def monthly_figure(monthly: MonthlyReturns) -> Figure:
    """Monthly returns (percent) as a heatmap of years by months, each cell labelled."""
    figure = _figure("Monthly returns (%)", 120 + 40 * max(1, len(monthly.years)))
    if not monthly.years:
        return _note(figure, "no equity points")
    z = [[None if v is None else round(v * 100, 4) for v in row] for row in monthly.table]
    text = [["" if v is None else format_value(v, "pct") for v in row] for row in monthly.table]
    figure.add_trace(
        {
            "type": "heatmap",
            "x": list(MONTHS),
            "y": [str(year) for year in monthly.years],
            "z": z,
            "text": text,
            "texttemplate": "%{z:.1f}",
            "hovertemplate": "%{x} %{y}: %{text}<extra></extra>",
            "colorscale": "RdYlGn",
            "zmid": 0,
            "xgap": 2,
            "ygap": 2,
            "colorbar": {"title": {"text": "%"}},
        }
    )
    figure.update_xaxes(type="category", showgrid=False)
    figure.update_yaxes(type="category", autorange="reversed", showgrid=False)
    return figure


def _describe_window(returns: Returns, window: int) -> str:
    if returns.unit == "day":
        return f"{window} days"
    if len(returns.times) < 2:
        return f"{window} bars"
    spacing = float(np.median(np.diff(np.asarray(returns.times, dtype=np.float64)))) / 1e9
    span = spacing * window
    about = f"{span / 3600:.1f} h" if span < 2 * 86400 else f"{span / 86400:.1f} days"
    return f"{window} bars, about {about}"


def rolling_figure(returns: Returns, window: int, volatility: Floats, sharpe: Floats) -> Figure:
    """Rolling annualised Sharpe ratio (top) and volatility in percent (bottom)."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    title = f"Rolling Sharpe ratio and volatility (annualised; {_describe_window(returns, window)})"
    figure.update_layout(_layout(title, 440))
    figure.add_trace(_line(returns.times, sharpe, "Sharpe ratio", BLUE), row=1, col=1)
    figure.add_trace(_line(returns.times, volatility * 100, "volatility %", ORANGE), row=2, col=1)
    figure.update_yaxes(title_text="Sharpe", row=1, col=1)
    figure.update_yaxes(title_text="volatility %", row=2, col=1)
    return figure


def histogram_figure(returns: Returns) -> Figure:
    """The distribution of returns (percent) per bar or per day."""
    figure = _figure(f"Returns per {returns.unit}")
    if returns.values.size == 0:
        return _note(figure, "no returns")
    figure.add_trace(
        {
            "type": "histogram",
            "x": returns.values * 100,
            "nbinsx": 60,
            "marker": {"color": BLUE},
            "name": f"return per {returns.unit}",
            "hovertemplate": "%{x} %: %{y}<extra></extra>",
        }
    )
    figure.update_xaxes(title_text="return %")
    figure.update_yaxes(title_text=f"{returns.unit}s")
    return figure


def exposure_figure(times: Sequence[int], exposure: Floats | None) -> Figure:
    """Gross exposure as a percentage of equity over time (``None``: not recorded)."""
    figure = _figure("Gross exposure (% of equity)")
    if exposure is None or not times:
        return _note(figure, "no exposure recorded")
    figure.add_trace(_line(times, exposure, "gross exposure", BLUE, fill="tozeroy"))
    figure.update_yaxes(title_text="% of equity")
    return figure


def fees_figure(fees: Mapping[str, tuple[list[int], Floats]]) -> Figure:
    """Cumulative fees over time: all instruments (thick) and each one."""
    figure = _figure("Cumulative fees")
    if not fees:
        return _note(figure, "no fills, no fees")
    for name, (times, cumulative) in fees.items():
        every = name == "all"
        color, width = (BLACK, 2.2) if every else (None, 1.1)
        figure.add_trace(_line(times, cumulative, name, color, width=width, shape="hv"))
    figure.update_yaxes(title_text="fees (account currency)")
    return figure


def _bars(figure: Figure, counts: Mapping[str, int], colors: list[str]) -> Figure:
    figure.add_trace(
        {
            "type": "bar",
            "orientation": "h",
            "y": list(counts),
            "x": list(counts.values()),
            "text": [f"{count:,}" for count in counts.values()],
            "textposition": "auto",
            "marker": {"color": colors},
            "hovertemplate": "%{y}: %{x}<extra></extra>",
        }
    )
    figure.update_yaxes(autorange="reversed", type="category")
    return figure


def denials_figure(counts: Mapping[str, int]) -> Figure:
    """Denied orders by reason code."""
    figure = _figure("Orders denied by risk, by reason", 140 + 30 * max(1, len(counts)))
    if not counts:
        return _note(figure, "no order was denied")
    figure.update_xaxes(title_text="orders")
    return _bars(figure, counts, [RED] * len(counts))


def quality_figure(counts: Mapping[str, int]) -> Figure:
    """What loading the data accepted (green) and rejected (red)."""
    figure = _figure("Data quality: rows accepted and rejected", 140 + 26 * max(1, len(counts)))
    if not counts:
        return _note(figure, "no data-quality counts")
    colors = [
        GREEN if name.startswith("accepted") else RED if name.startswith("rejected") else GREY
        for name in counts
    ]
    figure.update_xaxes(title_text="count", rangemode="tozero")
    return _bars(figure, counts, colors)


def monte_carlo_figure(
    distribution: Mapping[str, Mapping[str, float]],
    intervals: Mapping[str, Mapping[str, float]],
    metrics: Mapping[str, object],
) -> Figure:
    """The bootstrap's distribution of each statistic, its intervals and the run's own value.

    Args:
        distribution: Percentiles of each statistic over the bootstrap paths (p01..p99: each
            is 1 % of the paths, so their histogram shows the distribution); the intervals
            alone if empty.
        intervals: The intervals of ``metrics.json`` (dashed lines).
        metrics: The run's metrics: the actual value of each statistic (solid line).
    """
    from plotly.subplots import make_subplots

    shown = distribution or intervals
    names = sorted(shown)
    if not names:
        return _note(_figure("Monte Carlo bootstrap"), "no bootstrap (too few equity points)")
    figure = make_subplots(rows=1, cols=len(names), horizontal_spacing=0.08)
    title = "Distribution over the bootstrap paths, its intervals (dashed) and this run (red)"
    figure.update_layout(_layout(title, 400))
    figure.update_layout(margin={"t": 80})
    for col, name in enumerate(names, start=1):
        points = sorted(value * 100 for value in shown[name].values())
        figure.add_trace(
            {
                "type": "histogram",
                "x": points,
                "nbinsx": 25,
                "marker": {"color": BLUE, "opacity": 0.75},
                "name": metric_label(name),
                "showlegend": False,
                "hovertemplate": "%{x} %: about %{y} % of paths<extra></extra>",
            },
            row=1,
            col=col,
        )
        for quantile, value in sorted(intervals.get(name, {}).items()):
            figure.add_vline(
                x=value * 100, line={"color": GREY, "dash": "dash"}, row=1, col=col,
                annotation_text=quantile, annotation_position="top",
            )  # fmt: skip
        actual = metrics.get(name)
        if isinstance(actual, int | float):
            figure.add_vline(
                x=float(actual) * 100, line={"color": RED, "width": 2}, row=1, col=col,
                annotation_text="this run", annotation_position="bottom right",
            )  # fmt: skip
        figure.update_xaxes(title_text=f"{metric_label(name)} %", row=1, col=col)
    figure.update_yaxes(title_text="≈ % of paths", row=1, col=1)
    return figure
