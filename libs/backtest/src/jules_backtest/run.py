"""Run a backtest and write its run folder.

The run folder holds ``orders.csv``, ``fills.csv``, ``trades.csv``, ``equity.csv``,
``metrics.json`` (with the Monte Carlo intervals), ``data_quality.json``, ``config.json``
(the resolved configuration), ``report.html`` and the audit log (``audit/``); a Kafka-mode run
adds the services' ``logs/``. The same input and seed give byte-identical files; only
``run.json`` records when and how long the run took. ``run.json`` is written first (its
``finished_at`` empty until the run ends), so even an interrupted run's folder is recognised:
a new run replaces an earlier run's files there and leaves anything else in place, and any
other non-empty folder is refused unless ``overwrite`` (``jules_runtime.output_paths``).
"""

from __future__ import annotations

import csv
import json
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jules_contracts import Event, MarketEvent
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_order_router.engine import OrderRouterEngine
from jules_risk.engine import RiskEngine
from jules_runtime.output_paths import OutputFolder
from jules_signal.engine import ModelCard, OnnxPolicy, OnnxPolicyConfig, Strategy, build_strategy

from jules_backtest.audit import audit_sink
from jules_backtest.config import BacktestConfig, OnnxStrategyConfig
from jules_backtest.data import DataQuality, load_market
from jules_backtest.metrics import ExecutionCounts, bootstrap_intervals, compute_metrics
from jules_backtest.node import EmbeddedNode
from jules_backtest.outputs import RunRecorder, iso
from jules_backtest.report import MONTE_CARLO_PERCENTILES, render_report
from jules_backtest.trades import RoundTrip, round_trips, traded_notional

__all__ = [
    "RUN_FOLDER",
    "RunSummary",
    "build_node",
    "build_strategy_and_schema",
    "finish_run",
    "prepare_run_dir",
    "run_backtest",
    "run_in_memory",
    "run_metrics",
]


_MARKER = "run.json"

RUN_FOLDER = OutputFolder(
    kind="backtest run",
    marker=_MARKER,
    marker_keys=frozenset({"started_at", "mode"}),
    entries=frozenset(
        {
            _MARKER,
            "orders.csv",
            "fills.csv",
            "trades.csv",
            "equity.csv",
            "metrics.json",
            "data_quality.json",
            "config.json",
            "report.html",
            "audit",
            "logs",
        }
    ),
)
"""A backtest's run folder: what a run writes there, and its marker (``run.json``)."""


@dataclass(frozen=True)
class RunSummary:
    """What a finished run reports."""

    run_dir: Path
    metrics: dict[str, Any]
    intervals: dict[str, dict[str, float]]
    quality: DataQuality
    bars: int
    seconds: float
    recorder: RunRecorder | None = None
    """Every event the run saw (for a sweep's stitched out-of-sample curve)."""


FALLBACK_FEATURE = "logret_1"
"""The feature computed for a strategy that reads none (a vector per bar needs one)."""


def build_strategy_and_schema(config: BacktestConfig) -> tuple[Strategy, FeatureSchema]:
    """Build the strategy and the feature schema it needs (an ONNX model's own, exactly)."""
    strategy_config = config.strategy
    if isinstance(strategy_config, OnnxStrategyConfig):
        import onnxruntime as ort  # ONNX strategies only

        model = Path(strategy_config.model).read_bytes()
        metadata = ort.InferenceSession(model).get_modelmeta().custom_metadata_map
        card = ModelCard.from_metadata(metadata)
        schema = FeatureSchema.from_names(card.feature_names)
        policy = OnnxPolicy.from_bytes(
            model,
            live_schema_id=schema.schema_id,
            live_feature_names=schema.names,
            config=OnnxPolicyConfig(
                dead_band=strategy_config.dead_band,
                min_weight_change=strategy_config.min_weight_change,
            ),
        )
        return policy, schema
    strategy = build_strategy(strategy_config)
    names = dict.fromkeys([*strategy.required_features, *config.features])
    # every bar reaches the strategy with its feature vector: one that reads no feature (a
    # spread on prices alone) gets the one-bar log return
    return strategy, FeatureSchema.from_names(names or [FALLBACK_FEATURE])


