"""Configuration of the feature engine: frozen, validated at construction."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FeatureEngineConfig"]


class FeatureEngineConfig(BaseModel):
    """How the engine computes session and order-book features.

    Attributes:
        session_start_offset_minutes: When a trading session starts, in minutes after
            00:00 UTC. Session VWAP restarts there, and the time-of-day features count from
            it. ``0`` (the default) makes a session a UTC calendar day.
        book_max_age_ns: If set, L1/L2 features whose latest quote or book update is older
            than this many nanoseconds at a bar's close are reported as undefined (``None``)
            rather than stale. ``None`` (the default) keeps the latest values however old.
        max_bar_lead_intervals: A bar that closes more than this many of its own intervals
            after the previous bar of its instrument is refused (``BAR_TOO_FAR_AHEAD``) and
            leaves the instrument's state as it was, unless the bar before it was refused
            the same way and this one closes after it, within the limit: then the stream did
            jump (a session gap) and the bar is taken. ``None`` (the default) takes every
            later bar. The live service sets a limit (``FeaturesSettings``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    session_start_offset_minutes: Annotated[
        int,
        Field(ge=0, lt=1440, description="Session start, in minutes after 00:00 UTC (0-1439)."),
    ] = 0
    book_max_age_ns: Annotated[
        int | None,
        Field(gt=0, description="Maximum age of quote/book data at a bar close, in ns."),
    ] = None
    max_bar_lead_intervals: Annotated[
        int | None,
        Field(gt=0, description="Most bar intervals a bar may close after the previous one."),
    ] = None
