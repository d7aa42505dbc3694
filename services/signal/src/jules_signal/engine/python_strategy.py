"""Users' strategies (``jules_signal.sdk``) behind the strategy port, and how they are loaded.

``PythonStrategy`` drives one ``sdk.Strategy``: on each (feature vector, bar) pair it moves the
strategy's clock to the bar's close, fires the timers that came due (a timer due several times
since the last bar fires once, at its first due time, and is set again after the bar), calls
``on_bar``, and turns the targets the strategy set into signals: one per instrument whose
target changed, the last target set for an instrument in a call winning. A target for the
bar's own instrument is a signal like a rule strategy's (its id from the vector and the
strategy id); one for another instrument (a spread's other leg) is derived from the same
vector, keyed by that instrument, and priced at that instrument's latest price.

On a quote, trade or book (``on_market``) the clock moves to its time and timers fire the same
way; a strategy that overrides the event's hook (``on_quote``, ``on_trade``, ``on_book``) has it
called, and its targets become signals derived from the event, priced at the instrument's
latest price (the event's own for its instrument).

On a fill (``on_fill``, for a strategy that overrides the hook: ``asks_fills``) the clock
moves to its time, timers fire, the strategy's ``holding`` moves by the fill, and ``on_fill``
runs; targets set there are derived from the fill, priced at the instrument's latest price.
A fill is the strategy's own (``is_mine``) when its order's id is the one risk gives the order
of one of its signals (``client_order_id(strategy_id, signal id)``).

A hook that raises quarantines the strategy: ``on_features`` raises
``StrategyQuarantinedError`` once (the caller turns it into a ``STRATEGY_QUARANTINED`` alert
with ``quarantine_alert``) and returns no signal afterwards.

``load_strategy`` builds one from a ``PythonStrategyConfig``: the class from its import path,
its file, or its ``jules.strategies`` entry point, and its parameters validated by its
``Params``.
"""

from __future__ import annotations

import hashlib
import heapq
import importlib
import importlib.util
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from jules_contracts import (
    AlertCode,
    AlertSeverity,
    Bar,
    BookSnapshot,
    FeatureVector,
    JulesError,
    OrderRequest,
    OrderSide,
    Quote,
    RiskAlert,
    SignalDirection,
    SignalGenerated,
    Trade,
    direction_of,
    market_price,
)
from jules_contracts.ids import client_order_id
from pydantic import ValidationError

from jules_signal.engine import sdk
from jules_signal.engine.config import PythonStrategyConfig
from jules_signal.engine.strategy import (
    SOURCE,
    StrategyIdentity,
    check_same_instrument,
    make_signal,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "TICK_HOOKS",
    "PythonStrategy",
    "StrategyLoadError",
    "StrategyQuarantinedError",
    "Tick",
    "load_strategy",
    "load_strategy_class",
    "quarantine_alert",
]

ENTRY_POINT_GROUP = "jules.strategies"
"""The entry-point group under which packages register strategies by name."""


class StrategyLoadError(JulesError, ValueError):
    """A strategy could not be loaded or its parameters are invalid (the message says which)."""


class StrategyQuarantinedError(JulesError, RuntimeError):
    """A user's strategy raised; it is quarantined and decides nothing more.

    Attributes:
        strategy_id: The strategy.
        hook: The hook that raised (``on_start``, ``on_timer``, ``on_bar``, or ``target`` for
            a target it could not set).
        cause: What it raised.
    """

    def __init__(self, strategy_id: str, hook: str, cause: BaseException) -> None:
        super().__init__(
            f"strategy {strategy_id!r} quarantined: {hook} raised {type(cause).__name__}: {cause}"
        )
        self.strategy_id = strategy_id
        self.hook = hook
        self.cause = cause


def quarantine_alert(
    cause: FeatureVector | Quote | Trade | BookSnapshot | sdk.Fill,
    error: StrategyQuarantinedError,
) -> RiskAlert:
    """The ``STRATEGY_QUARANTINED`` alert of ``error``, raised on ``cause``.

    ``cause`` is the feature vector, the tick or the fill whose hook raised.
    """
    return RiskAlert.derive(
        cause,
        key=f"{AlertCode.STRATEGY_QUARANTINED}:{error.strategy_id}",
        source=SOURCE,
        severity=AlertSeverity.CRITICAL,
        code=AlertCode.STRATEGY_QUARANTINED,
        message=str(error)[:1000],
        instrument_id=cause.instrument_id,
    )


Tick = Quote | Trade | BookSnapshot
"""A market event finer than a bar, which a strategy asks for by overriding its hook."""

TICK_HOOKS: dict[type[Tick], str] = {Quote: "on_quote", Trade: "on_trade", BookSnapshot: "on_book"}
"""The ``sdk.Strategy`` hook of each kind of tick."""


