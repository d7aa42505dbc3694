"""The signal engine: pure, synchronous, deterministic strategies turning features into signals.

Users' strategies (``sdk``) and the rule strategies written with it (``rules``: ``SmaCross``,
``EmaCross``, ``RsiReversion``) are run by ``python_strategy.PythonStrategy``, configured by
``config.StrategyConfig`` and built with ``build_strategy``; ONNX policies
(``onnx_policy.OnnxPolicy``) by a model with its model card. All implement the
``strategy.Strategy`` port. ``pairing.Pairing`` pairs each bar with the feature vector derived
from it; ``schema.LiveSchema`` tells a vector of another schema.
"""

from jules_signal.engine.build import build_strategy
from jules_signal.engine.config import (
    STRATEGY_KINDS,
    AnyStrategyConfig,
    EmaCrossConfig,
    OnnxPolicyConfig,
    PythonStrategyConfig,
    RsiReversionConfig,
    SmaCrossConfig,
    StrategyConfig,
    TradingMode,
    parse_strategy_flags,
    strategy_config_from_mapping,
)
from jules_signal.engine.errors import (
    MissingFeaturesError,
    ModelLoadError,
    ModelOutputError,
    ModelRejectionReason,
    ModelSchemaMismatchError,
)
from jules_signal.engine.model_card import (
    MODEL_CARD_KEY,
    ActionSemantics,
    DiscreteAction,
    FeatureNormalisation,
    ModelCard,
    TargetWeightAction,
)
from jules_signal.engine.onnx_policy import OnnxPolicy, output_to_target
from jules_signal.engine.pairing import Dropped, Pair, Pairing, PairingOutcome
from jules_signal.engine.python_strategy import (
    PythonStrategy,
    StrategyLoadError,
    StrategyQuarantinedError,
    Tick,
    load_strategy,
    quarantine_alert,
)
from jules_signal.engine.rules import EmaCross, RsiReversion, SmaCross
from jules_signal.engine.schema import LiveSchema
from jules_signal.engine.strategy import Strategy

__all__ = [
    "MODEL_CARD_KEY",
    "STRATEGY_KINDS",
    "ActionSemantics",
    "AnyStrategyConfig",
    "DiscreteAction",
    "Dropped",
    "EmaCross",
    "EmaCrossConfig",
    "FeatureNormalisation",
    "LiveSchema",
    "MissingFeaturesError",
    "ModelCard",
    "ModelLoadError",
    "ModelOutputError",
    "ModelRejectionReason",
    "ModelSchemaMismatchError",
    "OnnxPolicy",
    "OnnxPolicyConfig",
    "Pair",
    "Pairing",
    "PairingOutcome",
    "PythonStrategy",
    "PythonStrategyConfig",
    "RsiReversion",
    "RsiReversionConfig",
    "SmaCross",
    "SmaCrossConfig",
    "Strategy",
    "StrategyConfig",
    "StrategyLoadError",
    "StrategyQuarantinedError",
    "TargetWeightAction",
    "Tick",
    "TradingMode",
    "build_strategy",
    "load_strategy",
    "output_to_target",
    "parse_strategy_flags",
    "quarantine_alert",
    "strategy_config_from_mapping",
]
