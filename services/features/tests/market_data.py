"""Real sample bars for the feature tests, read independently of the engine."""

from __future__ import annotations

import csv
import gzip
import io
import os
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
from jules_contracts import Bar, FeatureVector, derive_event_id, parse_utc_nanos

DATA = Path(
    os.environ.get("JULES_DATA_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)
COINBASE = DATA / "QuantConnect_Lean" / "Data" / "crypto" / "coinbase" / "minute"
NAUTILUS = DATA / "nautilus_trader" / "tests" / "test_data"
MINUTE_NS = 60 * 1_000_000_000


def make_bar(
    instrument_id: str,
    start_ns: int,
    ohlcv: Iterable[float],
    interval: str = "1m",
    interval_ns: int = MINUTE_NS,
) -> Bar:
    o, h, low, c, v = ohlcv
    return Bar(
        event_id=derive_event_id("md.bar", instrument_id, interval, start_ns),
        source="test",
        event_time=start_ns + interval_ns,
        start_time=start_ns,
        instrument_id=instrument_id,
        interval=interval,
        open=o,
        high=h,
        low=low,
        close=c,
        volume=v,
    )


@cache
def coinbase_bars(symbol: str, days: tuple[str, ...]) -> tuple[Bar, ...]:
    """Coinbase minute trade bars (Lean zips: ms since midnight UTC, OHLCV) of some days."""
    bars: list[Bar] = []
    for day in days:
        midnight = int(datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC).timestamp())
        with zipfile.ZipFile(COINBASE / symbol / f"{day}_trade.zip") as archive:
            [member] = archive.namelist()
            text = archive.read(member).decode()
        for row in csv.reader(io.StringIO(text)):
            if row:
                start = midnight * 1_000_000_000 + int(row[0]) * 1_000_000
                bars.append(make_bar(f"{symbol.upper()}.COINBASE", start, map(float, row[1:6])))
    return tuple(bars)


def _csv_bars(rows: Iterable[list[str]], instrument_id: str, limit: int) -> tuple[Bar, ...]:
    bars: list[Bar] = []
    for row in rows:
        if len(bars) == limit:
            break
        start = parse_utc_nanos(row[0].replace(" ", "T") + "Z")
        bars.append(make_bar(instrument_id, start, map(float, row[1:6])))
    return tuple(bars)


@cache
def btc_perp_bars(limit: int) -> tuple[Bar, ...]:
    """FTX BTC-PERP 1-minute bars (naive UTC timestamps taken as bar starts)."""
    with (NAUTILUS / "btc-perp-20211231-20220201_1m.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return _csv_bars(reader, "BTC-PERP.FTX", limit)


@cache
def euro_fx_future_bars(limit: int) -> tuple[Bar, ...]:
    """CME Euro FX future (6EH4) 1-minute bars: small prices, small moves."""
    with gzip.open(NAUTILUS / "xcme" / "6EH4.XCME_1min_bars_20240101_20240131.csv.gz", "rt") as f:
        reader = csv.reader(f)
        next(reader)
        return _csv_bars(reader, "6EH4.XCME", limit)


def columns(bars: Iterable[Bar]) -> dict[str, np.ndarray]:
    """OHLCV and start times of bars as numpy arrays."""
    rows = [(b.open, b.high, b.low, b.close, b.volume) for b in bars]
    o, h, low, c, v = (np.array(col, dtype=np.float64) for col in zip(*rows, strict=True))
    start = np.array([b.start_time for b in bars], dtype=np.int64)
    return {"open": o, "high": h, "low": low, "close": c, "volume": v, "start": start}


def series(vectors: Iterable[FeatureVector], name: str) -> np.ndarray:
    """One feature over a run of vectors, NaN where undefined."""
    values = [v.features[name] for v in vectors]
    return np.array([np.nan if x is None else x for x in values], dtype=np.float64)


DATASETS = {
    "btc-perp-ftx": lambda: btc_perp_bars(6000),
    "coinbase-btcusd-2016": lambda: coinbase_bars("btcusd", ("20161007", "20161008", "20161009")),
    "euro-fx-future": lambda: euro_fx_future_bars(5000),
}
"""Three real bar series: a busy perpetual, a quiet spot market with gaps, an FX future."""
