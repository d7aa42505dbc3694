"""The example strategies (``jules_signal.examples``) on real data, from their example configs:
each signal follows the strategy's rule, recomputed here from the bars and feature vectors, and
each config runs as an embedded backtest that trades."""

from __future__ import annotations

import math
import statistics
from itertools import groupby
from pathlib import Path

import pytest
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.data import DataQuality, load_bars, load_market
from jules_backtest.run import build_node, build_strategy_and_schema, run_backtest
from jules_contracts import (
    Bar,
    Event,
    FeatureVector,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSide,
    OrderType,
    SignalGenerated,
    SubmitOrder,
)
from jules_contracts.ids import client_order_id
from jules_features.engine import FeatureEngine

from .sample_data import DATA_DIR, REPO_ROOT

EXAMPLES = REPO_ROOT / "examples" / "strategies"

Decision = tuple[Bar, FeatureVector, list[SignalGenerated]]


def example(name: str, output_dir: Path) -> BacktestConfig:
    return load_config(EXAMPLES / f"{name}.yaml", data_dir=DATA_DIR, output_dir=output_dir)


def decisions(config: BacktestConfig) -> list[Decision]:
    """Every bar, in the embedded node's order, with its vector and the signals decided on it."""
    strategy, schema = build_strategy_and_schema(config)
    engine = FeatureEngine(schema)
    made = []
    bars = load_bars(config, DataQuality())
    for _, group in groupby(bars, key=lambda bar: bar.event_time):
        for bar in sorted(group, key=lambda b: b.instrument_id):
            vector = engine.on_bar(bar)
            made.append((bar, vector, strategy.on_features(vector, bar)))
    return made


def test_bollinger_reversion_enters_outside_the_bands_and_exits_at_the_middle(tmp_path):
    made = decisions(example("bollinger", tmp_path))
    held = 0.0
    seen = {"LONG": 0, "SHORT": 0, "FLAT": 0}
    for bar, vector, signals in made:
        lower, middle, upper = (
            vector.features[f"bb_{band}_30_2"] for band in ("lower", "middle", "upper")
        )
        wanted = None
        if lower is not None and middle is not None and upper is not None:
            if bar.close < lower:
                wanted = 1.0
            elif bar.close > upper:
                wanted = -1.0
            elif (held > 0 and bar.close >= middle) or (held < 0 and bar.close <= middle):
                wanted = 0.0
        expected = [] if wanted is None or wanted == held else [wanted]
        assert [s.target_weight for s in signals] == expected, bar
        for signal in signals:
            seen[signal.direction.value] += 1
            assert signal.reference_price == bar.close
            held = signal.target_weight
    assert min(seen.values()) >= 10, seen  # both ways and out, many times in two days


def test_atr_breakout_enters_on_a_break_of_the_channel_and_exits_at_its_trailing_stop(tmp_path):
    made = decisions(example("atr_breakout", tmp_path))
    by_instrument: dict[str, list[Decision]] = {}
    for decision in made:
        by_instrument.setdefault(decision[0].instrument_id, []).append(decision)
    entries = exits = 0
    for stream in by_instrument.values():
        held, stop = 0.0, 0.0
        for index, (bar, vector, signals) in enumerate(stream):
            atr = vector.features["atr_14"]
            window = [b for b, _, _ in stream[max(0, index - 60) : index]]
            wanted = None
            if atr is not None and len(window) == 60:
                if held > 0:
                    stop = max(stop, bar.close - 3 * atr)
                    wanted = 0.0 if bar.close < stop else None
                elif held < 0:
                    stop = min(stop, bar.close + 3 * atr)
                    wanted = 0.0 if bar.close > stop else None
                elif bar.close > max(b.high for b in window):
                    wanted, stop = 1.0, bar.close - 3 * atr
                elif bar.close < min(b.low for b in window):
                    wanted, stop = -1.0, bar.close + 3 * atr
            assert [s.target_weight for s in signals] == ([] if wanted is None else [wanted])
            if wanted is not None:
                entries += wanted != 0
                exits += wanted == 0
                held = wanted
    assert min(entries, exits) >= 10, (entries, exits)


def test_pair_spread_trades_both_legs_against_each_other_on_the_z_score(tmp_path):
    made = decisions(example("pair_spread", tmp_path))
    spreads: list[float] = []
    held = 0.0
    trades = 0
    closes: dict[str, Bar] = {}
    for bar, _, signals in made:
        closes[bar.instrument_id] = bar
        btc, eth = closes.get("BTCUSD.COINBASE"), closes.get("ETHUSD.COINBASE")
        later_leg = bar.instrument_id == "ETHUSD.COINBASE"
        if not later_leg or btc is None or eth is None or btc.event_time != eth.event_time:
            assert signals == []  # decided on the later leg's bar, when both have one
            continue
        spreads.append(math.log(btc.close) - math.log(eth.close))
        window = spreads[-120:]
        wanted = None
        if len(window) == 120:
            mean = statistics.fmean(window)
            z = (window[-1] - mean) / statistics.pstdev(window, mean)
            if z > 2.0:
                wanted = -0.5
            elif z < -2.0:
                wanted = 0.5
            elif held != 0 and abs(z) < 0.5:
                wanted = 0.0
        legs = [(s.instrument_id, s.target_weight, s.reference_price) for s in signals]
        if wanted is None or wanted == held:
            assert legs == []
            continue
        assert legs == [
            ("BTCUSD.COINBASE", wanted, btc.close),
            ("ETHUSD.COINBASE", -wanted, eth.close),
        ]
        held = wanted
        trades += 1
    assert trades >= 10


