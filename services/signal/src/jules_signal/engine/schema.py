"""The live feature schema (the features service's), which every feature vector must follow."""

from __future__ import annotations

from dataclasses import dataclass

from jules_contracts import FeatureVector

__all__ = ["LiveSchema"]


@dataclass(frozen=True)
class LiveSchema:
    """The feature schema the features service publishes: its id and its names, in order."""

    schema_id: str
    names: tuple[str, ...]

    def problem_with(self, vector: FeatureVector) -> str | None:
        """Say why ``vector`` does not follow this schema, or ``None`` when it does."""
        if vector.feature_schema_id != self.schema_id:
            return (
                f"feature vector of schema {vector.feature_schema_id!r} refused: the live "
                f"feature schema is {self.schema_id!r}"
            )
        names = tuple(vector.features)
        if names != self.names:
            return (
                f"feature vector of schema {vector.feature_schema_id!r} refused: its features "
                f"{list(names)} are not the configured live features {list(self.names)}"
            )
        return None
