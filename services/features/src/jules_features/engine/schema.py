"""Feature names, their parameters and the feature schema with its stable id.

A feature is named ``<indicator>_<params>`` in lowercase (``sma_20``, ``bb_upper_20_2``,
``macd_signal_12_26_9``, ``book_imbalance_5``). Parameters generalise (``ema_50``, ``rsi_7``,
``bb_upper_10_1.5``). Feature names travel in ``FeatureVector`` keys, which allow only
``[a-z0-9_]``, so a decimal parameter is written with ``p`` for the point: ``bb_upper_10_1.5``
is accepted and its canonical name is ``bb_upper_10_1p5``; ``bb_upper_20_2.0`` is
``bb_upper_20_2``. Parameter ranges are TA-Lib's where TA-Lib defines the indicator.

A ``FeatureSchema`` is an ordered list of features. Its ``schema_id`` hashes the canonical
JSON of the ordered names and parameters with ``SCHEMA_FORMAT_VERSION``: the same list always
gives the same id, another order or another list gives another id. A model records the id it
was trained on and refuses vectors of another schema.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from jules_features.engine.errors import FeatureError, FeatureErrorReason

__all__ = [
    "DEFAULT_BAR_FEATURES",
    "FEATURE_KINDS",
    "SCHEMA_FORMAT_VERSION",
    "FeatureKind",
    "FeatureSchema",
    "FeatureSource",
    "FeatureSpec",
    "Number",
    "Param",
    "supported_features",
]

SCHEMA_FORMAT_VERSION = 1
"""Version of the canonical JSON that ``FeatureSchema.schema_id`` hashes."""

_MAX_PERIOD = 100_000  # TA-Lib's upper bound for every period
_MAX_NAME_LENGTH = 64  # FeatureName in the contracts
_INT_RE = re.compile(r"^(0|[1-9][0-9]*)$")
_DECIMAL_RE = re.compile(r"^(0|[1-9][0-9]*)([.p][0-9]+)?$")

Number = int | float
"""A parameter value."""


class FeatureSource(StrEnum):
    """Which market data a feature is computed from."""

    BAR = "bar"
    """OHLCV bars (``on_bar``)."""
    QUOTE = "quote"
    """The top of the book: the latest quote, or the best levels of the latest book."""
    BOOK = "book"
    """L2 depth from book snapshots and deltas."""


@dataclass(frozen=True)
class Param:
    """One parameter of a feature: its name, type and inclusive range."""

    name: str
    type: type[int] | type[float]
    low: Number
    high: Number

    def parse(self, text: str) -> Number:
        """Parse this parameter from a name token (``"20"``, ``"1.5"``, ``"1p5"``).

        Raises:
            ValueError: The token is malformed or out of range (the message says why).
        """
        pattern = _INT_RE if self.type is int else _DECIMAL_RE
        if not pattern.match(text):
            kind = "an integer" if self.type is int else "a number such as 2 or 1.5 (or 1p5)"
            raise ValueError(f"{self.name} must be {kind}, got {text!r}")
        value: Number = int(text) if self.type is int else float(text.replace("p", "."))
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name} must be from {self.low} to {self.high}, got {text}")
        return value

    def render(self, value: Number) -> str:
        """Write a value as it appears in a canonical name (``2``, ``1p5``)."""
        if self.type is int or float(value).is_integer():
            return str(int(value))
        return format(Decimal(repr(float(value))), "f").replace(".", "p")


def _period(name: str = "timeperiod", low: int = 2) -> Param:
    return Param(name, int, low, _MAX_PERIOD)


def _fast_before_slow(params: tuple[Number, ...]) -> str | None:
    fast, slow = params[0], params[1]
    if fast >= slow:
        return f"fastperiod ({fast}) must be less than slowperiod ({slow})"
    return None


@dataclass(frozen=True)
class FeatureKind:
    """A supported indicator: its name prefix, parameters and data source.

    Attributes:
        indicator: The name prefix (``sma``, ``bb_upper``, ``book_imbalance``).
        params: Its parameters, in name order.
        source: The market data it is computed from.
        example: A valid name.
        summary: One line on what it is.
        check: Optional check across parameters; returns an error message or ``None``.
    """

    indicator: str
    params: tuple[Param, ...]
    source: FeatureSource
    example: str
    summary: str
    check: Callable[[tuple[Number, ...]], str | None] | None = None

    @property
    def form(self) -> str:
        """The name pattern, such as ``bb_upper_<timeperiod>_<nbdev>``."""
        return "_".join([self.indicator, *(f"<{p.name}>" for p in self.params)])

    def render(self, params: tuple[Number, ...]) -> str:
        """The canonical feature name for these parameter values."""
        return "_".join(
            [self.indicator, *(p.render(v) for p, v in zip(self.params, params, strict=True))]
        )


_BB = (_period(), Param("nbdev", float, 0.01, 10.0))
_MACD = (_period("fastperiod"), _period("slowperiod"), _period("signalperiod", 1))
_P1 = (_period(low=1),)
_P2 = (_period(),)

FEATURE_KINDS: tuple[FeatureKind, ...] = (
    FeatureKind("sma", _P1, FeatureSource.BAR, "sma_20", "simple moving average of close"),
    FeatureKind("ema", _P1, FeatureSource.BAR, "ema_21", "exponential moving average of close"),
    FeatureKind("wma", _P1, FeatureSource.BAR, "wma_10", "weighted moving average of close"),
    FeatureKind("rsi", _P2, FeatureSource.BAR, "rsi_14", "Wilder relative strength index"),
    FeatureKind("trange", (), FeatureSource.BAR, "trange", "true range"),
    FeatureKind("atr", _P1, FeatureSource.BAR, "atr_14", "Wilder average true range"),
    FeatureKind("natr", _P1, FeatureSource.BAR, "natr_14", "ATR as a percentage of close"),
    FeatureKind("bb_upper", _BB, FeatureSource.BAR, "bb_upper_20_2", "upper Bollinger band"),
    FeatureKind("bb_middle", _BB, FeatureSource.BAR, "bb_middle_20_2", "middle Bollinger band"),
    FeatureKind("bb_lower", _BB, FeatureSource.BAR, "bb_lower_20_2", "lower Bollinger band"),
    FeatureKind("stddev", _P2, FeatureSource.BAR, "stddev_20", "population std of close"),
    FeatureKind("macd", _MACD, FeatureSource.BAR, "macd_12_26_9", "MACD line", _fast_before_slow),
    FeatureKind(
        "macd_signal",
        _MACD,
        FeatureSource.BAR,
        "macd_signal_12_26_9",
        "MACD signal line",
        _fast_before_slow,
    ),
    FeatureKind(
        "macd_hist",
        _MACD,
        FeatureSource.BAR,
        "macd_hist_12_26_9",
        "MACD histogram",
        _fast_before_slow,
    ),
    FeatureKind(
        "stoch_k",
        (_period("fastk_period", 1), _period("slowk_period", 1)),
        FeatureSource.BAR,
        "stoch_k_14_3",
        "stochastic slow %K (SMA)",
    ),
    FeatureKind(
        "stoch_d",
        (_period("fastk_period", 1), _period("slowk_period", 1), _period("slowd_period", 1)),
        FeatureSource.BAR,
        "stoch_d_14_3_3",
        "stochastic slow %D (SMA)",
    ),
    FeatureKind("willr", _P2, FeatureSource.BAR, "willr_14", "Williams %R"),
    FeatureKind("cci", _P2, FeatureSource.BAR, "cci_20", "commodity channel index"),
    FeatureKind("adx", _P2, FeatureSource.BAR, "adx_14", "average directional index"),
    FeatureKind("plus_di", _P1, FeatureSource.BAR, "plus_di_14", "plus directional indicator"),
    FeatureKind("minus_di", _P1, FeatureSource.BAR, "minus_di_14", "minus directional indicator"),
    FeatureKind("obv", (), FeatureSource.BAR, "obv", "on-balance volume"),
    FeatureKind("mfi", _P2, FeatureSource.BAR, "mfi_14", "money flow index"),
    FeatureKind("roc", _P1, FeatureSource.BAR, "roc_10", "rate of change, percent"),
    FeatureKind("logret", _P1, FeatureSource.BAR, "logret_1", "ln(close / close n bars ago)"),
    FeatureKind(
        "rvol", _P2, FeatureSource.BAR, "rvol_20", "population std of the last n 1-bar log returns"
    ),
    FeatureKind("vwap", (), FeatureSource.BAR, "vwap", "session VWAP of the typical price"),
    FeatureKind("tod_sin", (), FeatureSource.BAR, "tod_sin", "sine of the time of day"),
    FeatureKind("tod_cos", (), FeatureSource.BAR, "tod_cos", "cosine of the time of day"),
    FeatureKind(
        "minute_of_day", (), FeatureSource.BAR, "minute_of_day", "minutes since session start"
    ),
    FeatureKind("spread", (), FeatureSource.QUOTE, "spread", "ask - bid"),
    FeatureKind("spread_bps", (), FeatureSource.QUOTE, "spread_bps", "spread over mid, in bps"),
    FeatureKind(
        "book_imbalance",
        (),
        FeatureSource.QUOTE,
        "book_imbalance",
        "(bid size - ask size) / (bid size + ask size) at the top of the book",
    ),
    FeatureKind(
        "book_imbalance",
        (Param("levels", int, 1, 1000),),
        FeatureSource.BOOK,
        "book_imbalance_5",
        "size imbalance over the best n L2 levels of each side",
    ),
    FeatureKind(
        "microprice", (), FeatureSource.QUOTE, "microprice", "size-weighted mid of the best levels"
    ),
)

_KINDS: dict[tuple[str, int], FeatureKind] = {
    (kind.indicator, len(kind.params)): kind for kind in FEATURE_KINDS
}
_PREFIXES: dict[str, list[FeatureKind]] = {}
for _kind in FEATURE_KINDS:
    _PREFIXES.setdefault(_kind.indicator, []).append(_kind)

DEFAULT_BAR_FEATURES: tuple[str, ...] = (
    "sma_20", "ema_9", "ema_21", "wma_10", "rsi_14", "trange", "atr_14", "natr_14",
    "bb_upper_20_2", "bb_middle_20_2", "bb_lower_20_2", "stddev_20",
    "macd_12_26_9", "macd_signal_12_26_9", "macd_hist_12_26_9", "stoch_k_14_3", "stoch_d_14_3_3",
    "willr_14", "cci_20", "adx_14", "plus_di_14", "minus_di_14", "obv", "mfi_14", "roc_10",
    "logret_1", "rvol_20", "vwap", "tod_sin", "tod_cos", "minute_of_day",
)  # fmt: skip
"""Every standard feature computed from bars alone, in a fixed order."""


def supported_features() -> str:
    """List every supported name form with an example, one per line."""
    return "\n".join(f"{kind.form} (e.g. {kind.example}): {kind.summary}" for kind in FEATURE_KINDS)


def _supported_inline() -> str:
    return ", ".join(kind.form for kind in FEATURE_KINDS)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: its canonical name, its indicator and its parameter values.

    Build it with ``FeatureSpec.parse(name)``; direct construction is checked the same way.

    Attributes:
        name: Canonical name (``bb_upper_10_1p5``).
        indicator: The name prefix (``bb_upper``).
        params: Parameter values in name order (``(10, 1.5)``).
    """

    name: str
    indicator: str
    params: tuple[Number, ...] = ()

    def __post_init__(self) -> None:
        kind = _KINDS.get((self.indicator, len(self.params)))
        if kind is None:
            raise FeatureError(
                FeatureErrorReason.UNKNOWN_FEATURE,
                f"no feature {self.indicator!r} with {len(self.params)} parameters; "
                f"supported: {_supported_inline()}",
                subject=self.name,
            )
        params = _check_params(self.name, kind, self.params)
        object.__setattr__(self, "params", params)
        if self.name != kind.render(self.params):
            raise FeatureError(
                FeatureErrorReason.BAD_PARAMETER,
                f"feature name {self.name!r} does not match its parameters "
                f"(canonical name {kind.render(self.params)!r})",
                subject=self.name,
            )

    @classmethod
    def parse(cls, name: str) -> FeatureSpec:
        """Parse a feature name such as ``ema_21`` or ``bb_upper_10_1.5``.

        Raises:
            FeatureError: (a ``ValueError``) naming the feature, with reason
                ``UNKNOWN_FEATURE`` and the list of supported names, or ``BAD_PARAMETER``
                and what the parameters must be.
        """
        text = name.strip()
        if text != text.lower():
            raise FeatureError(
                FeatureErrorReason.UNKNOWN_FEATURE,
                f"unknown feature {name!r}: feature names are lowercase "
                f"(did you mean {text.lower()!r}?)",
                subject=name,
            )
        tokens = text.split("_")
        for cut in range(len(tokens), 0, -1):
            candidates = _PREFIXES.get("_".join(tokens[:cut]))
            if candidates:
                return cls._from_tokens(name, candidates, tokens[cut:])
        raise FeatureError(
            FeatureErrorReason.UNKNOWN_FEATURE,
            f"unknown feature {name!r}; supported: {_supported_inline()}",
            subject=name,
        )

    @classmethod
    def _from_tokens(
        cls, name: str, candidates: list[FeatureKind], tokens: list[str]
    ) -> FeatureSpec:
        forms = " or ".join(f"{kind.form} (e.g. {kind.example})" for kind in candidates)
        kind = next((k for k in candidates if len(k.params) == len(tokens)), None)
        if kind is None:
            raise FeatureError(
                FeatureErrorReason.BAD_PARAMETER,
                f"feature {name!r} has {len(tokens)} parameters; expected {forms}",
                subject=name,
            )
        try:
            params = tuple(p.parse(t) for p, t in zip(kind.params, tokens, strict=True))
        except ValueError as exc:
            raise FeatureError(
                FeatureErrorReason.BAD_PARAMETER,
                f"feature {name!r}: {exc}; expected {forms}",
                subject=name,
            ) from exc
        return cls(kind.render(params), kind.indicator, params)

    @property
    def kind(self) -> FeatureKind:
        """The supported indicator this feature is an instance of."""
        return _KINDS[(self.indicator, len(self.params))]

    @property
    def source(self) -> FeatureSource:
        """The market data the feature is computed from."""
        return self.kind.source

    @property
    def param_dict(self) -> dict[str, Number]:
        """Parameters by name (``{"timeperiod": 20, "nbdev": 2.0}``)."""
        return {p.name: v for p, v in zip(self.kind.params, self.params, strict=True)}


