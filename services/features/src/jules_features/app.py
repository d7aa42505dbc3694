"""The features service over Kafka: market data in, one feature vector per bar out.

In a topic-replay backtest the bars carry their producer's watermarks in band: a watermark
read from partition ``p`` of ``md.bars.v1`` is passed on, as the features service's own, to
partition ``p`` of ``features.v1`` once every vector before it is published (the topics of a
run have the same partition count, so an instrument's bars and vectors share a partition).
Replicas in one consumer group split the partitions and pass on the watermarks of theirs.
"""

from __future__ import annotations

from collections.abc import Sequence

from faststream.asgi import AsgiFastStream
from jules_contracts import Bar, BookDelta, BookSnapshot, Event, Quote, Watermark
from jules_contracts.topics import FEATURES, MD_BARS, MD_BOOK, MD_QUOTES
from jules_runtime.bus import Handler
from jules_runtime.lockstep import pass_on_watermark
from jules_runtime.service import ServiceRuntime, create_service_app

from jules_features.config import FeaturesSettings
from jules_features.engine import FeatureEngine

SOURCE = "features"

__all__ = ["create_app", "market_data_handler"]


def market_data_handler(engine: FeatureEngine) -> Handler:
    """The handler of ``md.*`` events: bars give a vector; quotes and books update L1/L2 state.

    A watermark of a partition of ``md.bars.v1`` is passed on to the same partition of
    ``features.v1``.
    """

    async def handle(event: Event) -> Sequence[Event]:
        if isinstance(event, Bar):
            return [engine.on_bar(event)]
        if isinstance(event, Watermark):
            return pass_on_watermark(SOURCE, FEATURES, event)
        if isinstance(event, Quote):
            engine.on_quote(event)
        elif isinstance(event, BookSnapshot | BookDelta):
            engine.on_book(event)
        return []

    return handle


def create_app(settings: FeaturesSettings) -> AsgiFastStream:
    """Build the features service (consumer group ``jules-features``)."""

    def wire(runtime: ServiceRuntime) -> None:
        engine = FeatureEngine(settings.feature_schema, settings.engine)
        runtime.bus.subscribe([MD_BARS, MD_QUOTES, MD_BOOK], market_data_handler(engine))

    return create_service_app(settings, wire)
