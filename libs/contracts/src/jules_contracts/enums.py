"""Enumerations shared by the contracts. Values are the wire format (upper-case strings)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AggressorSide",
    "AlertSeverity",
    "BookSide",
    "DeadLetterReason",
    "KillSwitchState",
    "LiquiditySide",
    "ModelStage",
    "OrderSide",
    "OrderType",
    "PriceType",
    "RiskReason",
    "SignalDirection",
    "TimeInForce",
]


class OrderSide(StrEnum):
    """Side of an order or fill."""

    BUY = "BUY"
    SELL = "SELL"


class AggressorSide(StrEnum):
    """Which side took liquidity in a trade (``NONE`` when the feed does not say)."""

    BUYER = "BUYER"
    SELLER = "SELLER"
    NONE = "NONE"


class BookSide(StrEnum):
    """Side of an order book."""

    BID = "BID"
    ASK = "ASK"


class PriceType(StrEnum):
    """What the prices of a bar are made of."""

    TRADE = "TRADE"
    BID = "BID"
    ASK = "ASK"
    MID = "MID"


class OrderType(StrEnum):
    """Order type."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


class TimeInForce(StrEnum):
    """How long an order stays working."""

    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    DAY = "DAY"
    GTD = "GTD"


class LiquiditySide(StrEnum):
    """Whether a fill added (maker) or took (taker) liquidity."""

    MAKER = "MAKER"
    TAKER = "TAKER"


class SignalDirection(StrEnum):
    """Direction a strategy wants to be in."""

    LONG = "LONG"
    SHORT = "SHORT"
    FLAT = "FLAT"


class KillSwitchState(StrEnum):
    """Trading state set by the kill switch.

    ``ACTIVE`` trades normally; ``REDUCING`` accepts only risk-reducing orders; ``HALTED``
    accepts nothing and stays latched until released by a command.
    """

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class RiskReason(StrEnum):
    """Why the risk engine denied an order. Users act on these codes, so they never change."""

    INVALID_ORDER = "INVALID_ORDER"
    PRICE_COLLAR = "PRICE_COLLAR"
    MISSING_REFERENCE_PRICE = "MISSING_REFERENCE_PRICE"
    STALE_REFERENCE_PRICE = "STALE_REFERENCE_PRICE"
    ORDER_QUANTITY_LIMIT = "ORDER_QUANTITY_LIMIT"
    ORDER_NOTIONAL_LIMIT = "ORDER_NOTIONAL_LIMIT"
    POSITION_LIMIT = "POSITION_LIMIT"
    GROSS_EXPOSURE_LIMIT = "GROSS_EXPOSURE_LIMIT"
    OPEN_ORDERS_LIMIT = "OPEN_ORDERS_LIMIT"
    THROTTLED = "THROTTLED"
    DUPLICATE_CLIENT_ORDER_ID = "DUPLICATE_CLIENT_ORDER_ID"
    INSTRUMENT_NOT_ALLOWED = "INSTRUMENT_NOT_ALLOWED"
    STALE_MARKET_DATA = "STALE_MARKET_DATA"
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    DRAWDOWN_LIMIT = "DRAWDOWN_LIMIT"
    KILL_SWITCH_HALTED = "KILL_SWITCH_HALTED"
    KILL_SWITCH_REDUCING = "KILL_SWITCH_REDUCING"
    VAR_LIMIT = "VAR_LIMIT"
    ES_LIMIT = "ES_LIMIT"
    INSUFFICIENT_CASH = "INSUFFICIENT_CASH"


class AlertSeverity(StrEnum):
    """Severity of a risk alert."""

    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class AlertCode(StrEnum):
    """What a ``RiskAlert`` reports. Operators and alert rules match on these, so they never change.

    On the wire ``RiskAlert.code`` stays an upper-case string (``AlertCodeText``), so a code
    added here is an additive change; producers use these members, never loose strings.
    """

    # risk: halts, kill switch, configuration
    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    DAILY_LOSS_RESET = "DAILY_LOSS_RESET"
    DRAWDOWN_LIMIT = "DRAWDOWN_LIMIT"
    KILL_SWITCH_ENGAGED = "KILL_SWITCH_ENGAGED"
    KILL_SWITCH_RELEASED = "KILL_SWITCH_RELEASED"
    CONFIG_CHANGED = "CONFIG_CHANGED"
    CONFIG_CHANGE_REJECTED = "CONFIG_CHANGE_REJECTED"
    ACCOUNT_MISMATCH = "ACCOUNT_MISMATCH"
    # risk: inputs that cannot be decided
    SIZING_UNAVAILABLE = "SIZING_UNAVAILABLE"
    PORTFOLIO_UNAVAILABLE = "PORTFOLIO_UNAVAILABLE"
    # risk: protective exits
    STOP_LOSS = "STOP_LOSS"
    TRAILING_STOP = "TRAILING_STOP"
    TAKE_PROFIT = "TAKE_PROFIT"
    # signal: refused vectors and models
    FEATURE_SCHEMA_MISMATCH = "FEATURE_SCHEMA_MISMATCH"
    MODEL_OUTPUT_INVALID = "MODEL_OUTPUT_INVALID"
    MODEL_REJECTED = "MODEL_REJECTED"
    STRATEGY_QUARANTINED = "STRATEGY_QUARANTINED"
    """A user's strategy raised: it decides nothing more until the service restarts."""
    # features: bars refused (and dead-lettered) by the feature engine
    BAR_OUT_OF_ORDER = "BAR_OUT_OF_ORDER"
    BAR_TOO_FAR_AHEAD = "BAR_TOO_FAR_AHEAD"


class ModelStage(StrEnum):
    """Lifecycle stage of a model in the registry."""

    CANDIDATE = "CANDIDATE"
    SHADOW = "SHADOW"
    PRODUCTION = "PRODUCTION"


class DeadLetterReason(StrEnum):
    """Why a message went to a dead-letter topic."""

    UNDECODABLE = "UNDECODABLE"
    """The bytes are not a JSON object (bad encoding, truncated, not JSON)."""
    INVALID = "INVALID"
    """JSON, but it fails validation against the contract (a missing field, a NaN price)."""
    UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE"
    """JSON without a known ``event_type``."""
    WRONG_TOPIC = "WRONG_TOPIC"
    """A valid event of a type that does not belong on the topic it came from."""
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    """An event of a known type, but of a ``schema_version`` this consumer does not read."""
    WRONG_KEY = "WRONG_KEY"
    """A valid event whose message key is not the key its topic derives from it."""
    OUT_OF_ORDER = "OUT_OF_ORDER"
    """A valid event that does not come after the previous one of its stream."""
    TOO_FAR_AHEAD = "TOO_FAR_AHEAD"
    """A valid event dated too far after the previous one of its stream."""
    HANDLER_ERROR = "HANDLER_ERROR"
    """Valid, but the service failed deterministically while processing it."""
