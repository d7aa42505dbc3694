"""The strategy port and the helpers every strategy shares.

A strategy turns the feature vector of one instrument at one event time (and the bar it was
computed from) into signals: usually one for that instrument or none, but a strategy trading
several instruments together (a spread) may set the targets of others on it. Signals carry
a *target weight*: the wanted position as a signed fraction of equity (``LONG`` > 0,
``SHORT`` < 0, ``FLAT`` = 0). Every strategy emits a signal only when its target for the
instrument changes, so a signal is always news to risk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from jules_contracts import Bar, FeatureVector, SignalGenerated, direction_of

from jules_signal.engine.errors import MissingFeaturesError

__all__ = [
    "SOURCE",
    "Strategy",
    "StrategyIdentity",
    "TargetMemory",
    "check_same_instrument",
    "make_signal",
    "read_features",
]

SOURCE = "signal"
"""The ``source`` of every event this service creates."""


@runtime_checkable
class Strategy(Protocol):
    """Anything that turns feature vectors into signals.

    Implementations keep their own per-instrument state and are deterministic: the same
    sequence of inputs gives the same signals, with the same event ids.
    """

    @property
    def strategy_id(self) -> str:
        """Id written into every signal (``SignalGenerated.strategy_id``)."""
        ...

    @property
    def required_features(self) -> tuple[str, ...]:
        """Feature names the strategy reads, as the features service names them (``sma_10``)."""
        ...

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        """Decide on one instrument at one event time.

        Args:
            features: The instrument's feature vector at the bar's close.
            bar: The bar the features were computed from (its close is the reference price).

        Returns:
            A signal per instrument whose target the strategy changes (none when nothing
            changes).
        """
        ...


class StrategyIdentity:
    """The id and the features of a strategy: the two read-only parts of the port.

    Args:
        strategy_id: Id written into its signals.
        features: The feature names it reads.
    """

    def __init__(self, strategy_id: str, features: tuple[str, ...]) -> None:
        self._strategy_id = strategy_id
        self._features = features

    @property
    def strategy_id(self) -> str:
        """Id written into every signal."""
        return self._strategy_id

    @property
    def required_features(self) -> tuple[str, ...]:
        """Feature names the strategy reads."""
        return self._features


def check_same_instrument(features: FeatureVector, bar: Bar) -> None:
    """Refuse a feature vector paired with the bar of another instrument (a wiring error).

    Raises:
        ValueError: The instruments differ; the message names both.
    """
    if features.instrument_id != bar.instrument_id:
        raise ValueError(
            f"feature vector of {features.instrument_id!r} paired with a bar of "
            f"{bar.instrument_id!r}"
        )


def read_features(
    features: FeatureVector, names: Sequence[str], strategy_id: str
) -> tuple[float | None, ...]:
    """Return the values of ``names`` from a feature vector, in that order.

    Args:
        features: The feature vector.
        names: Feature names to read.
        strategy_id: The reader, named in the error.

    Returns:
        The values; ``None`` where a feature is still undefined (warm-up).

    Raises:
        MissingFeaturesError: The vector does not carry some of the names at all.
    """
    values = features.features
    missing = [name for name in names if name not in values]
    if missing:
        raise MissingFeaturesError(strategy_id, missing, list(values))
    return tuple(values[name] for name in names)


def make_signal(
    features: FeatureVector,
    bar: Bar,
    *,
    strategy_id: str,
    target_weight: float,
    strength: float = 1.0,
    model_version: str | None = None,
) -> SignalGenerated:
    """Build the signal of a strategy, derived from the feature vector it decided on.

    The event id hashes the feature vector's id and the strategy id, so two strategies deciding
    on the same vector (production and shadow) never share an id, and a replay regenerates it.

    Args:
        features: The feature vector that caused the signal.
        bar: The bar the features were computed from; its close is the reference price.
        strategy_id: The deciding strategy.
        target_weight: Wanted position as a signed fraction of equity, in [-1, 1].
        strength: Confidence in [0, 1].
        model_version: The model's version, for a model-driven signal.

    Returns:
        The validated signal.

    Raises:
        ValueError: ``features`` and ``bar`` are about different instruments.
    """
    check_same_instrument(features, bar)
    return SignalGenerated.derive(
        features,
        key=strategy_id,
        source=SOURCE,
        instrument_id=features.instrument_id,
        strategy_id=strategy_id,
        direction=direction_of(target_weight),
        target_weight=target_weight,
        strength=strength,
        reference_price=bar.close,
        model_version=model_version,
        feature_schema_id=features.feature_schema_id,
    )


class TargetMemory:
    """The last target weight emitted per instrument; decides whether a new one is news.

    A target is news when no target was emitted for the instrument yet, when its direction
    differs from the last one, or when it differs from the last one by at least
    ``min_change`` (with the default 0, whenever it differs at all).

    Args:
        min_change: Smallest move of the target, in the same direction, that is news.
        last: Targets already emitted per instrument (a model taking over from another keeps
            them, so it does not repeat a target that is already in force).
    """

    def __init__(self, min_change: float = 0.0, last: Mapping[str, float] | None = None) -> None:
        self._min_change = min_change
        self._last: dict[str, float] = dict(last or {})

    def snapshot(self) -> dict[str, float]:
        """Return a copy of the last target emitted per instrument."""
        return dict(self._last)

    def last(self, instrument_id: str) -> float | None:
        """Return the last target emitted for the instrument, if any."""
        return self._last.get(instrument_id)

    def update(self, instrument_id: str, target_weight: float) -> bool:
        """Record ``target_weight`` if it is news and say whether it was.

        Args:
            instrument_id: The instrument.
            target_weight: The target the strategy wants now.

        Returns:
            ``True`` when the target is news (and is now the last one), else ``False``.
        """
        last = self._last.get(instrument_id)
        if last is not None and (
            target_weight == last
            or (
                direction_of(target_weight) == direction_of(last)
                and abs(target_weight - last) < self._min_change
            )
        ):
            return False
        self._last[instrument_id] = target_weight
        return True