class PythonStrategy(StrategyIdentity):
    """A user's ``sdk.Strategy`` as a strategy of the engine (see the module docstring).

    Args:
        strategy: The user's strategy, built with its parameters.
        strategy_id: Id written into its signals.
    """

    def __init__(self, strategy: sdk.Strategy[Any], strategy_id: str) -> None:
        super().__init__(strategy_id, tuple(dict.fromkeys(strategy.features())))
        self._user = strategy
        self._started = False
        self.quarantined: StrategyQuarantinedError | None = None
        """Why the strategy is quarantined (``None`` while it runs)."""
        self.market_kinds: frozenset[type[Tick]] = frozenset(
            kind
            for kind, hook in TICK_HOOKS.items()
            if getattr(type(strategy), hook) is not getattr(sdk.Strategy, hook)
        )
        """The ticks the strategy asks for: those whose hook it overrides."""
        self.asks_fills: bool = type(strategy).on_fill is not sdk.Strategy.on_fill
        """Whether the strategy asks for fills (it overrides ``on_fill``)."""

    @property
    def strategy(self) -> sdk.Strategy[Any]:
        """The user's strategy (its state, for tests and reports)."""
        return self._user

    def on_features(self, features: FeatureVector, bar: Bar) -> list[SignalGenerated]:
        """Run the strategy's hooks on one bar; return the signals of the targets it changed.

        Raises:
            StrategyQuarantinedError: A hook raised (once; the strategy is quarantined).
            ValueError: ``features`` and ``bar`` are about different instruments.
        """
        if self.quarantined is not None:
            return []
        check_same_instrument(features, bar)
        self._user._bars[bar.instrument_id] = bar
        values = sdk.Features(features.features, self._strategy_id, features.feature_schema_id)
        return self._run(
            bar,
            bar.close,
            "on_bar",
            lambda: self._user.on_bar(bar, values),
            lambda: self._signals(features, bar),
        )

    def on_market(self, event: Tick) -> list[SignalGenerated]:
        """Run the strategy's hook of a quote, trade or book it asked for (``market_kinds``).

        A tick of a kind it did not ask for moves its clock and fires its timers only.

        Raises:
            StrategyQuarantinedError: A hook raised (once; the strategy is quarantined).
        """
        if self.quarantined is not None:
            return []
        kind = type(event)
        hook = TICK_HOOKS[kind]
        call = getattr(self._user, hook) if kind in self.market_kinds else _nothing
        return self._run(
            event,
            market_price(event),
            hook,
            lambda: call(event),
            lambda: self._signals(event, None),
        )

    def on_fill(self, fill: sdk.Fill) -> list[SignalGenerated]:
        """Run the strategy's ``on_fill`` on a fill in the account (see the module docstring).

        Raises:
            StrategyQuarantinedError: A hook raised (once; the strategy is quarantined).
        """
        if self.quarantined is not None:
            return []
        user = self._user
        signed = fill.last_quantity if fill.side is OrderSide.BUY else -fill.last_quantity
        user._holdings[fill.instrument_id] = user.holding(fill.instrument_id) + signed
        return self._run(
            fill,
            None,
            "on_fill",
            lambda: user.on_fill(fill),
            lambda: self._signals(fill, None),
        )

    def _run(
        self,
        event: Bar | Tick | sdk.Fill,
        price: float | None,
        hook: str,
        call: Callable[[], None],
        signals: Callable[[], list[SignalGenerated]],
    ) -> list[SignalGenerated]:
        user = self._user
        user._clock.now = event.event_time
        if price is not None:
            user._prices[event.instrument_id] = price
        step = "on_start"
        try:
            if not self._started:
                self._started = True
                user.on_start()
            step = "on_timer"
            self._fire_timers(event.event_time)
            step = hook
            call()
            step = "target"
            return signals()
        except Exception as error:
            user._wanted.clear()
            user._requests.clear()
            self.quarantined = StrategyQuarantinedError(self._strategy_id, step, error)
            raise self.quarantined from error

    def _fire_timers(self, now: int) -> None:
        clock = self._user._clock
        while clock.timers and clock.timers[0][0] <= now:
            due, name, interval = heapq.heappop(clock.timers)
            if interval:
                missed = (now - due) // interval + 1
                heapq.heappush(clock.timers, (due + missed * interval, name, interval))
            self._user.on_timer(sdk.Timer(due, name))

    def _signals(
        self, cause: FeatureVector | Tick | sdk.Fill, bar: Bar | None
    ) -> list[SignalGenerated]:
        """The signals of the targets set and the orders placed during a hook, from ``cause``.

        On a bar (``cause`` its feature vector), a target for the bar's own instrument is the
        signal a rule strategy would make (``make_signal``). The orders follow the targets, in
        the order placed.
        """
        user = self._user
        if not user._wanted and not user._requests:  # most hooks set nothing
            return []
        wanted = {instrument: (w, s) for instrument, w, s in user._wanted}
        user._wanted.clear()
        signals = []
        for instrument, (weight, strength) in wanted.items():
            if user._targets.get(instrument) == weight:
                continue
            if bar is not None and instrument == bar.instrument_id:
                assert isinstance(cause, FeatureVector)
                signal = make_signal(
                    cause,
                    bar,
                    strategy_id=self._strategy_id,
                    target_weight=weight,
                    strength=strength,
                    model_version=user.model_version,
                )
            else:
                signal = self._derived(cause, instrument, weight, strength)
            user._targets[instrument] = weight
            signals.append(signal)
        requests, user._requests = user._requests, []
        for index, (instrument, request) in enumerate(requests):
            signals.append(self._derived(cause, instrument, 0.0, 1.0, (index, request)))
        if self.asks_fills:
            user._orders.update(client_order_id(self._strategy_id, s.event_id) for s in signals)
        return signals

    def _derived(
        self,
        cause: FeatureVector | Tick | sdk.Fill,
        instrument: str,
        weight: float,
        strength: float,
        order: tuple[int, OrderRequest] | None = None,
    ) -> SignalGenerated:
        """A target set on a tick, a fill, or another instrument's bar; or an order placed.

        ``order`` is the order's index among its hook's orders, and its terms.
        """
        reference = self._user._prices.get(instrument)
        what = "target" if order is None else "order"
        if reference is None:
            raise ValueError(f"{what} for {instrument}, which has had no bar or tick yet")
        key = f"{self._strategy_id}:{instrument}"
        direction = direction_of(weight)
        request = None
        if order is not None:
            index, request = order
            key = f"{key}:order:{index}"
            buy = request.side is OrderSide.BUY
            direction = SignalDirection.LONG if buy else SignalDirection.SHORT
        return SignalGenerated.derive(
            cause,
            key=key,
            source=SOURCE,
            instrument_id=instrument,
            strategy_id=self._strategy_id,
            direction=direction,
            order=request,
            target_weight=weight,
            strength=strength,
            reference_price=reference,
            model_version=self._user.model_version,
            feature_schema_id=(
                cause.feature_schema_id if isinstance(cause, FeatureVector) else None
            ),
        )


