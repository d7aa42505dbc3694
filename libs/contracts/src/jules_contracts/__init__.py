"""IntradayJules event contracts (v1).

Every command and event the services exchange, as frozen pydantic models; the topics they
travel on (``jules_contracts.topics``); and their JSON encoding (``jules_contracts.codec``).
This package depends on pydantic and the standard library only.
"""

from jules_contracts.base import (
    MAX_MESSAGE,
    Contract,
    Event,
    derive_event_id,
    format_utc_nanos,
    new_event_id,
    parse_utc_nanos,
)
from jules_contracts.codec import (
    EVENT_TYPES,
    AnyEvent,
    DecodeError,
    decode_event,
    encode_event,
    event_class,
)
from jules_contracts.control import ChangeConfig, EngageKillSwitch, ReleaseKillSwitch, SwapModel
from jules_contracts.dead_letter import DeadLetterRecord
from jules_contracts.enums import (
    AggressorSide,
    AlertCode,
    AlertSeverity,
    BookSide,
    DeadLetterReason,
    KillSwitchState,
    LiquiditySide,
    ModelStage,
    OrderSide,
    OrderType,
    PriceType,
    RiskReason,
    SignalDirection,
    TimeInForce,
)
from jules_contracts.errors import JulesError
from jules_contracts.features import FeatureVector
from jules_contracts.market_data import (
    MARKET_EVENT_TYPES,
    Bar,
    BookChange,
    BookDelta,
    BookLevel,
    BookSnapshot,
    MarketEvent,
    Quote,
    Trade,
    market_price,
)
from jules_contracts.orders import (
    CancelOrder,
    OrderAccepted,
    OrderApproved,
    OrderCanceled,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderResized,
    SizeAtFill,
    SubmitOrder,
)
from jules_contracts.portfolio import PortfolioSnapshot, Position
from jules_contracts.risk import RiskAlert
from jules_contracts.signals import OrderRequest, SignalGenerated, direction_of
from jules_contracts.system import AuditCheckpoint, Watermark
from jules_contracts.topics import ALL_TOPICS, Topic, backtest_scope, topic_for

__all__ = [
    "ALL_TOPICS",
    "EVENT_TYPES",
    "MARKET_EVENT_TYPES",
    "MAX_MESSAGE",
    "AggressorSide",
    "AlertCode",
    "AlertSeverity",
    "AnyEvent",
    "AuditCheckpoint",
    "Bar",
    "BookChange",
    "BookDelta",
    "BookLevel",
    "BookSide",
    "BookSnapshot",
    "CancelOrder",
    "ChangeConfig",
    "Contract",
    "DeadLetterReason",
    "DeadLetterRecord",
    "DecodeError",
    "EngageKillSwitch",
    "Event",
    "FeatureVector",
    "JulesError",
    "KillSwitchState",
    "LiquiditySide",
    "MarketEvent",
    "ModelStage",
    "OrderAccepted",
    "OrderApproved",
    "OrderCanceled",
    "OrderDenied",
    "OrderExpired",
    "OrderFilled",
    "OrderPartiallyFilled",
    "OrderRejected",
    "OrderRequest",
    "OrderResized",
    "OrderSide",
    "OrderType",
    "PortfolioSnapshot",
    "Position",
    "PriceType",
    "Quote",
    "ReleaseKillSwitch",
    "RiskAlert",
    "RiskReason",
    "SignalDirection",
    "SignalGenerated",
    "SizeAtFill",
    "SubmitOrder",
    "SwapModel",
    "TimeInForce",
    "Topic",
    "Trade",
    "Watermark",
    "backtest_scope",
    "decode_event",
    "derive_event_id",
    "direction_of",
    "encode_event",
    "event_class",
    "format_utc_nanos",
    "market_price",
    "new_event_id",
    "parse_utc_nanos",
    "topic_for",
]
