"""The risk engine: sizing, pre-trade controls, stops, kill switch and loss halts.

Synchronous and deterministic: every method takes an event, updates the engine's state and
returns the events it causes, with ids derived from their cause (``Event.derive``). Time is
event time: the engine's clock is market time, the latest ``event_time`` of the market events,
signals, intents and portfolio snapshots it has been given; ages (reference price, market
data, throttle window) and the daily-loss halt's day are measured against it; ``on_clock``
moves it on while no market event arrives (live market-data's heartbeat). Control commands
and order events do not move the clock: an operator's command carries the wall-clock time it
was sent (far past the market during a replay), and so does an order canceled on such a
command. A command is applied when it arrives, and its outputs keep its own event time.

Inputs and what they mean to the engine:

* ``on_market``: reference prices, ATR and returns; checks stops.
* ``on_portfolio`` (and the snapshot passed with a signal or an intent): positions and
  equity — a snapshot at ``T`` must include every fill with ``event_time <= T`` — and the
  daily-loss and drawdown halts.
* ``on_order_event``: working orders, fills after the last snapshot, used client order ids.
  Report fills to the engine before passing it a snapshot built on later fills.
* ``on_control``: kill switch and configuration changes.

Decisions never resize an order: an approved quantity is the intent's. With ``sizing.at``
``fill`` a signal's order carries ``size_at_fill`` and the order-router sizes it again at the
fill price (``OrderResized`` then tells the book the order's new quantity).

Instruments with a spec (``instruments``) are sized to their lot; their notional (limits,
exposure, VaR, ES) is ``quantity * price * multiplier``; others count with multiplier 1.
"""

from __future__ import annotations

from jules_contracts.base import Event
from jules_contracts.control import ChangeConfig, EngageKillSwitch, ReleaseKillSwitch, SwapModel
from jules_contracts.enums import AlertCode, AlertSeverity, KillSwitchState, OrderSide, OrderType
from jules_contracts.ids import client_order_id
from jules_contracts.instruments import InstrumentTable
from jules_contracts.orders import CancelOrder, OrderApproved, OrderDenied, SubmitOrder
from jules_contracts.portfolio import PortfolioSnapshot
from jules_contracts.signals import SignalGenerated

from jules_risk.engine.alerts import (
    SOURCE,
    Alert,
    no_snapshot,
    portfolio_unavailable,
    sizing_unavailable,
)
from jules_risk.engine.book import ExposureBook, OrderEvent, signed
from jules_risk.engine.checks import OrderContext, run_checks
from jules_risk.engine.config import ConfigChangeError, RiskConfig, with_change
from jules_risk.engine.halts import KillSwitch, LossMonitor
from jules_risk.engine.market import MarketEvent, MarketState
from jules_risk.engine.monitor import PortfolioMetrics, compute_portfolio_metrics
from jules_risk.engine.requests import requested_order
from jules_risk.engine.sizing import (
    SizingUnavailableError,
    signal_target,
    size_at_fill,
    tradable_delta,
)
from jules_risk.engine.stops import StopTracker
from jules_risk.engine.tail import TailRisk, tail_risk
from jules_risk.engine.throttle import RollingThrottle

__all__ = ["ControlCommand", "Decision", "RiskEngine"]

ControlCommand = EngageKillSwitch | ReleaseKillSwitch | ChangeConfig | SwapModel
"""A control command (``SwapModel`` is not for risk and is ignored)."""

Decision = OrderApproved | OrderDenied
"""A risk decision on an order intent."""


