"""``AnyCase``: configuration choices in any case, normalised; events stay exact."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

import pytest
from jules_contracts import Bar, PriceType
from jules_contracts.any_case import AnyCase, canonical_choice, choices_of
from jules_contracts.examples import example_for
from pydantic import BaseModel, Field, ValidationError


class Colour(StrEnum):
    RED = "red"
    DARK_BLUE = "DarkBlue"


class First(BaseModel):
    kind: Literal["first_kind"] = "first_kind"


class Second(BaseModel):
    kind: Literal["second_kind"] = "second_kind"
    size: int = 1


class Settings(BaseModel):
    level: Annotated[Literal["all", "off"], AnyCase()] = "all"
    colour: Annotated[Colour | None, AnyCase()] = None
    events: tuple[Annotated[Literal["bar", "quote"], AnyCase()], ...] = ("bar",)
    model: Annotated[First | Second, Field(discriminator="kind"), AnyCase()] = First()


def test_choices_of_literals_enums_and_unions() -> None:
    assert choices_of(Literal["a", "b"]) == ("a", "b")
    assert choices_of(Colour | None) == ("red", "DarkBlue")
    assert choices_of(Annotated[PriceType, AnyCase()]) == ("TRADE", "BID", "ASK", "MID")
    assert choices_of(int) == ()


@pytest.mark.parametrize("value", [3, None, "purple"])
def test_a_value_matching_nothing_is_left_as_it_is(value: object) -> None:
    assert canonical_choice(value, ("red",)) is value


@pytest.mark.parametrize(
    ("given", "field", "expected"),
    [
        ({"level": "OFF"}, "level", "off"),
        ({"colour": "darkblue"}, "colour", Colour.DARK_BLUE),
        ({"colour": "RED"}, "colour", Colour.RED),
        ({"events": ["Bar", "QUOTE"]}, "events", ("bar", "quote")),
        ({"model": {"kind": "Second_Kind", "size": 2}}, "model", Second(size=2)),
    ],
)
def test_a_mixed_case_value_is_normalised(
    given: dict[str, object], field: str, expected: object
) -> None:
    assert getattr(Settings.model_validate(given), field) == expected


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"level": "some"}, ["level", "'all' or 'off'"]),
        ({"colour": "green"}, ["colour", "'red' or 'DarkBlue'"]),
        ({"events": ["bars"]}, ["events.0", "'bar' or 'quote'"]),
        ({"model": {"kind": "third"}}, ["model", "'first_kind', 'second_kind'", "'third'"]),
    ],
)
def test_an_unknown_value_names_the_field_and_the_valid_values(
    given: dict[str, object], words: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(given)
    for word in words:
        assert word in str(caught.value)


def test_the_json_schema_lists_the_canonical_values() -> None:
    schema = Settings.model_json_schema()
    assert schema["properties"]["level"]["enum"] == ["all", "off"]
    assert schema["properties"]["model"]["discriminator"]["propertyName"] == "kind"


def test_a_type_without_choices_is_refused() -> None:
    with pytest.raises(TypeError, match="no Literal or Enum choices"):

        class Broken(BaseModel):
            count: Annotated[int, AnyCase()] = 0


def test_events_keep_their_exact_wire_format() -> None:
    bar = example_for(Bar).model_dump(mode="json")
    assert Bar.model_validate({**bar, "price_type": "MID"}).price_type is PriceType.MID
    with pytest.raises(ValidationError, match="price_type") as caught:
        Bar.model_validate({**bar, "price_type": "mid"})
    assert caught.value.error_count() == 1
