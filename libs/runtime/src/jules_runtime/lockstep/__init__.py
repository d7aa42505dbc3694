"""Lockstep consumption for topic-replay backtests: in-band watermarks cut streams into steps.

In a backtest over Kafka, the order-router and risk must see their inputs in the order of the
embedded loop (docs/architecture.md, "Topic replay"). Three modules, the first two pure:

* ``buffer``: ``StepBuffer`` collects what a service reads and hands out segments by watermark;
* ``steps``: the one step definition (``STEP_ORDER``, a ``StepRule`` per service) and
  ``StepDriver``, which runs a rule;
* ``runner``: ``LockstepRunner``, the Kafka I/O (imported from there; this package does not
  import a Kafka client).
"""

from jules_runtime.lockstep.buffer import (
    END_OF_TIME,
    Replica,
    Stamped,
    StepBuffer,
    by_instrument,
    in_step_order,
    make_watermark,
)
from jules_runtime.lockstep.steps import (
    BARS,
    COLLECT_RULE,
    FEATURES_RULE,
    RISK,
    RISK_RULE,
    SIGNAL_RULE,
    SIGNALS_PART,
    STEP_ORDER,
    TICKS,
    VECTORS,
    VENUE,
    VENUE_RULE,
    LockstepDriver,
    Part,
    StepDriver,
    StepOutput,
    StepRule,
    StepRules,
    Taken,
    step_rules,
)

__all__ = [
    "BARS",
    "COLLECT_RULE",
    "END_OF_TIME",
    "FEATURES_RULE",
    "RISK",
    "RISK_RULE",
    "SIGNALS_PART",
    "SIGNAL_RULE",
    "STEP_ORDER",
    "TICKS",
    "VECTORS",
    "VENUE",
    "VENUE_RULE",
    "LockstepDriver",
    "Part",
    "Replica",
    "Stamped",
    "StepBuffer",
    "StepDriver",
    "StepOutput",
    "StepRule",
    "StepRules",
    "Taken",
    "by_instrument",
    "in_step_order",
    "make_watermark",
    "step_rules",
]