def _check_params(name: str, kind: FeatureKind, params: tuple[Number, ...]) -> tuple[Number, ...]:
    """Check parameter values and return them as their declared types (2 -> 2.0 for floats)."""
    problem = None
    normalised: list[Number] = []
    for param, value in zip(kind.params, params, strict=True):
        if isinstance(value, bool) or not isinstance(value, (param.type, int)):
            problem = f"{param.name} must be {param.type.__name__}, got {value!r}"
        elif not param.low <= value <= param.high:
            problem = f"{param.name} must be from {param.low} to {param.high}, got {value}"
        if problem:
            break
        normalised.append(param.type(value))
    if problem is None and kind.check is not None:
        problem = kind.check(params)
    if problem is None and len(name) > _MAX_NAME_LENGTH:
        problem = f"the name is longer than {_MAX_NAME_LENGTH} characters"
    if problem is not None:
        raise FeatureError(
            FeatureErrorReason.BAD_PARAMETER,
            f"feature {name!r}: {problem}; expected {kind.form} (e.g. {kind.example})",
            subject=name,
        )
    return tuple(normalised)


@dataclass(frozen=True)
class FeatureSchema:
    """An ordered list of distinct features, identified by a stable hash.

    Attributes:
        specs: The features, in vector order.
    """

    specs: tuple[FeatureSpec, ...]

    def __post_init__(self) -> None:
        if not self.specs:
            raise FeatureError(FeatureErrorReason.EMPTY_SCHEMA, "a feature schema needs a feature")
        seen: set[str] = set()
        for spec in self.specs:
            if spec.name in seen:
                raise FeatureError(
                    FeatureErrorReason.DUPLICATE_FEATURE,
                    f"feature {spec.name!r} is listed twice",
                    subject=spec.name,
                )
            seen.add(spec.name)

    @classmethod
    def from_names(cls, names: Iterable[str]) -> FeatureSchema:
        """Build a schema from feature names, in the given order.

        Raises:
            FeatureError: A name is unknown or malformed, listed twice, or the list is empty.
        """
        return cls(tuple(FeatureSpec.parse(name) for name in names))

    @classmethod
    def parse(cls, text: str) -> FeatureSchema:
        """Build a schema from comma-separated names (``"sma_20, rsi_14,vwap"``)."""
        return cls.from_names(part.strip() for part in text.split(",") if part.strip())

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Canonical feature names, in order."""
        return tuple(spec.name for spec in self.specs)

    def canonical_json(self) -> str:
        """The canonical JSON that ``schema_id`` hashes (also fit for a model card)."""
        document = {
            "format": SCHEMA_FORMAT_VERSION,
            "features": [
                {"name": spec.name, "indicator": spec.indicator, "params": spec.param_dict}
                for spec in self.specs
            ],
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    @cached_property
    def schema_id(self) -> str:
        """First 32 hex digits of the SHA-256 of ``canonical_json()``."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:32]

    def sources(self) -> set[FeatureSource]:
        """The kinds of market data the schema's features need."""
        return {spec.source for spec in self.specs}

    def __len__(self) -> int:
        return len(self.specs)

    def __iter__(self) -> Iterator[FeatureSpec]:
        return iter(self.specs)
