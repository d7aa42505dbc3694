"""Every TA-Lib feature streamed bar by bar equals TA-Lib's batch function on the same series.

Real data: a busy perpetual (FTX BTC-PERP), a quiet spot market with gaps and flat bars
(Coinbase BTCUSD 2016) and an FX future with small prices (CME 6EH4). Values must agree
within 1e-9 relative, and be undefined (None) exactly where TA-Lib's output is NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
import talib
from jules_contracts import FeatureVector
from jules_features.engine import FeatureEngine, FeatureSchema
from talib._ta_lib import MA_Type

from .market_data import DATASETS, columns, series

Arrays = dict[str, np.ndarray]
SMA = MA_Type.SMA

# feature name -> TA-Lib batch call on the whole series, written out independently of the engine
REFERENCE: dict[str, Callable[[Arrays], np.ndarray]] = {
    "sma_20": lambda a: talib.SMA(a["close"], timeperiod=20),
    "sma_5": lambda a: talib.SMA(a["close"], timeperiod=5),
    "ema_9": lambda a: talib.EMA(a["close"], timeperiod=9),
    "ema_21": lambda a: talib.EMA(a["close"], timeperiod=21),
    "ema_50": lambda a: talib.EMA(a["close"], timeperiod=50),
    "wma_10": lambda a: talib.WMA(a["close"], timeperiod=10),
    "wma_3": lambda a: talib.WMA(a["close"], timeperiod=3),
    "rsi_14": lambda a: talib.RSI(a["close"], timeperiod=14),
    "rsi_7": lambda a: talib.RSI(a["close"], timeperiod=7),
    "trange": lambda a: talib.TRANGE(a["high"], a["low"], a["close"]),
    "atr_14": lambda a: talib.ATR(a["high"], a["low"], a["close"], timeperiod=14),
    "atr_5": lambda a: talib.ATR(a["high"], a["low"], a["close"], timeperiod=5),
    "natr_14": lambda a: talib.NATR(a["high"], a["low"], a["close"], timeperiod=14),
    "bb_upper_20_2": lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, SMA)[0],
    "bb_middle_20_2": lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, SMA)[1],
    "bb_lower_20_2": lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, SMA)[2],
    "bb_upper_10_1.5": lambda a: talib.BBANDS(a["close"], 10, 1.5, 1.5, SMA)[0],
    "bb_lower_10_1p5": lambda a: talib.BBANDS(a["close"], 10, 1.5, 1.5, SMA)[2],
    "stddev_20": lambda a: talib.STDDEV(a["close"], timeperiod=20, nbdev=1.0),
    "stddev_5": lambda a: talib.STDDEV(a["close"], timeperiod=5, nbdev=1.0),
    "macd_12_26_9": lambda a: talib.MACD(a["close"], 12, 26, 9)[0],
    "macd_signal_12_26_9": lambda a: talib.MACD(a["close"], 12, 26, 9)[1],
    "macd_hist_12_26_9": lambda a: talib.MACD(a["close"], 12, 26, 9)[2],
    "macd_5_35_5": lambda a: talib.MACD(a["close"], 5, 35, 5)[0],
    "macd_hist_5_35_5": lambda a: talib.MACD(a["close"], 5, 35, 5)[2],
    "stoch_k_14_3": lambda a: talib.STOCH(a["high"], a["low"], a["close"], 14, 3, SMA, 1, SMA)[0],
    "stoch_d_14_3_3": lambda a: talib.STOCH(a["high"], a["low"], a["close"], 14, 3, SMA, 3, SMA)[1],
    "stoch_d_5_3_5": lambda a: talib.STOCH(a["high"], a["low"], a["close"], 5, 3, SMA, 5, SMA)[1],
    "willr_14": lambda a: talib.WILLR(a["high"], a["low"], a["close"], timeperiod=14),
    "cci_20": lambda a: talib.CCI(a["high"], a["low"], a["close"], timeperiod=20),
    "cci_5": lambda a: talib.CCI(a["high"], a["low"], a["close"], timeperiod=5),
    "adx_14": lambda a: talib.ADX(a["high"], a["low"], a["close"], timeperiod=14),
    "adx_7": lambda a: talib.ADX(a["high"], a["low"], a["close"], timeperiod=7),
    "plus_di_14": lambda a: talib.PLUS_DI(a["high"], a["low"], a["close"], timeperiod=14),
    "minus_di_14": lambda a: talib.MINUS_DI(a["high"], a["low"], a["close"], timeperiod=14),
    "plus_di_1": lambda a: talib.PLUS_DI(a["high"], a["low"], a["close"], timeperiod=1),
    "obv": lambda a: talib.OBV(a["close"], a["volume"]),
    "mfi_14": lambda a: talib.MFI(a["high"], a["low"], a["close"], a["volume"], timeperiod=14),
    "mfi_7": lambda a: talib.MFI(a["high"], a["low"], a["close"], a["volume"], timeperiod=7),
    "roc_10": lambda a: talib.ROC(a["close"], timeperiod=10),
    "roc_1": lambda a: talib.ROC(a["close"], timeperiod=1),
}
SCHEMA = FeatureSchema.from_names(REFERENCE)


@cache
def run(dataset: str) -> tuple[tuple[FeatureVector, ...], Arrays]:
    bars = DATASETS[dataset]()
    engine = FeatureEngine(SCHEMA)
    return tuple(engine.on_bar(bar) for bar in bars), columns(bars)


def test_the_parity_schema_covers_every_ta_lib_indicator_of_the_catalogue():
    from jules_features.engine import FEATURE_KINDS

    talib_kinds = {
        k.indicator
        for k in FEATURE_KINDS
        if k.indicator not in {"logret", "rvol", "vwap", "tod_sin", "tod_cos", "minute_of_day"}
        and k.source == "bar"
    }
    assert talib_kinds == {spec.indicator for spec in SCHEMA}


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("name", list(REFERENCE))
def test_streamed_feature_equals_ta_lib_batch(dataset: str, name: str):
    vectors, arrays = run(dataset)

    expected = REFERENCE[name](arrays)
    actual = series(vectors, SCHEMA.specs[list(REFERENCE).index(name)].name)

    undefined = np.isnan(expected)
    first = int(np.argmin(undefined))
    assert not undefined[first:].any(), "TA-Lib output has a gap; the test assumes a NaN prefix"
    assert np.isnan(actual[:first]).all(), f"defined before TA-Lib's first value (bar {first})"
    assert not np.isnan(actual[first:]).any(), "undefined after TA-Lib's first value"
    np.testing.assert_allclose(actual[first:], expected[first:], rtol=1e-9, atol=0)
