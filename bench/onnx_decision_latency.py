"""Benchmark: decision latency of an ONNX policy in the signal engine.

Loads a model with its card (default: the shipped demo model, ``examples/models/demo-policy``),
computes the model's features over real Coinbase 1-minute bars with the features engine, then
times, per feature vector, the whole decision the signal engine makes
(``OnnxPolicy.on_features``: read and standardise the features, run the onnxruntime session,
map the output to a target, decide whether it is news, build the signal) and, separately, the
bare ``session.run`` of one standardised row. Prints p50, p99, p99.9 and max in microseconds
against the goal (p50 <= 30 us, p99 <= 100 us). Usage::

    .venv/bin/python bench/onnx_decision_latency.py [--model PATH] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from jules_contracts import Bar, FeatureVector
from jules_features.engine import FeatureEngine, FeatureSchema
from jules_market_data.loaders import load
from jules_signal.engine import ModelCard, OnnxPolicy, OnnxPolicyConfig
from machine import describe  # bench/machine.py (scripts run from bench/)

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("JULES_DATA_DIR", ROOT.parent / "shared" / "data"))
COINBASE = "QuantConnect_Lean/Data/crypto/coinbase/minute"
DAYS = ("20180404", "20180405", "20180406")
DEFAULT_MODEL = ROOT / "examples" / "models" / "demo-policy" / "model.onnx"
GOAL_P50_US, GOAL_P99_US = 30.0, 100.0


def vectors(card: ModelCard) -> list[tuple[FeatureVector, Bar]]:
    """Feature vectors of the card's features over three days of BTCUSD bars, once defined."""
    schema = FeatureSchema.from_names(card.feature_names)
    engine = FeatureEngine(schema)
    pairs = []
    for day in DAYS:
        path = DATA_DIR / COINBASE / "btcusd" / f"{day}_trade.zip"
        for event in load(path, instrument_id="BTCUSD.COINBASE"):
            if isinstance(event, Bar):
                vector = engine.on_bar(event)
                if all(value is not None for value in vector.features.values()):
                    pairs.append((vector, event))
    return pairs


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    """p50, p99, p99.9 and max of nanosecond samples, in microseconds."""
    data = np.asarray(samples_ns, dtype=np.float64) / 1_000
    return {
        "p50": float(np.percentile(data, 50)),
        "p99": float(np.percentile(data, 99)),
        "p99.9": float(np.percentile(data, 99.9)),
        "max": float(data.max()),
    }


def time_decisions(
    model: bytes, card: ModelCard, pairs: list[tuple[FeatureVector, Bar]]
) -> list[int]:
    """Nanoseconds per ``on_features`` call of a fresh policy over every pair."""
    schema = FeatureSchema.from_names(card.feature_names)
    policy = OnnxPolicy.from_bytes(
        model,
        live_schema_id=schema.schema_id,
        live_feature_names=schema.names,
        config=OnnxPolicyConfig(),
    )
    for vector, bar in pairs[:200]:  # warm-up: first runs allocate
        policy.on_features(vector, bar)
    clock = time.perf_counter_ns
    samples = []
    for vector, bar in pairs:
        start = clock()
        policy.on_features(vector, bar)
        samples.append(clock() - start)
    return samples


def time_session(model: bytes, card: ModelCard, count: int) -> list[int]:
    """Nanoseconds per bare ``session.run`` of one standardised row."""
    policy_session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = policy_session.get_inputs()[0].name
    rows = np.random.default_rng(7).normal(size=(count, card.input_width)).astype(np.float32)
    for row in rows[:200]:
        policy_session.run(None, {name: row.reshape(1, -1)})
    clock = time.perf_counter_ns
    samples = []
    for row in rows:
        batch = row.reshape(1, -1)
        start = clock()
        policy_session.run(None, {name: batch})
        samples.append(clock() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--repeat", type=int, default=5, help="passes over the vectors")
    args = parser.parse_args()
    if not args.model.exists():
        raise SystemExit(f"{args.model} does not exist: make demo-model writes the demo model")
    model = args.model.read_bytes()
    card = ModelCard.from_metadata(
        ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        .get_modelmeta()
        .custom_metadata_map
    )
    print(f"machine: {describe()}; onnxruntime {ort.__version__}")
    print(
        f"model: {card.model_name} {card.model_version} ({len(card.feature_names)} features"
        f"{' + position' if card.position_input else ''}, action {card.action.kind})"
    )
    pairs = vectors(card)
    print(f"decisions per pass: {len(pairs)} (BTCUSD 1-minute bars, {len(DAYS)} days)")
    gc.disable()
    try:
        decisions: list[int] = []
        medians = []
        for _ in range(args.repeat):
            samples = time_decisions(model, card, pairs)
            medians.append(statistics.median(samples) / 1_000)
            decisions.extend(samples)
        session = time_session(model, card, len(pairs) * args.repeat)
    finally:
        gc.enable()
    decision = percentiles(decisions)
    bare = percentiles(session)
    print(
        "decision (OnnxPolicy.on_features), us: "
        + ", ".join(f"{key} {value:.1f}" for key, value in decision.items())
        + f"; p50 per pass {min(medians):.1f}-{max(medians):.1f}"
    )
    print(
        "bare session.run of one row, us: "
        + ", ".join(f"{key} {value:.1f}" for key, value in bare.items())
    )
    met = decision["p50"] <= GOAL_P50_US and decision["p99"] <= GOAL_P99_US
    print(
        f"goal p50 <= {GOAL_P50_US:.0f} us, p99 <= {GOAL_P99_US:.0f} us: "
        f"{'met' if met else 'missed'}"
    )


if __name__ == "__main__":
    main()
