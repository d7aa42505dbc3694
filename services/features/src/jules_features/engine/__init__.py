"""The features engine: pure, deterministic streaming features over market data events.

Build a ``FeatureSchema`` from feature names and a ``FeatureEngine`` on it; feed it bars,
quotes and book events; it returns one ``FeatureVector`` per bar.
"""

from jules_features.engine.config import FeatureEngineConfig
from jules_features.engine.engine import SOURCE, FeatureEngine
from jules_features.engine.errors import FeatureError, FeatureErrorReason
from jules_features.engine.schema import (
    DEFAULT_BAR_FEATURES,
    FEATURE_KINDS,
    SCHEMA_FORMAT_VERSION,
    FeatureKind,
    FeatureSchema,
    FeatureSource,
    FeatureSpec,
    supported_features,
)

__all__ = [
    "DEFAULT_BAR_FEATURES",
    "FEATURE_KINDS",
    "SCHEMA_FORMAT_VERSION",
    "SOURCE",
    "FeatureEngine",
    "FeatureEngineConfig",
    "FeatureError",
    "FeatureErrorReason",
    "FeatureKind",
    "FeatureSchema",
    "FeatureSource",
    "FeatureSpec",
    "supported_features",
]
