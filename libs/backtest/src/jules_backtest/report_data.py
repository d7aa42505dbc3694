"""The numbers behind the report's plots, computed from what a run recorded (numpy, no plotting).

Everything here is a pure function of its arguments, so the same run always gives the same
numbers (and the same page). Lines are thinned to at most ``MAX_LINE_POINTS`` points for the
size of the page; trades, monthly returns and statistics are computed on the full series.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from jules_backtest.outputs import PriceSeries
    from jules_backtest.trades import Fill, RoundTrip

__all__ = [
    "MAX_LINE_POINTS",
    "MonthlyReturns",
    "Returns",
    "buy_and_hold",
    "cumulative_fees",
    "denial_counts",
    "drawdown",
    "exposure_percent",
    "monthly_returns",
    "plot_times",
    "quality_counts",
    "rolling_stats",
    "rolling_window",
    "sampled_returns",
    "thin_index",
    "trade_hover",
]

Floats = NDArray[np.float64]

MAX_LINE_POINTS = 2000
"""Points of a line at most (every k-th point and the last are kept)."""

YEAR_NS = 365.25 * 24 * 3600 * 1e9
DAY_NS = 24 * 3600 * 10**9
DAILY_FROM_DAYS = 90
"""Runs at least this long are sampled daily for returns; shorter ones per bar."""


def thin_index(count: int, max_points: int = MAX_LINE_POINTS) -> list[int]:
    """Indices of every k-th point (and the last) so that at most ``max_points`` remain."""
    step = max(1, -(-count // max_points))
    if step == 1:
        return list(range(count))
    return sorted({*range(0, count, step), count - 1})


def plot_times(times: Iterable[int]) -> list[str]:
    """Event times (ns since the epoch, UTC) as plotly date strings, to the second."""
    stamps = np.asarray(list(times), dtype="datetime64[ns]")
    return [str(text).replace("T", " ") for text in np.datetime_as_string(stamps, unit="s")]


def drawdown(equity: Sequence[float] | Floats) -> Floats:
    """Fall from the running peak at each point, as a (non-positive) fraction."""
    curve = np.asarray(equity, dtype=np.float64)
    if curve.size == 0:
        return curve
    return curve / np.maximum.accumulate(curve) - 1.0


def buy_and_hold(
    times: Sequence[int], prices: Sequence[PriceSeries], start: float
) -> Floats | None:
    """Equity of buying every instrument with an equal share of ``start`` and holding it.

    Each instrument is bought at its first close; at each of ``times`` it is valued at its last
    close at or before that time (its first close before it traded). ``None`` without prices.
    """
    ratios = []
    at = np.asarray(times, dtype=np.int64)
    for series in prices:
        closes = np.asarray(series.closes, dtype=np.float64)
        if closes.size == 0 or closes[0] <= 0:
            continue
        index = np.searchsorted(np.asarray(series.times, dtype=np.int64), at, side="right") - 1
        ratios.append(closes[np.maximum(index, 0)] / closes[0])
    if not ratios or at.size == 0:
        return None
    held: Floats = start * np.mean(np.vstack(ratios), axis=0)
    return held


def _period_ends(times: Sequence[int], unit: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The index of the last point of each period (``unit``: ``M`` months, ``D`` days).

    Returns:
        The periods (as numpy datetime units since the epoch) and the index of their last point.
    """
    periods = np.asarray(times, dtype="datetime64[ns]").astype(f"datetime64[{unit}]")
    numbers = periods.astype(np.int64)
    if numbers.size == 0:
        return numbers, numbers
    last = np.flatnonzero(np.append(numbers[1:] != numbers[:-1], True))
    return numbers[last], last


@dataclass(frozen=True)
class MonthlyReturns:
    """Returns by calendar month (UTC): ``table[year][month - 1]``, ``None`` where no data."""

    years: list[int]
    table: list[list[float | None]]


