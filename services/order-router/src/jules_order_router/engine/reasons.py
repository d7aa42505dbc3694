"""Reason codes of the router's rejections and cancels.

They are the first word of ``OrderRejected.reason`` and ``OrderCanceled.reason``
(``"DUPLICATE_CLIENT_ORDER_ID: client order id … was already used …"``), so consumers can act
on the code and people can read the rest. The codes never change.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CancelReason", "RejectReason"]


class RejectReason(StrEnum):
    """Why the router rejected an approved order."""

    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    """Another approval already used the client order id (the first order is unaffected)."""
    ACCOUNT_MISMATCH = "ACCOUNT_MISMATCH"
    """The order is for another account than the router's."""
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    """The venue does not list the instrument."""
    EXPIRED_ON_ARRIVAL = "EXPIRED_ON_ARRIVAL"
    """A ``GTD`` order whose expiry time is not after its acceptance."""
    PRICE_BELOW_TICK = "PRICE_BELOW_TICK"
    """A limit or stop price that rounds to zero on the instrument's tick grid."""


class CancelReason(StrEnum):
    """Why the router canceled an order."""

    CANCELED_BY_REQUEST = "CANCELED_BY_REQUEST"
    """A ``CancelOrder`` command."""
    IOC_REMAINDER = "IOC_REMAINDER"
    """What an immediate-or-cancel order could not fill on its first event."""
    FOK_NOT_FILLED = "FOK_NOT_FILLED"
    """A fill-or-kill order that could not fill completely on its first event."""
    REDUCE_ONLY = "REDUCE_ONLY"
    """A reduce-only order with no position left to reduce."""
    CLOSE_ALL = "CLOSE_ALL"
    """``close_all`` flattened the account."""
    NOTHING_TO_TRADE_AT_FILL = "NOTHING_TO_TRADE_AT_FILL"
    """An order sized at the fill price (``size_at_fill``) with nothing left to trade in its
    direction: the account already holds the position wanted, or more."""
