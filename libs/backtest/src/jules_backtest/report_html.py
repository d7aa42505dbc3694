"""The report's HTML: number formats, tables, and the page that holds the plotly figures.

Metrics are shown by key through ``METRICS`` (label and format); a key it does not know gets a
label from its name and a format from its value (and from its name for fractions), so new
metrics show without a change here. ``None`` is shown as ``n/a``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from jules_backtest.report_data import plot_times

if TYPE_CHECKING:
    from plotly.graph_objects import Figure

    from jules_backtest.trades import RoundTrip

__all__ = [
    "METRICS",
    "figure_json",
    "format_metric",
    "format_value",
    "intervals_table",
    "metric_label",
    "metrics_table",
    "page",
    "settings_table",
    "summary_tiles",
    "trade_table",
]

METRICS: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "pct"),
    "cagr": ("CAGR", "pct"),
    "annual_return": ("Annual return", "pct"),
    "annual_volatility": ("Annual volatility", "pct"),
    "volatility": ("Volatility", "pct"),
    "sharpe": ("Sharpe ratio", "ratio"),
    "sortino": ("Sortino ratio", "ratio"),
    "calmar": ("Calmar ratio", "ratio"),
    "max_drawdown": ("Max drawdown", "pct"),
    "win_rate": ("Win rate", "pct"),
    "profit_factor": ("Profit factor", "ratio"),
    "exposure": ("Exposure (share of time in the market)", "pct"),
    "turnover": ("Turnover (traded notional / mean equity)", "times"),
    "trade_count": ("Round trips (closed)", "int"),
    "orders_submitted": ("Orders submitted", "int"),
    "orders_denied": ("Orders denied", "int"),
    "orders_filled": ("Orders filled", "int"),
    "execution_success_rate": ("Execution success rate", "pct"),
    "start_equity": ("Start equity", "money"),
    "end_equity": ("End equity", "money"),
    "periods": ("Equity points", "int"),
}
"""Label and format of the metrics the report knows; others get ``metric_label``'s fallback."""

_FRACTION_WORDS = ("return", "drawdown", "rate", "volatility", "exposure", "cagr")
"""Words in an unknown metric's name that mark it as a fraction (shown in percent)."""


def metric_label(key: str) -> str:
    """The label of a metric: from ``METRICS``, else its key in words."""
    known = METRICS.get(key)
    return known[0] if known else key.replace("_", " ").capitalize()


def format_value(value: object, kind: str) -> str:
    """Format ``value`` as ``kind`` (``pct``, ``ratio``, ``times``, ``int``, ``money``, ``text``).

    ``None`` and non-finite numbers are ``n/a``; a fraction is shown in percent (0.1234 is
    ``12.34 %``). The result is HTML-escaped.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return html.escape(text)
    formats = {
        "pct": lambda v: f"{v * 100:,.2f} %",
        "ratio": lambda v: f"{v:,.2f}",
        "times": lambda v: f"{v:,.2f} times",
        "int": lambda v: f"{v:,.0f}",
        "money": lambda v: f"{v:,.2f}",
    }
    if kind in formats:
        return formats[kind](value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4f}"


def _kind(key: str, value: object) -> str:
    known = METRICS.get(key)
    if known:
        return known[1]
    if isinstance(value, float) and any(word in key for word in _FRACTION_WORDS):
        return "pct"
    return "text" if not isinstance(value, int | float) else "number"


def format_metric(key: str, value: object) -> str:
    """Format the value of metric ``key`` as ``METRICS`` says (or as its name and value suggest)."""
    return format_value(value, _kind(key, value))


def _rows(rows: Sequence[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)


def metrics_table(metrics: Mapping[str, object]) -> str:
    """Every metric, the known ones first in ``METRICS``' order, then the others by key."""
    order = {key: i for i, key in enumerate(METRICS)}
    keys = sorted(metrics, key=lambda key: (order.get(key, len(order)), key))
    body = _rows([(metric_label(key), format_metric(key, metrics[key])) for key in keys])
    return f'<table class="kv">{body}</table>'


def intervals_table(intervals: Mapping[str, Mapping[str, float]]) -> str:
    """The Monte Carlo intervals: one row per statistic, one column per quantile."""
    if not intervals:
        return "<p>No bootstrap: too few equity points.</p>"
    quantiles = sorted({q for values in intervals.values() for q in values})
    head = "".join(f"<th>{html.escape(q)}</th>" for q in quantiles)
    body = "".join(
        f"<tr><th>{html.escape(metric_label(name))}</th>"
        + "".join(f"<td>{format_metric(name, values.get(q))}</td>" for q in quantiles)
        + "</tr>"
        for name, values in sorted(intervals.items())
    )
    return f'<table class="grid"><thead><tr><th></th>{head}</tr></thead>{body}</table>'


def settings_table(settings: Mapping[str, object]) -> str:
    """The run's settings, as given."""
    rows = [(key, format_value(value, "text" if isinstance(value, str) else "number"))
            for key, value in settings.items()]  # fmt: skip
    return f'<table class="kv">{_rows(rows)}</table>'


def summary_tiles(tiles: Sequence[tuple[str, str, str]]) -> str:
    """Headline figures as tiles of ``(label, formatted value, tone)``: good, bad or none."""
    return '<div class="tiles">' + "".join(
        f'<div class="tile {tone}"><div class="value">{value}</div>'
        f'<div class="label">{html.escape(label)}</div></div>'
        for label, value, tone in tiles
    ) + "</div>"  # fmt: skip


