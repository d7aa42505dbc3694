"""Errors of the feature engine, with reason codes a caller can act on."""

from __future__ import annotations

from enum import StrEnum

from jules_contracts import JulesError

__all__ = ["FeatureError", "FeatureErrorReason"]


class FeatureErrorReason(StrEnum):
    """Why a feature schema or an input was refused."""

    UNKNOWN_FEATURE = "UNKNOWN_FEATURE"
    """The name matches no supported feature."""
    BAD_PARAMETER = "BAD_PARAMETER"
    """The feature is known but a parameter is missing, malformed or out of range."""
    DUPLICATE_FEATURE = "DUPLICATE_FEATURE"
    """The same feature appears twice in a schema."""
    EMPTY_SCHEMA = "EMPTY_SCHEMA"
    """A schema lists no feature."""
    BAR_OUT_OF_ORDER = "BAR_OUT_OF_ORDER"
    """A bar does not close after the previous bar of its instrument."""
    BAR_TOO_FAR_AHEAD = "BAR_TOO_FAR_AHEAD"
    """A bar closes more than ``max_bar_lead_intervals`` after the previous one."""
    INTERVAL_MISMATCH = "INTERVAL_MISMATCH"
    """A bar's interval differs from the earlier bars of its instrument."""


class FeatureError(JulesError, ValueError):
    """A feature schema or an input the engine refuses.

    Attributes:
        reason: What went wrong, as a reason code.
        subject: The feature name or instrument id concerned.
    """

    def __init__(self, reason: FeatureErrorReason, message: str, *, subject: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.subject = subject
