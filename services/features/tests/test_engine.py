"""The engine: one vector per bar, per-instrument state, deterministic ids, ordering rules."""

from __future__ import annotations

import pytest
from jules_contracts import encode_event
from jules_features.engine import (
    DEFAULT_BAR_FEATURES,
    FeatureEngine,
    FeatureEngineConfig,
    FeatureError,
    FeatureErrorReason,
    FeatureSchema,
)
from pydantic import ValidationError

from .market_data import MINUTE_NS, coinbase_bars, make_bar

SCHEMA = FeatureSchema.from_names(DEFAULT_BAR_FEATURES)
BTC = coinbase_bars("btcusd", ("20170903",))
ETH = coinbase_bars("ethusd", ("20170903",))


def test_every_bar_gives_one_vector_derived_from_it():
    engine = FeatureEngine(SCHEMA)

    vectors = [engine.on_bar(bar) for bar in BTC[:50]]

    assert len(vectors) == 50
    for bar, vector in zip(BTC, vectors, strict=False):
        assert vector.causation_id == bar.event_id
        assert vector.event_time == bar.event_time
        assert vector.instrument_id == bar.instrument_id
        assert vector.source == "features"
        assert vector.feature_schema_id == SCHEMA.schema_id
        assert tuple(vector.features) == SCHEMA.names


def test_a_replay_gives_byte_identical_vectors():
    first = [encode_event(FeatureEngine(SCHEMA).on_bar(bar)) for bar in BTC[:1]]
    engine_a, engine_b = FeatureEngine(SCHEMA), FeatureEngine(SCHEMA)

    run_a = [encode_event(engine_a.on_bar(bar)) for bar in BTC[:300]]
    run_b = [encode_event(engine_b.on_bar(bar)) for bar in BTC[:300]]

    assert run_a == run_b
    assert run_a[0] == first[0]


def test_required_history_is_the_first_bar_with_every_feature_defined():
    engine = FeatureEngine(SCHEMA)

    vectors = [engine.on_bar(bar) for bar in BTC[:100]]

    complete = [all(v is not None for v in vector.features.values()) for vector in vectors]
    assert engine.required_history == 34  # MACD(12, 26, 9): TA-Lib lookback 33
    assert complete.index(True) == engine.required_history - 1
    assert all(complete[engine.required_history - 1 :])


def test_required_history_follows_the_longest_feature():
    assert FeatureEngine(FeatureSchema.from_names(["vwap", "tod_sin"])).required_history == 1
    assert FeatureEngine(FeatureSchema.from_names(["rsi_14", "rvol_20"])).required_history == 21
    assert FeatureEngine(FeatureSchema.from_names(["adx_14", "spread"])).required_history == 28


def test_instruments_keep_separate_state_when_their_bars_interleave():
    together = FeatureEngine(SCHEMA)
    interleaved = sorted(BTC[:200] + ETH[:200], key=lambda bar: (bar.event_time, bar.instrument_id))

    mixed = [together.on_bar(bar) for bar in interleaved]

    alone_btc = FeatureEngine(SCHEMA)
    alone_eth = FeatureEngine(SCHEMA)
    expected = {
        **{bar.event_id: alone_btc.on_bar(bar) for bar in BTC[:200]},
        **{bar.event_id: alone_eth.on_bar(bar) for bar in ETH[:200]},
    }
    assert all(vector == expected[str(vector.causation_id)] for vector in mixed)
    assert mixed[-1].features != mixed[-2].features


def test_a_bar_delivered_again_returns_the_same_vector_without_advancing():
    engine = FeatureEngine(SCHEMA)
    reference = FeatureEngine(SCHEMA)
    for bar in BTC[:40]:
        engine.on_bar(bar)
        reference.on_bar(bar)

    again = engine.on_bar(BTC[39])

    assert again == reference.on_bar(BTC[39])
    assert engine.on_bar(BTC[40]) == reference.on_bar(BTC[40])


def test_an_out_of_order_bar_is_refused_and_leaves_the_state_untouched():
    engine = FeatureEngine(SCHEMA)
    reference = FeatureEngine(SCHEMA)
    for bar in BTC[:40]:
        engine.on_bar(bar)
        reference.on_bar(bar)

    with pytest.raises(FeatureError) as caught:
        engine.on_bar(BTC[20])

    assert caught.value.reason is FeatureErrorReason.BAR_OUT_OF_ORDER
    assert caught.value.subject == "BTCUSD.COINBASE"
    assert "not after the previous bar" in str(caught.value)
    assert engine.on_bar(BTC[40]) == reference.on_bar(BTC[40])


def test_a_bar_of_another_interval_is_refused():
    engine = FeatureEngine(SCHEMA)
    first = make_bar("X.TEST", 0, (1.0, 1.0, 1.0, 1.0, 1.0))
    five_minutes = make_bar(
        "X.TEST", MINUTE_NS, (1.0, 1.0, 1.0, 1.0, 1.0), interval="5m", interval_ns=5 * MINUTE_NS
    )
    engine.on_bar(first)

    with pytest.raises(FeatureError, match="interval '5m', earlier bars '1m'") as caught:
        engine.on_bar(five_minutes)

    assert caught.value.reason is FeatureErrorReason.INTERVAL_MISMATCH


def test_gaps_between_bars_are_not_filled():
    # TA-Lib semantics: the bars are a sequence; a missing minute is not a bar.
    engine = FeatureEngine(FeatureSchema.from_names(["sma_2"]))
    engine.on_bar(make_bar("X.TEST", 0, (1.0, 1.0, 1.0, 1.0, 1.0)))

    later = engine.on_bar(make_bar("X.TEST", 30 * MINUTE_NS, (3.0, 3.0, 3.0, 3.0, 1.0)))

    assert later.features["sma_2"] == 2.0


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("session_start_offset_minutes", 1440, "less than 1440"),
        ("session_start_offset_minutes", -1, "greater than or equal to 0"),
        ("session_start_offset_minutes", "60", "valid integer"),
        ("book_max_age_ns", 0, "greater than 0"),
        ("session_offset", 5, "Extra inputs are not permitted"),
    ],
)
def test_bad_configuration_fails_at_construction_naming_the_field(field, value, fragment):
    with pytest.raises(ValidationError) as caught:
        FeatureEngineConfig.model_validate({field: value})

    assert field in str(caught.value)
    assert fragment in str(caught.value)


def test_configuration_is_frozen():
    config = FeatureEngineConfig(session_start_offset_minutes=60)

    with pytest.raises(ValidationError):
        config.session_start_offset_minutes = 0  # type: ignore[misc]