def _nothing(event: Tick) -> None:
    """The hook of a tick the strategy did not ask for."""


def load_strategy_class(config: PythonStrategyConfig) -> type[sdk.Strategy[Any]]:
    """The strategy class ``config`` names (by path, file or entry point).

    Raises:
        StrategyLoadError: It cannot be found or imported, or is not an ``sdk.Strategy``.
    """
    where = config.path or f"entry point {config.entry_point!r} ({ENTRY_POINT_GROUP})"
    try:
        if config.entry_point is not None:
            found = entry_points(group=ENTRY_POINT_GROUP, name=config.entry_point)
            if not found:
                known = sorted(e.name for e in entry_points(group=ENTRY_POINT_GROUP))
                raise StrategyLoadError(
                    f"no strategy registered as {config.entry_point!r} in {ENTRY_POINT_GROUP} "
                    f"(registered: {', '.join(known) or 'none'})"
                )
            loaded = next(iter(found)).load()
        else:
            assert config.path is not None  # one of the two (the config's validator)
            module_name, _, class_name = config.path.rpartition(":")
            module = _import(module_name)
            loaded = getattr(module, class_name, None)
            if loaded is None:
                raise StrategyLoadError(f"{module_name} has no class {class_name!r}")
    except StrategyLoadError:
        raise
    except Exception as error:  # the user's module failed to import
        raise StrategyLoadError(f"cannot load {where}: {type(error).__name__}: {error}") from error
    if not (isinstance(loaded, type) and issubclass(loaded, sdk.Strategy)):
        raise StrategyLoadError(f"{where} is not a subclass of jules_signal.sdk.Strategy")
    return loaded


def _import(module_name: str) -> object:
    """A module by import path, or by file when the name ends with ``.py``."""
    if not module_name.endswith(".py"):
        return importlib.import_module(module_name)
    path = Path(module_name).resolve()
    if not path.is_file():
        raise StrategyLoadError(f"strategy file {path} does not exist")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"jules_user_strategy_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise StrategyLoadError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_strategy(config: PythonStrategyConfig) -> PythonStrategy:
    """Build the strategy ``config`` names, its parameters validated by its ``Params``.

    Raises:
        StrategyLoadError: The class cannot be loaded, or a parameter is missing, unknown or
            invalid (the message names it).
    """
    cls = load_strategy_class(config)
    try:
        params = cls.Params.model_validate(config.params)
    except ValidationError as error:
        raise StrategyLoadError(f"parameters of {cls.__name__}: {error}") from error
    try:
        strategy = cls(params)
    except Exception as error:
        raise StrategyLoadError(f"{cls.__name__}({params!r}) raised: {error}") from error
    return PythonStrategy(strategy, config.strategy_id or _default_id(cls))


def _default_id(cls: type[sdk.Strategy[Any]]) -> str:
    """``BollingerReversion`` → ``bollinger_reversion``."""
    name = cls.__name__
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))
