"""Feature names parse into indicator and parameters; bad names are refused, naming them."""

from __future__ import annotations

import pytest
from jules_contracts import FeatureVector
from jules_features.engine import (
    DEFAULT_BAR_FEATURES,
    FeatureError,
    FeatureErrorReason,
    FeatureSchema,
    FeatureSource,
    FeatureSpec,
)

LISTED = [
    "sma_20", "ema_9", "ema_21", "wma_10", "rsi_14", "trange", "atr_14", "natr_14",
    "bb_upper_20_2", "bb_middle_20_2", "bb_lower_20_2", "stddev_20", "macd_12_26_9",
    "macd_signal_12_26_9", "macd_hist_12_26_9", "stoch_k_14_3", "stoch_d_14_3_3", "willr_14",
    "cci_20", "adx_14", "plus_di_14", "minus_di_14", "obv", "mfi_14", "roc_10", "logret_1",
    "rvol_20", "vwap", "tod_sin", "tod_cos", "minute_of_day", "spread", "spread_bps",
    "book_imbalance", "book_imbalance_5", "microprice",
]  # fmt: skip


@pytest.mark.parametrize("name", LISTED)
def test_every_listed_feature_parses_to_itself(name):
    spec = FeatureSpec.parse(name)

    assert spec.name == name
    assert FeatureSpec(spec.name, spec.indicator, spec.params) == spec


@pytest.mark.parametrize(
    ("name", "indicator", "params"),
    [
        ("ema_50", "ema", (50,)),
        ("rsi_7", "rsi", (7,)),
        ("bb_upper_20_2", "bb_upper", (20, 2.0)),
        ("macd_signal_5_35_5", "macd_signal", (5, 35, 5)),
        ("stoch_d_5_3_5", "stoch_d", (5, 3, 5)),
        ("plus_di_1", "plus_di", (1,)),
        ("book_imbalance_10", "book_imbalance", (10,)),
        ("minute_of_day", "minute_of_day", ()),
        ("spread_bps", "spread_bps", ()),
    ],
)
def test_name_splits_into_indicator_and_parameters(name, indicator, params):
    spec = FeatureSpec.parse(name)

    assert (spec.indicator, spec.params) == (indicator, params)
    assert all(type(got) is type(want) for got, want in zip(spec.params, params, strict=True))


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("bb_upper_10_1.5", "bb_upper_10_1p5"),
        ("bb_upper_10_1p5", "bb_upper_10_1p5"),
        ("bb_lower_20_2.0", "bb_lower_20_2"),
        ("bb_middle_20_0.25", "bb_middle_20_0p25"),
        (" sma_20 ", "sma_20"),
    ],
)
def test_decimal_parameters_get_a_canonical_name_a_feature_vector_accepts(name, canonical):
    spec = FeatureSpec.parse(name)

    assert spec.name == canonical
    assert FeatureSpec.parse(canonical) == spec


def test_a_canonical_name_is_a_valid_feature_vector_key():
    schema = FeatureSchema.from_names([*LISTED, "bb_upper_10_1.5"])

    vector = FeatureVector(
        event_id="00000000-0000-4000-8000-000000000000",
        source="features",
        event_time=1,
        instrument_id="BTCUSD.COINBASE",
        feature_schema_id=schema.schema_id,
        features=dict.fromkeys(schema.names),
    )

    assert tuple(vector.features) == schema.names


def test_sources_tell_bar_features_from_quote_and_book_features():
    sources = {name: FeatureSpec.parse(name).source for name in LISTED}

    assert {n for n, s in sources.items() if s is FeatureSource.QUOTE} == {
        "spread",
        "spread_bps",
        "book_imbalance",
        "microprice",
    }
    assert {n for n, s in sources.items() if s is FeatureSource.BOOK} == {"book_imbalance_5"}
    assert {n for n, s in sources.items() if s is FeatureSource.BAR} == set(DEFAULT_BAR_FEATURES)


@pytest.mark.parametrize("name", ["foo_20", "hull_9", "", "_", "vwap2", "rsi14"])
def test_unknown_feature_is_refused_naming_it_and_listing_the_supported_ones(name):
    with pytest.raises(ValueError, match="unknown feature") as caught:
        FeatureSpec.parse(name)

    message = str(caught.value)
    assert repr(name) in message
    assert "sma_<timeperiod>, ema_<timeperiod>" in message
    assert caught.value.reason is FeatureErrorReason.UNKNOWN_FEATURE  # type: ignore[attr-defined]


