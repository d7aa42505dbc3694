"""Quote- and book-driven backtests replayed through Kafka equal their embedded runs, and a
strategy's quote or book hook live gives the signals of its run in process.

The replay publishes the run's quotes (or rebuilt books) and the bars built beside them on
``md.quotes.v1`` / ``md.book.v1`` and ``md.bars.v1`` with its watermarks; the services step
in lockstep on that market (``jules_runtime.lockstep.step_rules(ticks=True)``): the router
fills on the ticks, the signal service runs the strategy's ``on_quote`` / ``on_book`` hooks,
risk prices on the ticks. The run folder, audit log included, is the embedded run's, byte for
byte. Live, the signal service subscribes to the ticks its strategy asks for (whole books when
the market-data service runs with ``BOOK_DEPTH``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jules.backtest_kafka import KafkaRunOptions, run_backtest_kafka
from jules_backtest.config import BacktestConfig, load_config
from jules_backtest.data import DataQuality, load_market
from jules_backtest.run import build_strategy_and_schema, run_backtest
from jules_contracts import BookSnapshot, Quote, SignalGenerated, backtest_scope, decode_event
from jules_contracts.topics import MD_BOOK, MD_QUOTES, SIGNALS
from jules_runtime.bus import KafkaBus
from jules_runtime.settings import KafkaSettings
from jules_signal.engine import PythonStrategy

from .bus_helpers import create_scoped_topics, new_scope, read_topic
from .kafka_helpers import KafkaEndpoint
from .service_process import start_service
from .test_signal_service import wait_for_metric
from .test_topic_replay_parity import DATA_DIR, REPO_ROOT, assert_same_run

pytestmark = pytest.mark.integration

EXAMPLES = REPO_ROOT / "examples" / "ticks"

RUNS: dict[str, dict[str, Any]] = {
    # 20 minutes of FXCM EURUSD quotes, the quote-momentum strategy on every quote
    "quotes": {
        "config": "eurusd_fxcm_quotes",
        "start": datetime(2014, 5, 6, 13, 0, tzinfo=UTC),
        "end": datetime(2014, 5, 6, 13, 20, tzinfo=UTC),
        "overrides": [
            "strategy.params.fast=20",
            "strategy.params.slow=200",
            "strategy.params.min_hold_s=60",
        ],
    },
    # two minutes of the Binance futures book, book imbalance on every update
    "book": {
        "config": "btcusdt_binance_book",
        "start": datetime(2024, 8, 8, 23, 55, tzinfo=UTC),
        "end": datetime(2024, 8, 8, 23, 57, tzinfo=UTC),
        "overrides": ["strategy.params.min_hold_s=10"],
    },
}


def config_of(which: str, output_dir: Path) -> BacktestConfig:
    run = RUNS[which]
    return load_config(
        EXAMPLES / f"{run['config']}.yaml",
        run["overrides"],
        data_dir=DATA_DIR,
        output_dir=output_dir,
        start=run["start"],
        end=run["end"],
    )


@pytest.mark.parametrize("which", sorted(RUNS))
def test_a_tick_driven_run_replayed_through_kafka_equals_the_embedded_run(
    which: str, kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    embedded = run_backtest(config_of(which, tmp_path / "embedded"))
    assert sum(embedded.quality.ticks.values()) >= 1_000
    orders = (embedded.run_dir / "orders.csv").read_text().splitlines()
    assert len(orders) >= 5  # the strategy traded on the ticks
    scope = backtest_scope(f"ticks-{which}-{time.time_ns()}")
    options = KafkaRunOptions(bootstrap=kafka.bootstrap, scope=scope, partitions=2)
    replayed = run_backtest_kafka(config_of(which, tmp_path / "kafka"), options)
    assert replayed.quality.ticks == embedded.quality.ticks
    assert_same_run(embedded, replayed)


@pytest.mark.parametrize("which", sorted(RUNS))
async def test_a_tick_hook_live_gives_the_signals_of_its_run_in_process(
    which: str, kafka: KafkaEndpoint, tmp_path: Path
) -> None:
    # the books are those the market-data service publishes with BOOK_DEPTH (a test in
    # libs/backtest checks its replay gives the backtest's books)
    config = config_of(which, tmp_path / "unused")
    strategy, schema = build_strategy_and_schema(config)
    assert isinstance(strategy, PythonStrategy)
    kind, topic = (Quote, MD_QUOTES) if which == "quotes" else (BookSnapshot, MD_BOOK)
    ticks = [e for e in load_market(config, DataQuality()) if isinstance(e, kind)][:3_000]
    expected = [s for tick in ticks for s in strategy.on_market(tick)]
    assert len(expected) >= 5

    settings = KafkaSettings(bootstrap_servers=kafka.bootstrap)
    scope = new_scope()
    await create_scoped_topics(settings, scope)
    signal = start_service(
        "signal",
        kafka.bootstrap,
        scope,
        tmp_path,
        FEATURES=json.dumps(list(schema.names)),
        FEATURE_SCHEMA_ID=schema.schema_id,
        STRATEGY=json.dumps(config.strategy.model_dump(mode="json")),
    )
    try:
        signal.wait_ready()
        async with KafkaBus("test-feed", settings, scope) as feed:
            await feed.publish(*ticks)
        await wait_for_metric(
            signal, "jules_signal_events_in_total", len(ticks), topic=topic.scoped(scope)
        )
        records = await read_topic(kafka.bootstrap, SIGNALS.scoped(scope), len(expected))
    finally:
        assert signal.terminate() == 0, signal.log.read_text()[-2000:]
    signals = [decode_event(r.value) for r in records]
    assert all(isinstance(s, SignalGenerated) for s in signals)
    assert signals == expected