def test_rsi_bracket_exits_around_the_price_its_entry_filled_at(tmp_path):
    config = example("rsi_bracket", tmp_path)
    strategy, schema = build_strategy_and_schema(config)
    events: list[Event] = []
    build_node(config, strategy, schema, events.append).run(load_market(config, DataQuality()))
    signal_orders = {
        client_order_id(s.strategy_id, s.event_id): s
        for s in events
        if isinstance(s, SignalGenerated)
    }
    bars = {e.event_id: e for e in events if isinstance(e, Bar)}
    made: dict[str | None, list[float]] = {}
    for signal in signal_orders.values():
        made.setdefault(signal.causation_id, []).append(signal.target_weight)
    entry: float | None = None  # the average price of the open entry, from its fills
    held = 0.0
    entries = exits = 0
    for event in events:  # a step's fills come before its vectors, as the strategy sees them
        if isinstance(event, OrderFilled | OrderPartiallyFilled):
            held += event.last_quantity if event.side is OrderSide.BUY else -event.last_quantity
            mine = event.client_order_id in signal_orders
            if held <= 1e-12:
                entry = None
            elif mine and event.side is OrderSide.BUY:
                entry = event.average_price
        elif isinstance(event, FeatureVector):
            close = bars[str(event.causation_id)].close
            decided = made.get(event.event_id, [])
            if entry is not None:
                beyond = close >= entry * 1.01 or close <= entry * 0.995
                assert decided == ([0.0] if beyond else []), event
                exits += beyond
            elif decided:
                rsi = event.features["rsi_14"]
                assert decided == [1.0]
                assert rsi is not None
                assert rsi < 30
                entries += 1
    assert min(entries, exits) >= 10, (entries, exits)


def test_limit_dip_answers_with_limit_orders_filled_at_their_limits(tmp_path):
    config = example("limit_dip", tmp_path)
    strategy, schema = build_strategy_and_schema(config)
    events: list[Event] = []
    build_node(config, strategy, schema, events.append).run(load_market(config, DataQuality()))
    orders = {e.client_order_id: e for e in events if isinstance(e, SubmitOrder)}
    mine = [o for o in orders.values() if o.strategy_id == "limit_dip"]
    expired = {e.client_order_id for e in events if isinstance(e, OrderExpired)}
    fills = [e for e in events if isinstance(e, OrderFilled | OrderPartiallyFilled)]
    bids = [o for o in mine if o.side is OrderSide.BUY]
    assert all(o.order_type is OrderType.LIMIT and o.expire_time for o in bids)
    offers = {o.causation_id: o for o in mine if o.side is OrderSide.SELL and o.limit_price}
    take_profits = exits = 0
    for fill in fills:
        order = orders.get(fill.client_order_id)
        if order is None:  # the router's close at the end of the run
            continue
        if order.order_type is OrderType.LIMIT:  # a limit fills at its price or better
            assert order.limit_price is not None
            sign = 1 if order.side is OrderSide.BUY else -1
            # to a part in 1e12: a price on the tick grid is computed in binary floating point
            assert sign * (fill.last_price - order.limit_price) <= 1e-12 * order.limit_price
        if order in bids and fill.leaves_quantity == 0:  # a filled bid's take-profit offer
            signal = [e for e in events if getattr(e, "causation_id", None) == fill.event_id]
            [offer] = [offers[s.event_id] for s in signal if s.event_id in offers]
            assert offer.limit_price == round(fill.average_price * 1.003, 2)
            assert offer.reduce_only
        take_profits += order in offers.values()
        exits += order.order_type is OrderType.MARKET and order.strategy_id == "limit_dip"
    market_exits = [o for o in mine if o.order_type is OrderType.MARKET]
    assert len(market_exits) == exits  # every time stop filled (none denied)
    assert len(expired & {o.client_order_id for o in offers.values()}) >= exits
    expired_bids = len(expired & {o.client_order_id for o in bids})
    assert min(take_profits, exits, expired_bids) >= 10, (take_profits, exits, expired_bids)


@pytest.mark.parametrize(
    "name", ["bollinger", "atr_breakout", "pair_spread", "rsi_bracket", "limit_dip"]
)
def test_each_example_config_runs_as_a_backtest_that_trades(name: str, tmp_path: Path) -> None:
    summary = run_backtest(example(name, tmp_path / "run"))
    assert summary.metrics["trade_count"] >= 10
    assert (tmp_path / "run" / "report.html").exists()