def _write_csv(path: Path, header: list[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _num(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _write_outputs(run_dir: Path, recorder: RunRecorder, trips: list[RoundTrip]) -> None:
    _write_csv(
        run_dir / "orders.csv",
        [
            "client_order_id",
            "submitted_at",
            "instrument_id",
            "side",
            "quantity",
            "order_type",
            "strategy_id",
            "reference_price",
            "decision",
            "reasons",
            "status",
            "filled_quantity",
            "average_price",
            "fees",
        ],
        [
            [
                o.client_order_id,
                iso(o.submitted_at),
                o.instrument_id,
                o.side,
                _num(o.quantity),
                o.order_type,
                o.strategy_id,
                _num(o.reference_price),
                o.decision,
                o.reasons,
                o.status,
                _num(o.filled_quantity),
                _num(o.average_price),
                _num(o.fees),
            ]
            for o in recorder.orders.values()
        ],
    )
    _write_csv(
        run_dir / "fills.csv",
        [
            "time",
            "client_order_id",
            "fill_id",
            "instrument_id",
            "quantity",
            "price",
            "fee",
            "liquidity",
            "side",
        ],
        [
            [
                iso(f.event_time),
                f.client_order_id,
                f.fill_id,
                f.instrument_id,
                _num(f.quantity),
                _num(f.price),
                _num(f.fee),
                f.liquidity,
                f.side,
            ]
            for f in recorder.fills
        ],
    )
    _write_csv(
        run_dir / "trades.csv",
        [
            "instrument_id",
            "side",
            "size",
            "entry_time",
            "entry_price",
            "exit_time",
            "exit_price",
            "pnl",
            "fees",
            "net_pnl",
        ],
        [
            [
                t.instrument_id,
                t.side,
                _num(t.size),
                iso(t.entry_time),
                _num(t.entry_price),
                iso(t.exit_time),
                _num(t.exit_price),
                _num(t.pnl),
                _num(t.fees),
                _num(t.net_pnl),
            ]
            for t in trips
        ],
    )
    peak = float("-inf")
    rows = []
    for when, equity, cash, gross, _ in recorder.equity:
        peak = max(peak, equity)
        rows.append([iso(when), _num(equity), _num(cash), _num(gross), _num(equity / peak - 1)])
    _write_csv(
        run_dir / "equity.csv", ["time", "equity", "cash", "gross_exposure", "drawdown"], rows
    )


def _dump_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def prepare_run_dir(
    config: BacktestConfig,
    *,
    overwrite: bool = False,
    started: datetime | None = None,
    mode: str = "embedded",
) -> Path:
    """Make the run folder ready and mark it as a run's (``run.json`` with no finish time).

    An earlier run's files there are replaced and anything else is left in place; a missing or
    empty folder is created; any other non-empty folder is refused (see ``RUN_FOLDER``).

    Args:
        config: The run's configuration (``run_dir``).
        overwrite: Write into a non-empty folder that holds no run: the run's files replace
            those of the same name, anything else is left in place.
        started: When the run started (default: now).
        mode: ``embedded`` or ``kafka``.

    Raises:
        jules_runtime.output_paths.OutputRefusedError: The folder is refused; nothing was
            changed.
    """
    run_dir = RUN_FOLDER.prepare(config.run_dir, overwrite=overwrite)
    _dump_json(
        run_dir / _MARKER,
        {
            "started_at": (started or datetime.now(UTC)).isoformat(),
            "finished_at": None,
            "mode": mode,
        },
    )
    return run_dir


def build_node(
    config: BacktestConfig, strategy: Strategy, schema: FeatureSchema, emit: Callable[[Event], None]
) -> EmbeddedNode:
    """Wire the engines of a backtest (features, strategy, risk, venue) into an embedded node.

    Args:
        config: The account, risk, execution and instrument table sections are read.
        strategy: The strategy (see ``build_strategy_and_schema``).
        schema: The feature schema the features engine computes.
        emit: Receives every event, in order.
    """
    instruments = config.instrument_table()
    return EmbeddedNode(
        features=FeatureEngine(schema),
        strategy=strategy,
        risk=RiskEngine(config.risk.for_account(config.account.account_id), instruments),
        router=OrderRouterEngine(
            config.execution.for_account(
                config.account.account_id, config.account.currency, config.account.starting_cash
            ),
            instruments,
        ),
        emit=emit,
    )


def run_backtest(
    config: BacktestConfig,
    *,
    progress: Callable[[Iterator[MarketEvent]], Iterator[MarketEvent]] | None = None,
    overwrite: bool = False,
) -> RunSummary:
    """Run a backtest in embedded mode and write its run folder (replacing an earlier run's).

    Args:
        config: The validated configuration.
        progress: Wraps the market events' stream (a progress bar); ``None`` for none.
        overwrite: Write into a non-empty folder that holds no run (``prepare_run_dir``).

    Raises:
        jules_runtime.output_paths.OutputRefusedError: The run folder is refused; nothing was
            changed.
    """
    started = datetime.now(UTC)
    clock = time.perf_counter()
    strategy, schema = build_strategy_and_schema(config)  # a refused model stops here
    run_dir = prepare_run_dir(config, overwrite=overwrite, started=started)
    recorder = RunRecorder()
    quality = DataQuality()
    with audit_sink(run_dir / "audit", config.audit.level) as audit:

        def emit(event: Event) -> None:
            recorder(event)
            audit(event)

        node = build_node(config, strategy, schema, emit)
        market: Iterator[MarketEvent] = load_market(config, quality)
        node.run(progress(market) if progress else market, close_at_end=config.close_at_end)
    return finish_run(config, schema, recorder, quality, started=started, clock=clock)


def run_metrics(
    config: BacktestConfig, recorder: RunRecorder
) -> tuple[dict[str, Any], list[RoundTrip]]:
    """The metrics of ``metrics.json`` and the round trips, from what ``recorder`` saw."""
    multipliers = {i: spec.multiplier for i, spec in config.instrument_table().items()}
    trips = round_trips(recorder.fills, multipliers)
    counts = ExecutionCounts(
        recorder.submitted,
        recorder.denied,
        recorder.filled_orders,
        traded_notional(recorder.fills, multipliers),
    )
    times = [point[0] for point in recorder.equity]
    equity = [point[1] for point in recorder.equity]
    metrics = compute_metrics(times, equity, [p[4] for p in recorder.equity], trips, counts)
    return metrics, trips


def run_in_memory(
    config: BacktestConfig, market: Iterable[MarketEvent] | None = None
) -> tuple[dict[str, Any], RunRecorder, DataQuality]:
    """Run a backtest embedded and write nothing: its metrics, its recorder and data quality.

    What a sweep's trial runs: the same loop and metrics as ``run_backtest`` with no run
    folder, no audit log and no report.

    Args:
        config: The validated configuration.
        market: The market events, already loaded for ``config`` (the data quality returned is
            then empty); ``None`` loads them.
    """
    strategy, schema = build_strategy_and_schema(config)
    recorder = RunRecorder()
    quality = DataQuality()
    node = build_node(config, strategy, schema, recorder)
    events = load_market(config, quality) if market is None else iter(market)
    node.run(events, close_at_end=config.close_at_end)
    metrics, _ = run_metrics(config, recorder)
    return metrics, recorder, quality


def finish_run(
    config: BacktestConfig,
    schema: FeatureSchema,
    recorder: RunRecorder,
    quality: DataQuality,
    *,
    started: datetime,
    clock: float,
    mode: str = "embedded",
) -> RunSummary:
    """Write the run folder's files from what ``recorder`` saw (every mode ends here).

    Args:
        config: The run's configuration.
        schema: The feature schema of the run.
        recorder: Every event of the run, in the order of the embedded loop.
        quality: What loading the data found.
        started: When the run started (``run.json``).
        clock: ``time.perf_counter()`` at the start.
        mode: ``embedded`` or ``kafka`` (``run.json``).
    """
    run_dir = config.run_dir
    metrics, trips = run_metrics(config, recorder)
    times = [point[0] for point in recorder.equity]
    equity = [point[1] for point in recorder.equity]
    intervals = bootstrap_intervals(
        equity,
        samples=config.monte_carlo.samples,
        block=config.monte_carlo.block,
        seed=config.seed,
    )
    _write_outputs(run_dir, recorder, trips)
    _dump_json(run_dir / "metrics.json", {"metrics": metrics, "monte_carlo": intervals})
    data_quality = quality.as_dict()
    _dump_json(run_dir / "data_quality.json", data_quality)
    _dump_json(run_dir / "config.json", config.model_dump(mode="json", exclude={"output_dir"}))
    (run_dir / "report.html").write_text(
        render_report(
            title=f"IntradayJules backtest: {config.name}",
            settings={
                "strategy": json.dumps(config.strategy.model_dump(mode="json"), sort_keys=True),
                "feature schema": schema.schema_id,
                "instruments": ", ".join(sorted(recorder.prices)),
                "starting cash": config.account.starting_cash,
                "fill model": config.execution.fill_model.kind,
                "seed": config.seed,
            },
            metrics=metrics,
            intervals=intervals,
            times=times,
            equity=equity,
            prices=[recorder.prices[key] for key in sorted(recorder.prices)],
            trips=trips,
            gross_exposure=[point[3] for point in recorder.equity],
            fills=recorder.fills,
            denial_reasons=[o.reasons for o in recorder.orders.values() if o.decision == "DENIED"],
            data_quality=data_quality,
            monte_carlo=bootstrap_intervals(  # the same seeded paths, at every percentile
                equity,
                samples=config.monte_carlo.samples,
                block=config.monte_carlo.block,
                seed=config.seed,
                levels=MONTE_CARLO_PERCENTILES,
            ),
        )
    )
    seconds = time.perf_counter() - clock
    bar_count = sum(len(series.times) for series in recorder.prices.values())
    _dump_json(
        run_dir / _MARKER,
        {
            "started_at": started.isoformat(),
            "finished_at": datetime.now(UTC).isoformat(),
            "wall_seconds": round(seconds, 3),
            "bars": bar_count,
            "events": recorder.events,
            "mode": mode,
            "python": platform.python_version(),
            "machine": platform.machine(),
        },
    )
    return RunSummary(run_dir, metrics, intervals, quality, bar_count, seconds, recorder)