_TRADE_COLUMNS = (
    "#", "instrument", "side", "size", "entry time", "entry price", "exit time", "exit price",
    "PnL", "fees", "net PnL",
)  # fmt: skip


def _cell(value: float | int | str | None, text: str | None = None) -> str:
    """A table cell whose sort key is the raw value (numbers sort as numbers)."""
    if value is None:
        return '<td data-v="">n/a</td>'
    shown = html.escape(str(value)) if text is None else text
    return f'<td data-v="{html.escape(repr(value) if not isinstance(value, str) else value)}">{shown}</td>'  # noqa: E501


def trade_table(trips: Sequence[RoundTrip], limit: int) -> str:
    """The round trips as a sortable table (click a column's header), the first ``limit``.

    Args:
        trips: The run's round trips, in order.
        limit: Rows at most (the rest are in ``trades.csv``).
    """
    if not trips:
        return "<p>No trades.</p>"
    head = "".join(f"<th>{name}</th>" for name in _TRADE_COLUMNS)
    shown = trips[:limit]
    entry_times = plot_times(trip.entry_time for trip in shown)
    exit_times = plot_times(trip.exit_time or 0 for trip in shown)
    rows = []
    for number, trip in enumerate(shown, start=1):
        tone = "good" if trip.net_pnl > 0 else "bad"
        entry_time = entry_times[number - 1]
        exit_time = exit_times[number - 1] if trip.exit_time is not None else ""
        cells = (
            _cell(number),
            _cell(trip.instrument_id),
            _cell(trip.side),
            _cell(trip.size, f"{trip.size:,.6g}"),
            _cell(entry_time),
            _cell(trip.entry_price, f"{trip.entry_price:,.6g}"),
            _cell(exit_time or None),
            _cell(trip.exit_price, None if trip.exit_price is None else f"{trip.exit_price:,.6g}"),
            _cell(trip.pnl, f"{trip.pnl:,.2f}"),
            _cell(trip.fees, f"{trip.fees:,.2f}"),
            _cell(trip.net_pnl, f"{trip.net_pnl:,.2f}"),
        )
        rows.append(f'<tr class="{tone}">{"".join(cells)}</tr>')
    more = (
        f"<p>The first {limit:,} of {len(trips):,} round trips (every one is in trades.csv).</p>"
        if len(trips) > limit
        else ""
    )
    return (
        f'<div class="scroll"><table class="grid sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>{more}"
    )


def figure_json(figure: Figure) -> str:
    """A figure's JSON, with the standard library's encoder (the same bytes everywhere)."""
    from plotly.io.json import to_json_plotly

    text: str = to_json_plotly(figure.to_plotly_json(), engine="json")
    return text.replace("</", "<\\/")


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { background: #1d2939; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0; font-size: 1.4rem; font-weight: 600; }
main { padding: 1rem 2rem 3rem; max-width: 1400px; margin: auto; }
section { background: #fff; border-radius: 8px; padding: 0.8rem 1.2rem; margin: 1rem 0;
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.08); }
h2 { font-size: 1.1rem; margin: 0.3rem 0 0.6rem; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 1rem; }
.tiles { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.tile { background: #fff; border-radius: 8px; padding: 0.7rem 1.1rem; min-width: 9rem;
  box-shadow: 0 1px 3px rgba(0, 0, 0, 0.08); border-top: 4px solid #98a2b3; }
.tile.good { border-top-color: #2ca02c; } .tile.bad { border-top-color: #d62728; }
.tile .value { font-size: 1.4rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .label { font-size: 0.8rem; color: #667085; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border-bottom: 1px solid #eaecf0; padding: 0.25rem 0.7rem; text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv { display: inline-table; margin: 0 2rem 1rem 0; vertical-align: top; }
table.sortable th { cursor: pointer; position: sticky; top: 0; background: #fff; }
table.sortable th:hover { background: #f2f4f7; }
tr.good td:last-child { color: #2ca02c; } tr.bad td:last-child { color: #d62728; }
.scroll { max-height: 480px; overflow: auto; }
.note { color: #667085; font-size: 0.85rem; }
"""

_SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var ascending = th.dataset.dir !== "asc";
      th.dataset.dir = ascending ? "asc" : "desc";
      var key = function (row) {
        var v = row.cells[col].dataset.v, n = Number(v);
        return v !== "" && !isNaN(n) ? n : v;
      };
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows).sort(function (a, b) {
        var x = key(a), y = key(b);
        var d = typeof x === "number" && typeof y === "number" ? x - y
          : String(x).localeCompare(String(y));
        return ascending ? d : -d;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""

_PLOT_SCRIPT = """
(function () {
  var config = {displaylogo: false, responsive: true};
  JULES_FIGURES.forEach(function (f) { Plotly.newPlot(f[0], f[1].data, f[1].layout, config); });
})();
"""


def page(title: str, body: str, figures: Sequence[tuple[str, str]]) -> str:
    """The whole page: plotly.js inline (once), ``body``, then the script that draws the figures.

    Args:
        title: The page's title.
        body: The sections, with an empty ``<div class="plot" id=...>`` for each figure.
        figures: ``(div id, figure JSON)`` of each figure, in the page's order.
    """
    from plotly.offline import get_plotlyjs

    entries = ",\n".join(f"[{json.dumps(div_id)}, {text}]" for div_id, text in figures)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_STYLE}</style>
<script>{get_plotlyjs()}</script>
</head><body>
<header><h1>{html.escape(title)}</h1></header>
<main>
{body}
</main>
<script>
var JULES_FIGURES = [
{entries}
];
{_PLOT_SCRIPT}
{_SORT_SCRIPT}
</script>
</body></html>
"""
