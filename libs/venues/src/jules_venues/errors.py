"""Errors of the venue adapters."""

from __future__ import annotations

from jules_contracts import JulesError

__all__ = ["VenueCapabilityError", "VenueConfigError", "VenueDataError", "VenueError"]


class VenueError(JulesError):
    """Base of the venue adapters' errors."""


class VenueConfigError(VenueError, ValueError):
    """A venue's configuration is invalid or names something the venue does not list."""


class VenueCapabilityError(VenueError, NotImplementedError):
    """The adapter does not (yet) offer this operation for its venue."""


class VenueDataError(VenueError, ValueError):
    """A venue sent a structure that cannot become a contract event (the message says why)."""
