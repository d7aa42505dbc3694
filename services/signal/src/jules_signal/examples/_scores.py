"""What the tick examples share: a score in [-1, 1] into a target, held a minimum time."""

from __future__ import annotations

from typing import Generic, TypeVar

from jules_signal.sdk import Field, Params, Strategy


class ScoreParams(Params):
    """Parameters every score strategy has."""

    threshold: float = Field(
        default=0.3, gt=0, lt=1, description="Score beyond which to hold a position."
    )
    min_hold_s: float = Field(
        default=30.0, ge=0, le=86_400, description="Event seconds between two target changes."
    )
    short: bool = Field(default=True, description="Also sell short on a negative score.")
    weight: float = Field(default=1.0, gt=0, le=1, description="Target weight of a position.")


SP = TypeVar("SP", bound=ScoreParams)


class ScoreStrategy(Strategy[SP], Generic[SP]):
    """Long when a score passes ``threshold``, short below ``-threshold``, else flat.

    A target changes at most once every ``min_hold_s`` seconds of event time, so a score that
    flickers around the threshold does not trade on every tick.
    """

    changed_at: dict[str, int]

    def on_start(self) -> None:
        """No target changed yet."""
        self.changed_at = {}

    def decide(self, instrument: str, score: float) -> None:
        """Set the target ``score`` asks for, unless the last change is too recent."""
        params = self.params
        if score >= params.threshold:
            wanted = params.weight
        elif score <= -params.threshold and params.short:
            wanted = -params.weight
        else:
            wanted = 0.0
        last = self.changed_at.get(instrument)
        if wanted == self.position(instrument) or (
            last is not None and self.time - last < params.min_hold_s * 1e9
        ):
            return
        self.changed_at[instrument] = self.time
        self.target(instrument, wanted)
