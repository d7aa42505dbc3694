"""The pure market-data engine: validation, bars, order books, gaps and stream merging.

Synchronous and deterministic: it takes contract events and returns events or findings; no
I/O, no wall clock, no environment. The file loaders live in ``jules_market_data.loaders``.
"""

from jules_market_data.engine.bars import BarAggregator
from jules_market_data.engine.book import BookStatus, L2Book
from jules_market_data.engine.config import (
    BarAggregatorConfig,
    BookConfig,
    GapDetectorConfig,
    ValidatorConfig,
)
from jules_market_data.engine.gaps import FindingKind, GapDetector, GapFinding
from jules_market_data.engine.merge import merge_streams
from jules_market_data.engine.rejections import (
    Rejection,
    RejectReason,
    reason_for_validation_error,
)
from jules_market_data.engine.streams import stream_key
from jules_market_data.engine.units import interval_ns, mid_price
from jules_market_data.engine.validation import (
    MarketDataValidator,
    ValidationReport,
    rebuilt_books,
)

__all__ = [
    "BarAggregator",
    "BarAggregatorConfig",
    "BookConfig",
    "BookStatus",
    "FindingKind",
    "GapDetector",
    "GapDetectorConfig",
    "GapFinding",
    "L2Book",
    "MarketDataValidator",
    "RejectReason",
    "Rejection",
    "ValidationReport",
    "ValidatorConfig",
    "interval_ns",
    "merge_streams",
    "mid_price",
    "reason_for_validation_error",
    "rebuilt_books",
    "stream_key",
]