def monthly_returns(times: Sequence[int], equity: Sequence[float]) -> MonthlyReturns:
    """Each month's return: its last equity over the previous month's last (the first's start)."""
    months, last = _period_ends(times, "M")
    curve = np.asarray(equity, dtype=np.float64)
    if months.size == 0:
        return MonthlyReturns([], [])
    ends = curve[last]
    returns = ends / np.concatenate(([curve[0]], ends[:-1])) - 1.0
    first_year = int(months[0]) // 12 + 1970
    years = list(range(first_year, int(months[-1]) // 12 + 1971))
    table: list[list[float | None]] = [[None] * 12 for _ in years]
    for month, value in zip(months.tolist(), returns.tolist(), strict=True):
        table[month // 12 + 1970 - first_year][month % 12] = value
    return MonthlyReturns(years, table)


@dataclass(frozen=True)
class Returns:
    """Simple returns of the equity curve, per bar or per day, and how to annualise them."""

    times: list[int]
    values: Floats
    per_year: float
    """Returns per year, from their density in event time (as the metrics annualise)."""
    unit: str
    """``bar`` or ``day``."""


def sampled_returns(times: Sequence[int], equity: Sequence[float]) -> Returns:
    """Returns per bar, or per UTC day (last equity of each day) for runs of 90 days or more."""
    curve = np.asarray(equity, dtype=np.float64)
    stamps = list(times)
    unit = "bar"
    if len(stamps) > 1 and stamps[-1] - stamps[0] >= DAILY_FROM_DAYS * DAY_NS:
        _, last = _period_ends(stamps, "D")
        index = [0, *last.tolist()] if last[0] != 0 else last.tolist()
        stamps = [stamps[i] for i in index]
        curve = curve[index]
        unit = "day"
    values = curve[1:] / curve[:-1] - 1.0 if curve.size > 1 else np.empty(0)
    years = (stamps[-1] - stamps[0]) / YEAR_NS if len(stamps) > 1 else 0.0
    per_year = values.size / years if years > 0 else 0.0
    return Returns(stamps[1:], values, per_year, unit)


def rolling_window(returns: Returns) -> int:
    """The rolling window: 30 days, or a twentieth of the bars (10 to 1,440)."""
    if returns.unit == "day":
        return min(30, max(5, returns.values.size // 4))
    return min(max(returns.values.size // 20, 10), 1440)


def rolling_stats(returns: Returns, window: int) -> tuple[Floats, Floats]:
    """Annualised rolling volatility and Sharpe ratio over ``window`` returns.

    The value at ``i`` covers returns ``i - window + 1 .. i``; the first ``window - 1`` are NaN,
    as is the Sharpe ratio of a window without volatility.
    """
    values = returns.values
    volatility = np.full(values.size, np.nan)
    sharpe = np.full(values.size, np.nan)
    if window < 2 or values.size < window:
        return volatility, sharpe
    centred = values - values.mean()  # the variance does not move; the sums lose less
    sums = np.concatenate(([0.0], np.cumsum(centred)))
    squares = np.concatenate(([0.0], np.cumsum(centred * centred)))
    mean = (sums[window:] - sums[:-window]) / window
    variance = np.maximum((squares[window:] - squares[:-window] - window * mean**2), 0.0)
    std = np.sqrt(variance / (window - 1))
    scale = math.sqrt(returns.per_year)
    volatility[window - 1 :] = std * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(std > 1e-12, (mean + values.mean()) / std * scale, np.nan)
    sharpe[window - 1 :] = ratio
    return volatility, sharpe


def exposure_percent(equity: Sequence[float], gross_exposure: Sequence[float]) -> Floats:
    """Gross exposure as a percentage of equity (NaN where equity is not positive)."""
    curve = np.asarray(equity, dtype=np.float64)
    gross = np.asarray(gross_exposure, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(curve > 0, gross / curve * 100.0, np.nan)


def cumulative_fees(fills: Sequence[Fill]) -> dict[str, tuple[list[int], Floats]]:
    """Cumulative fees over time: ``"all"`` and each instrument (sorted), at each fill."""
    ordered = sorted(fills, key=lambda fill: fill.event_time)  # stable: the fills' order
    groups: dict[str, list[Fill]] = {"all": ordered}
    for fill in ordered:
        groups.setdefault(f"instrument {fill.instrument_id}", []).append(fill)
    return {
        name.removeprefix("instrument "): (
            [fill.event_time for fill in group],
            np.cumsum(np.asarray([fill.fee for fill in group], dtype=np.float64)),
        )
        for name, group in sorted(groups.items(), key=lambda item: (item[0] != "all", item[0]))
    }


def denial_counts(reasons: Iterable[str]) -> dict[str, int]:
    """Denied orders by reason code, most frequent first.

    Args:
        reasons: The ``reasons`` of each denied order (``orders.csv``: codes joined by ``|``);
            an order denied for two reasons counts once for each.
    """
    counts: dict[str, int] = {}
    for joined in reasons:
        for code in filter(None, joined.split("|")):
            counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def quality_counts(data_quality: Mapping[str, object]) -> dict[str, int]:
    """The counts of ``data_quality.json``, flattened to ``"group · key"`` labels.

    Mappings of counts (``accepted_bars_by_instrument``, ``rejected_by_reason``, ...) give one
    entry per key, whole numbers (``ignored_non_bar_events``) one entry; examples are left out.
    """
    counts: dict[str, int] = {}
    for group, value in data_quality.items():
        name = group.split("_by_")[0].replace("_", " ")
        if isinstance(value, Mapping):
            for key, count in value.items():
                if isinstance(count, int):
                    counts[f"{name} · {key}"] = count
        elif isinstance(value, int) and not isinstance(value, bool):
            counts[name] = value
    return counts


def _money(value: float) -> str:
    return f"{value:,.2f}"


def trade_hover(trip: RoundTrip, leg: str) -> str:
    """The hover text of a trade's entry or exit marker (``leg``: ``entry`` or ``exit``).

    Shows the side, the leg's time and price, the quantity and the PnL (net of fees).
    """
    exit_leg = leg == "exit" and trip.exit_time is not None
    time = trip.exit_time if exit_leg else trip.entry_time
    price = trip.exit_price if exit_leg else trip.entry_price
    status = "" if trip.exit_time is not None else " (open at the end)"
    return "<br>".join(
        (
            f"<b>{html.escape(trip.side)} {leg}</b>{status}",
            html.escape(trip.instrument_id),
            f"time {plot_times([time or 0])[0]} UTC",
            f"price {price:,.6g}" if price is not None else "price n/a",
            f"quantity {trip.size:,.6g}",
            f"PnL {_money(trip.pnl)} (net of fees {_money(trip.net_pnl)})",
        )
    )
