"""Reference prices, Wilder ATR (checked against TA-Lib on real bars) and bar returns."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import talib
from jules_contracts import parse_utc_nanos
from jules_risk.engine import RiskEngine
from jules_risk.engine.market import MarketState, WilderAtr

from .helpers import BTC, MINUTE, T0, bar, make_engine, quote, trade

DATA = Path(
    os.environ.get("JULES_DATA_DIR", Path(__file__).resolve().parents[3].parent / "shared" / "data")
)
COINBASE_BTC = (
    DATA
    / "QuantConnect_Lean"
    / "Data"
    / "crypto"
    / "coinbase"
    / "minute"
    / "btcusd"
    / "20180405_trade.zip"
)


def _market(engine: RiskEngine) -> MarketState:
    market = engine.market(BTC)
    assert market is not None
    return market


def _coinbase_bars(path: Path) -> list[tuple[int, float, float, float, float]]:
    """(close time ns, open, high, low, close) of a Lean minute trade-bar zip."""
    day = parse_utc_nanos(f"{path.name[:4]}-{path.name[4:6]}-{path.name[6:8]}T00:00:00Z")
    with zipfile.ZipFile(path) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode()
    rows = csv.reader(io.StringIO(text))
    return [
        (day + int(r[0]) * 1_000_000 + MINUTE, float(r[1]), float(r[2]), float(r[3]), float(r[4]))
        for r in rows
        if r
    ]


@pytest.mark.skipif(not COINBASE_BTC.exists(), reason="shared market data not available")
def test_engine_atr_equals_talib_atr_on_real_coinbase_minute_bars():
    rows = _coinbase_bars(COINBASE_BTC)
    engine = make_engine(atr_period=14)
    values = []
    for t, o, h, low, c in rows:
        engine.on_market(bar(t, c, open_=o, high=h, low=low))
        values.append(_market(engine).atr)
    highs, lows, closes = (np.array([r[i] for r in rows]) for i in (2, 3, 4))
    expected = talib.ATR(highs, lows, closes, timeperiod=14)

    assert len(rows) > 500
    assert all(v is None for v in values[:14])
    assert np.isnan(expected[:14]).all()
    np.testing.assert_allclose(np.array(values[14:], dtype=float), expected[14:], rtol=1e-9)


def test_wilder_atr_by_hand():
    atr = WilderAtr(2)
    # TRs after the first bar: max(h-l, |h-pc|, |l-pc|) = 2, 4 (gap up), then 1
    assert atr.update(11.0, 9.0, 10.0) is None
    assert atr.update(12.0, 10.0, 11.0) is None  # TR 2
    assert atr.update(15.0, 14.0, 14.5) == pytest.approx(3.0)  # TR 4 (15 - 11); seed (2+4)/2
    assert atr.update(15.0, 14.0, 14.5) == pytest.approx((3.0 * 1 + 1.0) / 2)


def test_reference_price_is_bar_close_quote_mid_or_trade_price():
    engine = make_engine()

    engine.on_market(bar(T0, 100.0))
    after_bar = _market(engine).reference
    engine.on_market(quote(T0 + 1, 100.0, 100.4))
    after_quote = _market(engine).reference
    engine.on_market(trade(T0 + 2, 100.3))
    after_trade = _market(engine).reference
    engine.on_market(trade(T0 + 1, 90.0))  # late print: older than the reference

    assert after_bar is not None
    assert after_quote is not None
    assert after_trade is not None
    assert (after_bar.price, after_bar.time) == (100.0, T0)
    assert after_quote.price == pytest.approx(100.2)
    assert (after_trade.price, after_trade.time) == (100.3, T0 + 2)
    assert _market(engine).reference == after_trade


def test_returns_are_simple_returns_of_consecutive_bar_closes_stamped_by_time():
    engine = make_engine()
    for i, close in enumerate([100.0, 110.0, 99.0]):
        engine.on_market(bar(T0 + i * MINUTE, close))
    engine.on_market(trade(T0 + 3 * MINUTE, 50.0))  # trades add no return

    returns = list(_market(engine).returns)

    assert [t for t, _ in returns] == [T0 + MINUTE, T0 + 2 * MINUTE]
    assert [r for _, r in returns] == pytest.approx([0.1, -0.1])
