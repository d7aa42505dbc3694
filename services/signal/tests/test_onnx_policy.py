"""The ONNX policy: numerics equal to numpy, schema checks, session options, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest
from jules_contracts import SignalDirection
from jules_signal.engine import (
    MODEL_CARD_KEY,
    ModelLoadError,
    ModelOutputError,
    ModelRejectionReason,
    ModelSchemaMismatchError,
    OnnxPolicy,
    OnnxPolicyConfig,
    Strategy,
)
from onnx import TensorProto

from .builders import OTHER_SCHEMA_ID, SCHEMA_ID, make_bar, make_features
from .onnx_models import FEATURES, card_fields, make_card, policy_model, reference_output

RNG_SEED = 20240808
LINEAR = np.array([[1.0], [0.0], [0.0]])  # y = (sma_10 - 100) / 2, unclipped by any activation


def load(model: bytes, **kwargs) -> OnnxPolicy:
    kwargs.setdefault("live_schema_id", SCHEMA_ID)
    return OnnxPolicy.from_bytes(model, **kwargs)


def random_inputs(rng: np.random.Generator, count: int) -> np.ndarray:
    return np.column_stack(
        [rng.normal(100, 3, count), rng.normal(100, 5, count), rng.uniform(0, 100, count)]
    )


def decide(policy: OnnxPolicy, rows, *, schema_id: str = SCHEMA_ID, close: float = 100.0):
    out = []
    for index, row in enumerate(rows):
        bar = make_bar(index, close)
        signals = policy.on_features(make_features(bar, row, schema_id=schema_id), bar)
        assert len(signals) <= 1  # one instrument: at most its own signal
        out.append(signals[0] if signals else None)
    return out


def row(sma_10: float | None, sma_30: float | None = 100.0, rsi_14: float | None = 50.0):
    return {"sma_10": sma_10, "sma_30": sma_30, "rsi_14": rsi_14}


# --- numerics --------------------------------------------------------------------------------


def test_float32_model_outputs_equal_numpy_with_the_same_weights():
    rng = np.random.default_rng(RNG_SEED)
    weights = rng.normal(0, 0.7, (3, 1))
    card = make_card()
    policy = load(policy_model(weights, card=card))
    inputs = random_inputs(rng, 200)

    got = np.array([policy.predict(values) for values in inputs])

    np.testing.assert_allclose(got, reference_output(card, weights, inputs), rtol=1e-6, atol=1e-7)


def test_float64_model_outputs_equal_numpy_to_the_last_digits():
    rng = np.random.default_rng(RNG_SEED + 1)
    weights = rng.normal(0, 0.7, (3, 4))
    card = make_card(action={"kind": "discrete", "target_weights": [-1, -0.5, 0.5, 1]})
    policy = load(policy_model(weights, card=card, dtype=TensorProto.DOUBLE))
    inputs = random_inputs(rng, 50)

    got = np.array([policy.predict(values) for values in inputs])

    expected = reference_output(card, weights, inputs, dtype=np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_two_sessions_of_one_model_give_bitwise_identical_outputs_and_signals():
    rng = np.random.default_rng(RNG_SEED + 2)
    model = policy_model(rng.normal(0, 1.0, (3, 1)))
    first, second = load(model), load(model)
    inputs = random_inputs(rng, 300)
    rows = [row(*values) for values in inputs.tolist()]

    outputs = [np.array([p.predict(v) for v in inputs]) for p in (first, second)]
    signals = [[s and s.model_dump() for s in decide(p, rows)] for p in (first, second)]

    assert outputs[0].tobytes() == outputs[1].tobytes()
    assert signals[0] == signals[1]
    assert sum(s is not None for s in signals[0]) > 10


# --- session ---------------------------------------------------------------------------------


def test_session_is_single_threaded_sequential_on_cpu_without_spinning():
    policy = load(policy_model(LINEAR))

    options = policy.session_options

    assert options.intra_op_num_threads == 1
    assert options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert options.execution_mode.name == "ORT_SEQUENTIAL"
    assert options.use_deterministic_compute
    assert policy.providers == ["CPUExecutionProvider"]


def test_policy_is_a_strategy_reading_the_cards_features_in_order():
    policy = load(policy_model(LINEAR))

    assert isinstance(policy, Strategy)
    assert policy.required_features == FEATURES
    assert policy.strategy_id == "mlp-policy"
    assert policy.card == make_card()


# --- schema checks ---------------------------------------------------------------------------


def test_model_of_another_feature_schema_is_refused_naming_both_ids_and_features():
    model = policy_model(LINEAR)

    with pytest.raises(ModelSchemaMismatchError) as caught:
        load(
            model,
            live_schema_id=OTHER_SCHEMA_ID,
            live_feature_names=("sma_10", "sma_20", "rsi_14"),
        )

    message = str(caught.value)
    assert SCHEMA_ID in message
    assert OTHER_SCHEMA_ID in message
    assert "position 1: model 'sma_30', live 'sma_20'" in message
    assert "lack ['sma_30']" in message
    assert caught.value.reason is ModelRejectionReason.FEATURE_SCHEMA_MISMATCH
    assert isinstance(caught.value, ValueError)
    assert (caught.value.model_schema_id, caught.value.live_schema_id) == (
        SCHEMA_ID,
        OTHER_SCHEMA_ID,
    )


def test_schema_mismatch_without_live_names_still_names_both_ids():
    with pytest.raises(ModelSchemaMismatchError, match=f"'{SCHEMA_ID}'.*'{OTHER_SCHEMA_ID}'"):
        load(policy_model(LINEAR), live_schema_id=OTHER_SCHEMA_ID)


def test_live_names_lacking_a_model_feature_are_refused_even_with_the_same_id():
    with pytest.raises(ModelSchemaMismatchError, match=r"lack \['rsi_14'\]"):
        load(policy_model(LINEAR), live_feature_names=("sma_10", "sma_30"))


def test_live_schema_with_more_features_than_the_model_reads_is_accepted():
    policy = load(policy_model(LINEAR), live_feature_names=("ema_9", *FEATURES, "atr_14"))

    assert policy.required_features == FEATURES


def test_feature_vector_of_another_schema_is_refused_at_run_time():
    policy = load(policy_model(LINEAR))

    with pytest.raises(ModelSchemaMismatchError, match=OTHER_SCHEMA_ID):
        decide(policy, [row(101.0)], schema_id=OTHER_SCHEMA_ID)


# --- refused models --------------------------------------------------------------------------


def test_model_without_a_card_is_refused():
    with pytest.raises(ModelLoadError, match=MODEL_CARD_KEY) as caught:
        load(policy_model(LINEAR, metadata={"producer": "someone"}))

    assert caught.value.reason is ModelRejectionReason.MISSING_MODEL_CARD


def test_card_that_is_not_json_is_refused():
    with pytest.raises(ModelLoadError) as caught:
        load(policy_model(LINEAR, metadata={MODEL_CARD_KEY: "{not json"}))

    assert caught.value.reason is ModelRejectionReason.INVALID_MODEL_CARD


def test_incomplete_card_is_refused_naming_the_missing_field():
    fields = card_fields()
    del fields["training_data_hash"]
    metadata = {MODEL_CARD_KEY: json.dumps(fields)}

    with pytest.raises(ModelLoadError) as caught:
        load(policy_model(LINEAR, metadata=metadata))

    assert caught.value.reason is ModelRejectionReason.INVALID_MODEL_CARD
    assert "training_data_hash: Field required" in str(caught.value)


def test_bytes_that_are_not_a_model_are_refused():
    with pytest.raises(ModelLoadError) as caught:
        load(b"definitely not onnx")

    assert caught.value.reason is ModelRejectionReason.INVALID_MODEL


def test_model_whose_input_width_differs_from_the_card_is_refused():
    with pytest.raises(ModelLoadError, match=r"expected \[batch, 3\]") as caught:
        load(policy_model(np.ones((2, 1)), card=make_card()))

    assert caught.value.reason is ModelRejectionReason.INCOMPATIBLE_MODEL_IO


def test_discrete_card_on_a_single_output_model_is_refused():
    card = make_card(action={"kind": "discrete", "target_weights": [-1, 0, 1]})

    with pytest.raises(ModelLoadError, match="expected 3 value") as caught:
        load(policy_model(LINEAR, card=card))

    assert caught.value.reason is ModelRejectionReason.INCOMPATIBLE_MODEL_IO


def test_an_invalid_strategy_id_is_refused_at_load():
    with pytest.raises(ValueError, match="should match pattern"):
        load(policy_model(LINEAR), strategy_id="has spaces")


# --- decisions -------------------------------------------------------------------------------


def test_policy_waits_until_every_feature_it_reads_is_defined():
    policy = load(policy_model(LINEAR, activation=None))

    signals = decide(policy, [row(101.0, None), row(None), row(101.0, 100.0, None), row(101.0)])

    assert signals[:3] == [None, None, None]
    assert signals[3] is not None
    assert signals[3].target_weight == 0.5


def test_continuous_output_becomes_a_target_emitted_only_when_it_changes():
    policy = load(
        policy_model(LINEAR, activation=None),
        config=OnnxPolicyConfig(dead_band=0.05, min_weight_change=0.1),
    )
    sma_10 = [101.0, 101.1, 101.4, 100.06, 100.08, 99.6, 110.0, 112.0]

    signals = decide(policy, [row(x) for x in sma_10], close=250.0)

    emitted = [
        (i, s.direction, round(s.target_weight, 6)) for i, s in enumerate(signals) if s is not None
    ]
    assert emitted == [
        (0, SignalDirection.LONG, 0.5),  # (101 - 100) / 2
        (2, SignalDirection.LONG, 0.7),  # 0.55 moved less than 0.1 from 0.5
        (3, SignalDirection.FLAT, 0.0),  # 0.03 is inside the dead band
        (5, SignalDirection.SHORT, -0.2),  # 0.04 stayed flat
        (6, SignalDirection.LONG, 1.0),  # 5.0 clipped to the maximum weight
    ]
    first = signals[0]
    assert first is not None
    assert first.strength == pytest.approx(0.5)
    assert first.model_version == "1.2.0"
    assert first.strategy_id == "mlp-policy"
    assert first.feature_schema_id == SCHEMA_ID
    assert first.reference_price == 250.0


def test_discrete_output_picks_the_best_class_with_its_softmax_probability():
    rng = np.random.default_rng(RNG_SEED + 3)
    weights = rng.normal(0, 2.0, (3, 3))
    card = make_card(action={"kind": "discrete", "target_weights": [-1.0, 0.0, 0.6]})
    policy = load(policy_model(weights, card=card, activation=None), strategy_id="cls-policy")
    inputs = random_inputs(rng, 40)

    signals = decide(policy, [row(*values) for values in inputs.tolist()])

    mean = np.array([100.0, 100.0, 50.0])
    std = np.array([2.0, 4.0, 10.0])
    scores = ((inputs - mean) / std).astype(np.float32) @ weights.astype(np.float32)
    classes = scores.argmax(axis=1)
    emitted = [(i, s) for i, s in enumerate(signals) if s is not None]
    changes = [0] + [i for i in range(1, len(classes)) if classes[i] != classes[i - 1]]
    assert [i for i, _ in emitted] == changes
    for i, signal in emitted:
        probabilities = np.exp(scores[i] - scores[i].max())
        probabilities /= probabilities.sum()
        assert signal.target_weight == [-1.0, 0.0, 0.6][classes[i]]
        assert signal.strength == pytest.approx(float(probabilities[classes[i]]), rel=1e-5)
        assert signal.strategy_id == "cls-policy"


def test_non_finite_model_output_is_an_error_not_a_signal():
    policy = load(policy_model(LINEAR, activation="Log"))

    with pytest.raises(ModelOutputError, match="finite") as caught:
        decide(policy, [row(90.0)])  # log of a negative standardised value

    assert caught.value.reason is ModelRejectionReason.INVALID_MODEL_OUTPUT


def test_predict_refuses_the_wrong_number_of_values():
    policy = load(policy_model(LINEAR))

    with pytest.raises(ValueError, match="reads 3 features"):
        policy.predict([1.0, 2.0])


def test_a_model_reading_the_position_gets_its_last_target_after_the_features():
    # y = (sma_10 - 100) / 2 + 2 * position: the position is appended, not standardised.
    weights = np.array([[1.0], [0.0], [0.0], [2.0]])
    card = make_card(position_input=True)
    policy = load(
        policy_model(weights, card=card, activation=None),
        config=OnnxPolicyConfig(dead_band=0.0, min_weight_change=0.01),
    )

    assert policy.predict([101.0, 100.0, 50.0], 0.25).tolist() == pytest.approx([1.0])
    signals = decide(policy, [row(100.2), row(100.2), row(100.2)])

    # 0.1 with no position yet; then 0.1 + 2 * 0.1 = 0.3; then 0.1 + 2 * 0.3 = 0.7.
    weights_emitted = [round(s.target_weight, 6) for s in signals if s is not None]
    assert weights_emitted == [0.1, 0.3, 0.7]


def test_a_position_reading_model_must_declare_one_more_input_than_features():
    card = make_card(position_input=True)
    with pytest.raises(ModelLoadError) as caught:
        load(policy_model(LINEAR, card=card))
    assert caught.value.reason is ModelRejectionReason.INCOMPATIBLE_MODEL_IO
    assert "4 inputs" in str(caught.value)
