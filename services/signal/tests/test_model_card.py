"""The model card: what a valid card holds and how an invalid one is reported."""

from __future__ import annotations

import json

import pytest
from jules_signal.engine import (
    MODEL_CARD_KEY,
    DiscreteAction,
    ModelCard,
    ModelLoadError,
    ModelRejectionReason,
    TargetWeightAction,
)
from pydantic import ValidationError

from .onnx_models import NORMALISATION, card_fields, make_card


def metadata_of(**overrides) -> dict[str, str]:
    return {MODEL_CARD_KEY: json.dumps(card_fields(**overrides))}


def test_a_complete_card_reads_back_from_metadata():
    card = ModelCard.from_metadata(metadata_of())

    assert card == make_card()
    assert card.feature_names == ("sma_10", "sma_30", "rsi_14")
    assert card.normalisation["rsi_14"].std == 10.0
    assert card.action == TargetWeightAction()
    assert card.metrics == {"sharpe": 1.4, "max_drawdown": -0.12}
    assert card.created_at_ns == 1_723_161_253_123_456_789


def test_a_card_round_trips_through_its_json():
    card = make_card(action={"kind": "discrete", "target_weights": [-1, 0, 1]})

    again = ModelCard.from_metadata({MODEL_CARD_KEY: card.model_dump_json()})

    assert again == card
    assert again.action == DiscreteAction(target_weights=(-1.0, 0.0, 1.0))


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"feature_names": ["sma_10", "sma_10"]}, "repeated: ['sma_10']"),
        ({"feature_names": ["sma_10", "sma_30"]}, "unknown ['rsi_14']"),
        ({"normalisation": {**NORMALISATION, "rsi_14": {"mean": 50, "std": 0}}}, "rsi_14.std"),
        ({"feature_schema_id": "not-hex"}, "feature_schema_id"),
        ({"created_at": "2024-08-08T23:54:13"}, "created_at"),
        ({"action": {"kind": "discrete", "target_weights": [-2, 1]}}, "target_weights"),
        ({"action": {"kind": "probability"}}, "action"),
        ({"metrics": {"sharpe": "high"}}, "metrics.sharpe"),
        ({"owner": "someone"}, "owner: Extra inputs are not permitted"),
    ],
)
def test_an_invalid_card_is_refused_naming_the_field(overrides, needle):
    with pytest.raises(ModelLoadError) as caught:
        ModelCard.from_metadata(metadata_of(**overrides))

    assert caught.value.reason is ModelRejectionReason.INVALID_MODEL_CARD
    assert needle in str(caught.value)


def test_the_refused_value_is_shown():
    with pytest.raises(ModelLoadError, match="got 'yesterday'"):
        ModelCard.from_metadata(metadata_of(created_at="yesterday"))


def test_a_missing_normalisation_entry_is_named():
    normalisation = {k: v for k, v in NORMALISATION.items() if k != "sma_30"}

    with pytest.raises(ModelLoadError, match=r"missing \['sma_30'\]"):
        ModelCard.from_metadata(metadata_of(normalisation=normalisation))


def test_cards_are_frozen():
    card = make_card()

    with pytest.raises(ValidationError, match="frozen"):
        card.model_version = "2"  # type: ignore[misc]