def test_unknown_feature_message_lists_every_supported_form():
    with pytest.raises(FeatureError) as caught:
        FeatureSpec.parse("hull_9")

    assert caught.value.reason is FeatureErrorReason.UNKNOWN_FEATURE
    forms = [
        "bb_upper_<timeperiod>_<nbdev>",
        "macd_hist_<fastperiod>_<slowperiod>_<signalperiod>",
        "stoch_d_<fastk_period>_<slowk_period>_<slowd_period>",
        "book_imbalance_<levels>",
        "microprice",
        "minute_of_day",
        "vwap",
        "rvol_<timeperiod>",
    ]
    for form in forms:
        assert form in str(caught.value)


def test_uppercase_name_is_refused_with_the_lowercase_suggestion():
    with pytest.raises(FeatureError, match="'sma_20'") as caught:
        FeatureSpec.parse("SMA_20")

    assert "lowercase" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("sma_0", "timeperiod must be from 1 to 100000, got 0"),
        ("sma_100001", "timeperiod must be from 1 to 100000"),
        ("rsi_1", "timeperiod must be from 2"),
        ("ema_9.5", "timeperiod must be an integer, got '9.5'"),
        ("ema_09", "timeperiod must be an integer, got '09'"),
        ("bb_upper_20", "has 1 parameters; expected bb_upper_<timeperiod>_<nbdev>"),
        ("bb_upper_20_0", "nbdev must be from 0.01 to 10.0"),
        ("bb_upper_20_x", "nbdev must be a number"),
        ("macd_26_12_9", "fastperiod (26) must be less than slowperiod (12)"),
        ("macd_12_26", "has 2 parameters"),
        ("stoch_k_14_3_3", "expected stoch_k_<fastk_period>_<slowk_period>"),
        ("trange_14", "has 1 parameters; expected trange"),
        ("book_imbalance_0", "levels must be from 1 to 1000"),
        ("book_imbalance_5_2", "book_imbalance (e.g. book_imbalance) or book_imbalance_<levels>"),
        ("sma_-5", "timeperiod must be an integer"),
        ("ema", "has 0 parameters; expected ema_<timeperiod> (e.g. ema_21)"),
        ("sma__20", "has 2 parameters; expected sma_<timeperiod>"),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_naming_the_feature_and_what_is_expected(name, fragment):
    with pytest.raises(FeatureError) as caught:
        FeatureSpec.parse(name)

    assert caught.value.reason is FeatureErrorReason.BAD_PARAMETER
    assert caught.value.subject == name
    assert repr(name) in str(caught.value)
    assert fragment in str(caught.value)


def test_directly_built_spec_must_match_its_canonical_name():
    with pytest.raises(FeatureError, match="canonical name 'sma_20'"):
        FeatureSpec("sma_21", "sma", (20,))
    with pytest.raises(FeatureError, match="timeperiod must be int"):
        FeatureSpec("sma_20", "sma", (20.0,))
    assert FeatureSpec("bb_upper_20_2", "bb_upper", (20, 2)).params == (20, 2.0)


def test_schema_refuses_duplicates_and_emptiness():
    with pytest.raises(FeatureError, match="'bb_upper_20_2' is listed twice") as caught:
        FeatureSchema.from_names(["bb_upper_20_2", "sma_20", "bb_upper_20_2.0"])
    assert caught.value.reason is FeatureErrorReason.DUPLICATE_FEATURE

    with pytest.raises(FeatureError) as empty:
        FeatureSchema.parse(" , ")
    assert empty.value.reason is FeatureErrorReason.EMPTY_SCHEMA


def test_schema_parses_comma_separated_names_in_order():
    schema = FeatureSchema.parse("rsi_14, sma_20,vwap ,bb_upper_10_1.5")

    assert schema.names == ("rsi_14", "sma_20", "vwap", "bb_upper_10_1p5")
    assert len(schema) == 4
    assert [spec.name for spec in schema] == list(schema.names)
