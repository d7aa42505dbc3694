"""The schema id is a stable hash of the ordered feature names and parameters."""

from __future__ import annotations

import hashlib
import re

from hypothesis import assume, given
from hypothesis import strategies as st
from jules_features.engine import DEFAULT_BAR_FEATURES, FEATURE_KINDS, FeatureSchema, FeatureSpec


@st.composite
def feature_names(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(FEATURE_KINDS))
    tokens = []
    for param in kind.params:
        if param.type is int:
            tokens.append(str(draw(st.integers(int(param.low), int(param.high)))))
        else:
            hundredths = draw(st.integers(1, 1000))
            tokens.append(f"{hundredths // 100}.{hundredths % 100:02d}".rstrip("0").rstrip("."))
    if kind.indicator.startswith("macd"):
        assume(int(tokens[0]) < int(tokens[1]))
    return "_".join([kind.indicator, *tokens])


def canonical(names: list[str]) -> list[str]:
    return [FeatureSpec.parse(name).name for name in names]


feature_lists = st.lists(
    feature_names(), min_size=1, max_size=8, unique_by=lambda n: canonical([n])[0]
)


@given(feature_lists)
def test_the_same_list_always_gives_the_same_id(names):
    first = FeatureSchema.from_names(names)
    again = FeatureSchema.parse(",".join(names))
    from_canonical = FeatureSchema.from_names(canonical(names))

    assert re.fullmatch(r"[0-9a-f]{32}", first.schema_id)
    assert first.schema_id == again.schema_id == from_canonical.schema_id


@given(feature_lists.filter(lambda names: len(names) >= 2), st.randoms(use_true_random=False))
def test_another_order_gives_another_id(names, random):
    shuffled = names[:]
    random.shuffle(shuffled)
    assume(shuffled != names)

    assert FeatureSchema.from_names(shuffled).schema_id != FeatureSchema.from_names(names).schema_id


@given(feature_lists, feature_lists)
def test_another_list_gives_another_id(first, second):
    assume(canonical(first) != canonical(second))

    assert FeatureSchema.from_names(first).schema_id != FeatureSchema.from_names(second).schema_id


def test_id_is_the_sha256_of_the_documented_canonical_json():
    schema = FeatureSchema.from_names(["sma_20", "bb_upper_10_1.5"])
    document = (
        '{"features":['
        '{"indicator":"sma","name":"sma_20","params":{"timeperiod":20}},'
        '{"indicator":"bb_upper","name":"bb_upper_10_1p5","params":{"nbdev":1.5,"timeperiod":10}}'
        '],"format":1}'
    )

    assert schema.canonical_json() == document
    assert schema.schema_id == hashlib.sha256(document.encode()).hexdigest()[:32]


def test_default_schema_id_is_pinned_so_models_keep_matching_across_releases():
    # Changing this value breaks every trained model's schema check: bump the format instead.
    assert (
        FeatureSchema.from_names(DEFAULT_BAR_FEATURES).schema_id
        == "9933bb596d3bec8d4359524c628e7f2e"
    )
