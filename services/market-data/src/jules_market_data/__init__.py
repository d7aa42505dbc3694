"""The market-data service.

Normalises and validates venue and recorded market data onto the md.* topics.

Public API (the embedded node and the replayer use these)::

    from jules_market_data import (
        load, merge_streams, MarketDataValidator, BarAggregator, BarAggregatorConfig,
    )

    streams = [load(path) for path in paths]        # events and Rejection records, file order
    validator = MarketDataValidator()               # order, duplicates, crossed quotes/books
    for item in validator.validate(merge_streams(*streams)):   # event-time order, lazily
        ...                                         # item is an Event or a Rejection
    print(validator.report())                       # accepted, counts by reason

    bars = BarAggregator(BarAggregatorConfig(interval="1m")).aggregate(trades_or_quotes)

* ``load(path, *, instrument_id=None, fmt=None, interval=None, price_type=None)``: any supported
  file (see ``jules_market_data.loaders``) into ``Trade``/``Quote``/``Bar``/``BookSnapshot``/
  ``BookDelta`` events or ``Rejection`` records (reason code, ``file:line``, detail).
* ``merge_streams(*streams)``: lazy merge in event-time order; ties by instrument id, then
  stream index, then position.
* ``MarketDataValidator(ValidatorConfig())``: stream checks with a ``ValidationReport``.
* ``BarAggregator(BarAggregatorConfig(interval=...))``: time bars from trades, quotes (BID/ASK/
  MID) or shorter bars, with the conventions of the Lean/Coinbase/Oanda minute files.
* ``GapDetector(GapDetectorConfig(...))``: gaps and stale streams as ``GapFinding`` records.
* ``L2Book``: an order book from snapshots and deltas (Binance update-id rules).
* ``RejectReason`` / ``Rejection``: the reason codes and the record of a refused row or event.
"""

from jules_market_data.engine import (
    BarAggregator,
    BarAggregatorConfig,
    BookConfig,
    BookStatus,
    FindingKind,
    GapDetector,
    GapDetectorConfig,
    GapFinding,
    L2Book,
    MarketDataValidator,
    Rejection,
    RejectReason,
    ValidationReport,
    ValidatorConfig,
    merge_streams,
)
from jules_market_data.loaders import (
    Format,
    LoaderError,
    default_instrument_id,
    detect_format,
    load,
)

__all__ = [
    "BarAggregator",
    "BarAggregatorConfig",
    "BookConfig",
    "BookStatus",
    "FindingKind",
    "Format",
    "GapDetector",
    "GapDetectorConfig",
    "GapFinding",
    "L2Book",
    "LoaderError",
    "MarketDataValidator",
    "RejectReason",
    "Rejection",
    "ValidationReport",
    "ValidatorConfig",
    "default_instrument_id",
    "detect_format",
    "load",
    "merge_streams",
]
