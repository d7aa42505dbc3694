"""Case-insensitive choices for configuration: ``Next_Bar_Open`` is ``next_bar_open``.

A configuration file or an environment variable may spell a choice in any case; the value is
normalised to the canonical spelling before validation, so the validated model (and
everything written from it) holds the canonical value. ``AnyCase()`` in an ``Annotated``
type does this for a ``Literal`` or an ``Enum`` (or an optional one), and for a union of
models discriminated by ``kind``, whose ``kind`` key it normalises::

    level: Annotated[Literal["all", "decisions", "off"], AnyCase()] = "all"
    price_type: Annotated[PriceType | None, AnyCase()] = None
    fill_model: Annotated[NextBarOpen | L1Quote, Field(discriminator="kind"), AnyCase()]

A value that matches none of the choices in any case is left as it is, so pydantic's own
error names the field and lists the valid values. The JSON Schema is unchanged: it lists
the canonical values. Events never use this: their wire format is exact.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

__all__ = ["AnyCase", "canonical_choice", "choices_of"]


def choices_of(annotation: Any) -> tuple[str, ...]:
    """The text choices of a type: a ``Literal``'s strings or an ``Enum``'s string values.

    Unions (``Optional`` included) and ``Annotated`` types give the choices of their members.

    Args:
        annotation: The type.

    Returns:
        The choices, in declaration order (empty when the type has none).
    """
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return tuple(arg for arg in typing.get_args(annotation) if isinstance(arg, str))
    if origin is typing.Annotated:
        return choices_of(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(choice for arg in typing.get_args(annotation) for choice in choices_of(arg))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return tuple(member.value for member in annotation if isinstance(member.value, str))
    return ()


def canonical_choice(value: object, choices: tuple[str, ...]) -> object:
    """``value`` in the canonical spelling of the choice it matches in any case.

    Args:
        value: The value read from a configuration.
        choices: The canonical choices.

    Returns:
        The matching choice, or ``value`` unchanged when it is not text or matches none.
    """
    if not isinstance(value, str) or value in choices:
        return value
    folded = value.casefold()
    return next((choice for choice in choices if choice.casefold() == folded), value)


@dataclass(frozen=True, slots=True)
class AnyCase:
    """``Annotated`` marker: accept the choices of a ``Literal`` or ``Enum`` in any case.

    On a union of models it normalises the discriminator ``key`` of a mapping instead,
    against the ``Literal`` values of that field in the union's members.

    Attributes:
        key: The discriminator of a union of models.
    """

    key: str = "kind"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        """Wrap the type's schema in a validator that normalises the value first."""
        schema = handler(source)
        choices = choices_of(source)
        if choices:
            return core_schema.no_info_before_validator_function(
                lambda value: canonical_choice(value, choices), schema
            )
        kinds = _discriminator_choices(source, self.key)
        if not kinds:
            raise TypeError(f"AnyCase: {source!r} has no Literal or Enum choices to match")
        key = self.key

        def normalise(value: Any) -> Any:
            if isinstance(value, Mapping) and key in value:
                kind = canonical_choice(value[key], kinds)
                if kind != value[key]:
                    return {**value, key: kind}
            return value

        return core_schema.no_info_before_validator_function(normalise, schema)


def _discriminator_choices(annotation: Any, key: str) -> tuple[str, ...]:
    """The ``key`` choices of the models in a union of models (``Annotated`` included)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _discriminator_choices(typing.get_args(annotation)[0], key)
    if origin in (typing.Union, types.UnionType):
        return tuple(
            choice
            for arg in typing.get_args(annotation)
            for choice in _discriminator_choices(arg, key)
        )
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(key)
        return choices_of(field.annotation) if field is not None else ()
    return ()
