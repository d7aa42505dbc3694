"""Quote-, trade- and book-driven backtests on real data (``examples/ticks``): the ticks the run
takes, the bars built beside them, fills at the prices the fill model reads from the ticks,
the strategies' tick hooks, and the same files from the same input."""

from __future__ import annotations

import csv
import math
from bisect import bisect_left
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from jules_backtest.config import BacktestConfig, DataSource, load_config
from jules_backtest.data import DataQuality, load_market, resolve
from jules_backtest.run import run_backtest
from jules_contracts import Bar, BookDelta, BookSnapshot, Quote, Trade, parse_utc_nanos
from jules_market_data.config import ReplaySource
from jules_market_data.replay import replay_stream
from pydantic import ValidationError

from .sample_data import DATA_DIR, REPO_ROOT

EXAMPLES = REPO_ROOT / "examples" / "ticks"
FXCM_WINDOW = {"start": "2014-05-06T12:00:00+00:00", "end": "2014-05-06T14:00:00+00:00"}


def example(name: str, output_dir: Path | None = None, **fields: Any) -> BacktestConfig:
    return load_config(
        EXAMPLES / f"{name}.yaml", data_dir=DATA_DIR, output_dir=output_dir, **fields
    )


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def fill_times(run_dir: Path) -> list[tuple[int, str, float, float]]:
    """(time ns, side, quantity, price) of every fill of a run folder."""
    return [
        (parse_utc_nanos(r["time"]), r["side"], float(r["quantity"]), float(r["price"]))
        for r in rows(run_dir / "fills.csv")
    ]


def test_a_book_source_becomes_the_book_after_each_update_in_sync_and_in_depth() -> None:
    quality = DataQuality()
    loaded = list(load_market(example("btcusdt_binance_book"), quality))
    events = [e for e in loaded if isinstance(e, BookSnapshot)]

    assert events
    assert len(events) == len(loaded)  # no trades, quotes or bars
    assert quality.ticks == {"book": len(events)}
    assert quality.rejected == {}
    times = [e.event_time for e in events]
    assert times == sorted(times)
    sequences = [e.sequence for e in events if e.sequence is not None]
    assert sequences == sorted(sequences)  # the rebuilt book only moves forward
    for snapshot in events:
        assert 0 < len(snapshot.bids) <= 20
        assert 0 < len(snapshot.asks) <= 20
        assert snapshot.bids[0].price < snapshot.asks[0].price  # never crossed
    assert {len(e.bids) for e in events} == {20}  # a deep futures book: always 20 levels


def test_trade_bars_are_built_from_the_trades_alone_beside_them() -> None:
    quality = DataQuality()
    events = list(load_market(example("btcusdt_binance_trades"), quality))
    trades = [e for e in events if isinstance(e, Trade)]
    bars = [e for e in events if isinstance(e, Bar)]

    assert quality.ticks == {"trade": len(trades)}
    assert quality.accepted == {"BTCUSDT-PERP.BINANCE": len(bars)}
    assert len(trades) > 20_000
    assert len(bars) >= 6
    assert not any(isinstance(e, Quote | BookSnapshot) for e in events)
    for bar in bars:  # each bar is the OHLCV of the trades in [start, end)
        inside = [t for t in trades if bar.start_time <= t.event_time < bar.event_time]
        assert bar.open == inside[0].price
        assert bar.close == inside[-1].price
        assert bar.high == max(t.price for t in inside)
        assert bar.low == min(t.price for t in inside)
        assert bar.volume == pytest.approx(sum(t.size for t in inside), rel=1e-12)
        assert bar.trade_count == len(inside)
    # a bar comes before the trade at its close
    position = {id(e): i for i, e in enumerate(events)}
    for bar in bars[:-1]:
        after = next(t for t in trades if t.event_time >= bar.event_time)
        assert position[id(bar)] < position[id(after)]


def test_a_quote_driven_run_fills_at_the_touch_of_the_next_quote(tmp_path: Path) -> None:
    config = example("eurusd_fxcm_quotes", tmp_path / "run", **FXCM_WINDOW)
    summary = run_backtest(config)
    quality = DataQuality()
    quotes = [e for e in load_market(config, quality) if isinstance(e, Quote)]
    times = [q.event_time for q in quotes]

    assert summary.quality.ticks == {"quote": len(quotes)}
    assert summary.quality.rejected == quality.rejected  # FXCM's crossed quotes, counted
    fills = fill_times(summary.run_dir)
    assert len(fills) >= 4
    for when, side, _, price in fills:
        quote = quotes[bisect_left(times, when)]  # the quote the order filled on
        assert quote.event_time == when
        assert price == (quote.ask_price if side == "BUY" else quote.bid_price)
    orders = rows(summary.run_dir / "orders.csv")
    assert all(o["strategy_id"] in {"quote_momentum", "close-at-end"} for o in orders)
    assert {side for _, side, _, _ in fills} == {"BUY", "SELL"}
    assert sum(quantity for _, _, quantity, _ in fills) == pytest.approx(0.0, abs=1e-6)  # flat