class RiskEngine:
    """Decides on order intents and sizes signals for one account.

    Args:
        config: The validated configuration.
        instruments: Specs of the instruments that have one (lot, minimum, multiplier).
    """

    def __init__(self, config: RiskConfig, instruments: InstrumentTable | None = None) -> None:
        self._config = config
        self._specs = dict(instruments or {})
        self._now = 0
        self._markets: dict[str, MarketState] = {}
        self._book = ExposureBook({i: spec.multiplier for i, spec in self._specs.items()})
        self._kill = KillSwitch()
        self._loss = LossMonitor(config.history_length)
        self._throttle = RollingThrottle()
        self._stops = StopTracker()
        self._exits: dict[str, str] = {}

    # --- read-only views ------------------------------------------------------------------

    @property
    def config(self) -> RiskConfig:
        """The configuration in force."""
        return self._config

    @property
    def now(self) -> int:
        """The engine's clock: the latest market time it has been given (see the module)."""
        return self._now

    @property
    def book(self) -> ExposureBook:
        """Positions, working orders and used client order ids (do not modify)."""
        return self._book

    def kill_switch_state(self, instrument_id: str | None = None) -> KillSwitchState:
        """Kill-switch state of the book, or the one in force for an instrument."""
        if instrument_id is None:
            return self._kill.book_state
        return self._kill.state_for(instrument_id)

    def market(self, instrument_id: str) -> MarketState | None:
        """Market knowledge of an instrument (reference price, ATR, returns), if any."""
        return self._markets.get(instrument_id)

    def portfolio_metrics(self, *, velocity_window: int = 1) -> PortfolioMetrics:
        """Drawdown, its velocity, ulcer index, concentration, turnover, VaR and ES now."""
        holdings = self._holdings()
        return compute_portfolio_metrics(
            self._loss,
            self._book,
            holdings,
            {i: self._markets[i].returns for i in holdings if i in self._markets},
            self._config.limits,
            velocity_window=velocity_window,
        )

    # --- inputs ---------------------------------------------------------------------------

    def on_market(self, event: MarketEvent, *, atr: float | None = None) -> list[Event]:
        """Take in a bar, quote or trade; exit a position whose stop triggers.

        Args:
            event: The market event.
            atr: An ATR computed elsewhere for this instrument; when given, it replaces the
                engine's own Wilder ATR for stops and ``atr_risk`` sizing from now on.

        Returns:
            Nothing, or ``[SubmitOrder, OrderApproved | OrderDenied, RiskAlert]`` when a stop
            triggers: a reduce-only market order for the net position (position plus working
            orders), its decision, and an alert naming the stop (``STOP_LOSS``,
            ``TRAILING_STOP``, ``TAKE_PROFIT``). No second exit is made while one is working.
        """
        self.on_clock(event.event_time)
        state = self._market_state(event.instrument_id)
        state.update(event)
        if atr is not None:
            state.set_atr(atr)
        return self._check_stops(event, state)

    def on_signal(
        self, signal: SignalGenerated, portfolio: PortfolioSnapshot | None
    ) -> list[Event]:
        """Size a signal into an order and decide on it (a strategy's order: decide on it).

        The target position comes from ``config.sizing``; the order is the target minus the
        position minus the working orders' net quantity (a reversal is one order). A signal
        with an ``order`` is that order, unsized (``requests``).

        Args:
            signal: The signal.
            portfolio: The latest snapshot of the account; ``None`` before the first one (the
                signal cannot be sized then, and the engine's state does not change).

        Returns:
            Alerts raised by the snapshot, then ``[SubmitOrder, OrderApproved | OrderDenied]``
            — or only the alerts when there is nothing to trade, or a ``SIZING_UNAVAILABLE``
            alert when the target cannot be computed (no snapshot, price, ATR or volatility).
        """
        if portfolio is None:
            reason = no_snapshot(self._config.account_id)
            return [sizing_unavailable(signal, self._config.sizing.kind, reason).event(signal)]
        events: list[Event] = list(self._apply_portfolio(portfolio))
        self.on_clock(signal.event_time)
        if signal.order is not None:  # the strategy's own order: checked, not sized
            order = requested_order(signal, self._config.account_id, SOURCE)
            return [*events, order, self._decide(order)]
        instrument = signal.instrument_id
        state = self._markets.get(instrument)
        price = signal.reference_price
        if price is None and state is not None and state.reference is not None:
            price = state.reference.price
        sizing, spec = self._config.sizing, self._specs.get(instrument)
        try:
            if self._book.equity is None:
                raise SizingUnavailableError(no_snapshot(self._config.account_id))
            target = signal_target(
                sizing, signal.target_weight, self._book.equity, price, state, spec
            )
        except SizingUnavailableError as error:
            alert = sizing_unavailable(signal, sizing.kind, str(error))
            return [*events, alert.event(signal)]
        current = self._book.position(instrument) + self._book.working_net(instrument)
        delta = tradable_delta(sizing, spec, target, current)
        if delta == 0:
            return events
        order = SubmitOrder.derive(
            signal,
            source=SOURCE,
            client_order_id=client_order_id(signal.strategy_id, signal.event_id),
            account_id=self._config.account_id,
            instrument_id=instrument,
            side=OrderSide.BUY if delta > 0 else OrderSide.SELL,
            quantity=abs(delta),
            order_type=OrderType.MARKET,
            strategy_id=signal.strategy_id,
            reference_price=signal.reference_price,
            size_at_fill=size_at_fill(sizing, signal.target_weight, spec),
        )
        return [*events, order, self._decide(order)]

    def on_intent(self, order: SubmitOrder, portfolio: PortfolioSnapshot | None) -> list[Event]:
        """Decide on an intent made elsewhere (an operator's order).

        Args:
            order: The intent.
            portfolio: The latest snapshot of the account; ``None`` before the first one (the
                intent is not decided then, and the engine's state does not change).

        Returns:
            Alerts raised by the snapshot, then ``OrderApproved`` or ``OrderDenied``; without
            a snapshot, only a ``PORTFOLIO_UNAVAILABLE`` alert.
        """
        if portfolio is None:
            return [portfolio_unavailable(order, self._config.account_id).event(order)]
        events: list[Event] = list(self._apply_portfolio(portfolio))
        self.on_clock(order.event_time)
        return [*events, self._decide(order)]

    def on_clock(self, time: int) -> None:
        """Move the clock on to market time ``time`` (UTC ns); it never goes back."""
        self._now = max(self._now, time)

    def on_order_event(self, event: OrderEvent) -> list[Event]:
        """Track an order lifecycle event (working orders, fills, used ids).

        The event does not move the clock: a fill's time is its market event's, which the
        engine is given too, and a cancel on request has the cancel command's time.

        Returns:
            Nothing (an empty list): the book changes, no event follows.
        """
        self._book.apply_order_event(event)
        return []

    def on_portfolio(self, snapshot: PortfolioSnapshot) -> list[Event]:
        """Take in a snapshot: positions, equity, daily-loss and drawdown halts.

        Returns:
            ``RiskAlert`` events for halts set or lifted (a snapshot already seen adds nothing).
        """
        return self._apply_portfolio(snapshot)

    def on_control(self, command: ControlCommand) -> list[Event]:
        """Apply a control command addressed to risk (``target`` ``risk`` or ``*``).

        * ``EngageKillSwitch``: ``REDUCING`` or ``HALTED`` (latched) for the book or one
          instrument; ``HALTED`` also cancels the scope's working orders when
          ``config.cancel_on_halt`` (``CancelOrder`` commands).
        * ``ReleaseKillSwitch``: back to ``ACTIVE``; for the whole book it also lifts the
          loss halts (and restarts the drawdown peak from the last equity).
        * ``ChangeConfig``: one ``limits.*``, ``sizing.*`` or ``stops.*`` setting, validated
          as at start-up; a refused change leaves the configuration as it was.

        The command is applied at once and does not move the clock (its event time is when an
        operator sent it, not market time); its outputs carry its event time.

        Returns:
            A ``RiskAlert`` saying what happened (plus ``CancelOrder`` commands on a halt).
        """
        if command.target not in (SOURCE, "*") or isinstance(command, SwapModel):
            return []
        if isinstance(command, EngageKillSwitch):
            return self._engage(command)
        if isinstance(command, ReleaseKillSwitch):
            self._kill.release(command.instrument_id)
            if command.instrument_id is None:
                self._loss.release()
            scope = command.instrument_id or "the book"
            alert = Alert(
                AlertCode.KILL_SWITCH_RELEASED,
                AlertSeverity.INFO,
                f"kill switch released for {scope} by {command.operator}: {command.reason}",
                command.instrument_id,
            )
            return [alert.event(command)]
        return [self._change_config(command).event(command)]

    # --- internals ------------------------------------------------------------------------

    def _market_state(self, instrument_id: str) -> MarketState:
        state = self._markets.get(instrument_id)
        if state is None:
            state = MarketState(self._config.atr_period, self._config.history_length)
            self._markets[instrument_id] = state
        return state

    def _apply_portfolio(self, snapshot: PortfolioSnapshot) -> list[Event]:
        if snapshot.account_id != self._config.account_id:
            alert = Alert(
                AlertCode.ACCOUNT_MISMATCH,
                AlertSeverity.WARNING,
                f"snapshot of account {snapshot.account_id} ignored: this engine trades "
                f"{self._config.account_id}",
            )
            return [alert.event(snapshot)]
        self.on_clock(snapshot.event_time)
        if not self._book.apply_snapshot(snapshot):
            return []
        notices = self._loss.update(snapshot, self._config.limits)
        return [
            Alert(n.code, n.severity, n.message, None, n.metrics).event(snapshot) for n in notices
        ]

    def _engage(self, command: EngageKillSwitch) -> list[Event]:
        state = self._kill.engage(command.state, command.instrument_id)
        scope = command.instrument_id or "the book"
        severity = (
            AlertSeverity.CRITICAL if state is KillSwitchState.HALTED else AlertSeverity.WARNING
        )
        alert = Alert(
            AlertCode.KILL_SWITCH_ENGAGED,
            severity,
            f"kill switch {state.value} for {scope} by {command.operator}: {command.reason}",
            command.instrument_id,
        )
        events: list[Event] = [alert.event(command)]
        if state is KillSwitchState.HALTED and self._config.cancel_on_halt:
            events.extend(
                CancelOrder.derive(
                    command,
                    key=order.client_order_id,
                    source=SOURCE,
                    client_order_id=order.client_order_id,
                    instrument_id=order.instrument_id,
                    reason=f"kill switch HALTED by {command.operator}: {command.reason}",
                )
                for order in self._book.working_orders(command.instrument_id)
            )
        return events

    def _change_config(self, command: ChangeConfig) -> Alert:
        section, _, name = command.key.partition(".")
        try:
            config = with_change(self._config, command.key, command.value)
        except ConfigChangeError as error:
            return Alert(AlertCode.CONFIG_CHANGE_REJECTED, AlertSeverity.WARNING, str(error))
        old = getattr(getattr(self._config, section), name)
        self._config = config
        return Alert(
            AlertCode.CONFIG_CHANGED,
            AlertSeverity.INFO,
            f"{command.key} changed from {old!r} to {command.value!r} by {command.operator}",
        )

    def _mark(self, instrument_id: str) -> float:
        state = self._markets.get(instrument_id)
        if state is not None and state.reference is not None:
            return state.reference.price
        return self._book.mark(instrument_id) or self._book.average_price(instrument_id) or 0.0

    def _holdings(self) -> dict[str, float]:
        return self._book.holdings(self._mark)

    def _tail(self, order: SubmitOrder, price: float | None) -> TailRisk | None:
        limits = self._config.limits
        if (limits.es_budget is None and limits.var_budget is None) or price is None:
            return None
        before = self._holdings()
        instrument = order.instrument_id
        change = self._book.value(instrument, signed(order.side, order.quantity), price)
        after = before | {instrument: before.get(instrument, 0.0) + change}
        histories = {i: self._markets[i].returns for i in after if i in self._markets}
        return tail_risk(
            before,
            after,
            histories,
            var_confidence=limits.var_confidence,
            es_confidence=limits.es_confidence,
        )

    def _context(self, order: SubmitOrder) -> OrderContext:
        instrument = order.instrument_id
        book = self._book
        state = self._markets.get(instrument)
        reference = state.reference if state is not None else None
        price = reference.price if reference is not None else order.reference_price
        quantity = signed(order.side, order.quantity)
        exposure_before = book.exposure(instrument)
        exposure_after = book.exposure(instrument, quantity)
        gross_before = book.gross(self._mark)
        mark = price if price is not None else self._mark(instrument)
        gross_after = gross_before + book.value(instrument, exposure_after - exposure_before, mark)
        limits = self._config.limits
        return OrderContext(
            order=order,
            now=self._now,
            limits=limits,
            account_id=self._config.account_id,
            kill_state=self._kill.state_for(instrument),
            loss_halts=tuple(self._loss.active_halts(self._now)),
            duplicate=book.seen(order.client_order_id),
            position=book.position(instrument),
            working_net=book.working_net(instrument),
            reference=reference,
            last_market_time=state.last_event_time if state is not None else None,
            crossed=state.crossed if state is not None else False,
            exposure_before=exposure_before,
            exposure_after=exposure_after,
            gross_before=gross_before,
            gross_after=gross_after,
            open_orders=book.open_order_count(),
            recent_orders=self._throttle.count(self._now, limits.throttle_window_ns),
            tail=self._tail(order, price),
            spec=self._specs.get(instrument),
        )

    def _decide(self, order: SubmitOrder) -> Decision:
        violations = run_checks(self._context(order))
        self._book.mark_seen(order.client_order_id)
        if violations:
            return OrderDenied.derive(
                order,
                source=SOURCE,
                client_order_id=order.client_order_id,
                instrument_id=order.instrument_id,
                reasons=tuple(v.reason for v in violations),
                message="; ".join(v.message for v in violations),
                order=order,
            )
        self._book.add_working(order, order.quantity)
        self._throttle.record(self._now)
        return OrderApproved.derive(
            order,
            source=SOURCE,
            client_order_id=order.client_order_id,
            instrument_id=order.instrument_id,
            quantity=order.quantity,
            order=order,
        )

    def _check_stops(self, event: MarketEvent, state: MarketState) -> list[Event]:
        stops = self._config.stops
        instrument = event.instrument_id
        if not stops.enabled or state.reference is None:
            return []
        position = self._book.position(instrument)
        trigger = self._stops.check(
            stops,
            instrument,
            position=position,
            entry_price=self._book.average_price(instrument),
            atr=state.atr,
            price=state.reference.price,
        )
        exit_id = self._exits.get(instrument)
        exiting = exit_id is not None and any(
            o.client_order_id == exit_id for o in self._book.working_orders(instrument)
        )
        net = position + self._book.working_net(instrument)
        if trigger is None or exiting or net * position <= 0:
            return []
        order = SubmitOrder.derive(
            event,
            key="stop",
            source=SOURCE,
            client_order_id=client_order_id(stops.strategy_id, event.event_id),
            account_id=self._config.account_id,
            instrument_id=instrument,
            side=OrderSide.SELL if net > 0 else OrderSide.BUY,
            quantity=abs(net),
            order_type=OrderType.MARKET,
            reduce_only=True,
            strategy_id=stops.strategy_id,
            reference_price=state.reference.price,
        )
        decision = self._decide(order)
        if isinstance(decision, OrderApproved):
            self._exits[instrument] = order.client_order_id
        levels = self._stops.levels(instrument)
        metrics = {"price": state.reference.price, "quantity": abs(net)}
        if levels is not None:
            metrics |= {"entry": levels.entry, "atr": levels.atr, "best": levels.best}
        alert = Alert(
            AlertCode(trigger.upper()),
            AlertSeverity.INFO,
            f"{trigger.replace('_', ' ')} of {instrument} at {state.reference.price:g}: "
            f"reduce-only exit of {abs(net):g} {decision.event_type.removeprefix('risk.order_')}",
            instrument,
            metrics,
        )
        return [order, decision, alert.event(event)]