def test_a_book_driven_run_walks_the_book_after_its_latency(tmp_path: Path) -> None:
    config = example("btcusdt_binance_book", tmp_path / "run")
    summary = run_backtest(config)
    books = list(load_market(config, DataQuality()))
    by_time: dict[int, BookSnapshot] = {}
    for book in books:
        assert isinstance(book, BookSnapshot)
        by_time[book.event_time] = book

    fills = fill_times(summary.run_dir)
    assert len(fills) >= 4
    for when, side, quantity, price in fills[:-1]:  # the last closes the account at the touch
        book = by_time[when]
        levels = book.asks if side == "BUY" else book.bids
        reachable = [level.price for level in levels]
        assert min(reachable) * (1 - 1e-12) <= price <= max(reachable) * (1 + 1e-12)
        # the walk: no better than the touch, and the touch alone if it had the size
        touch = levels[0]
        if touch.size >= abs(quantity):
            assert price == pytest.approx(touch.price, rel=1e-12)
    orders = rows(summary.run_dir / "orders.csv")
    accepted = {
        o["client_order_id"]: parse_utc_nanos(o["submitted_at"])
        for o in orders
        if o["strategy_id"] == "book_imbalance"  # not the account's closing order
    }
    first_fill = {
        r["client_order_id"]: parse_utc_nanos(r["time"])
        for r in reversed(rows(summary.run_dir / "fills.csv"))
    }
    assert len(accepted) >= 4
    for order_id, submitted_at in accepted.items():
        assert first_fill[order_id] - submitted_at >= 5_000_000  # latency_ns: 5 ms


def test_the_market_data_replay_with_a_book_depth_publishes_the_backtests_books() -> None:
    config = example("btcusdt_binance_book")
    [source] = config.data
    path = resolve(config, source)
    replayed = replay_stream(
        [ReplaySource(path=path, instrument_id=source.instrument_id)], book_depth=20
    )
    live = [e for e in islice(replayed, 60_000) if isinstance(e, BookSnapshot)][:2_000]
    backtest = list(islice(load_market(config, DataQuality()), 2_000))

    assert len(live) == 2_000
    assert [b.model_dump() for b in live] == [b.model_dump() for b in backtest]
    assert not any(isinstance(e, BookDelta) for e in islice(replayed, 1_000))  # whole books only


def test_a_trade_driven_run_takes_at_most_its_share_of_each_trade(tmp_path: Path) -> None:
    config = example("btcusdt_binance_trades", tmp_path / "run")
    summary = run_backtest(config)
    trades: dict[int, list[Trade]] = {}
    for event in load_market(config, DataQuality()):
        if isinstance(event, Trade):
            trades.setdefault(event.event_time, []).append(event)

    fills = fill_times(summary.run_dir)
    assert len(fills) >= 4
    for when, side, quantity, price in fills[:-1]:
        printed = trades[when]
        budget = 0.1 * sum(t.size for t in printed)
        assert abs(quantity) <= budget * (1 + 1e-9)
        # kyle_lambda: the trade's price moved against the order by 0.5 per unit
        impact = 0.5 * abs(quantity)
        expected = {t.price + impact if side == "BUY" else t.price - impact for t in printed}
        assert any(math.isclose(price, e, rel_tol=1e-12) for e in expected)


def test_the_same_ticks_give_the_same_run_files(tmp_path: Path) -> None:
    first = run_backtest(example("btcusdt_binance_book", tmp_path / "a"))
    second = run_backtest(example("btcusdt_binance_book", tmp_path / "b"))
    for name in ("orders.csv", "fills.csv", "trades.csv", "equity.csv", "metrics.json"):
        assert (first.run_dir / name).read_bytes() == (second.run_dir / name).read_bytes(), name


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_every_tick_example_config_is_valid_and_tick_driven(name: str) -> None:
    config = example(name)
    assert config.tick_driven
    assert config.execution.fill_model.kind in {"l1_quote", "l2_book", "kyle_lambda"}


def test_a_bad_events_list_is_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="names a kind twice"):
        DataSource(path="x.zip", events=("quote", "quote"))
    with pytest.raises(ValidationError, match="has no 'bar'"):
        DataSource(path="x.zip", events=("quote",), bar_interval="1m")
    with pytest.raises(ValidationError, match="events"):
        DataSource(path="x.zip", events=("tick",))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="events"):
        DataSource(path="x.zip", events=())
