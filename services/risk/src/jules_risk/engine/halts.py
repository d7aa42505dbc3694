"""Trading halts: the kill switch and the daily-loss and drawdown halts.

Kill switch: ``ACTIVE`` → ``REDUCING`` (risk-reducing orders only) or ``HALTED`` (nothing),
for the whole book or one instrument. ``HALTED`` is latched: engaging ``REDUCING`` does not
lower it; only a release does. A release for the whole book clears the book-wide state and
the loss halts; a release for an instrument clears that instrument's state only.

Loss halts (risk-reducing orders only) are set from portfolio snapshots:

* daily loss: ``start-of-day equity - equity`` above ``max_daily_loss`` or above
  ``max_daily_loss_fraction * start-of-day equity``. The UTC day starts at 00:00; its
  start-of-day equity is the last equity seen before the boundary (the first snapshot of the
  day when there is none). The halt lifts by itself at the next UTC day; a release lifts it
  too, but the next snapshot sets it again while the loss is still beyond the limit.
* drawdown: ``1 - equity / peak equity`` above ``max_drawdown``. Latched until a book-wide
  release, which also restarts the peak from the last equity.

A value equal to its limit does not breach it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from jules_contracts.enums import AlertCode, AlertSeverity, KillSwitchState, RiskReason
from jules_contracts.portfolio import PortfolioSnapshot

from jules_risk.engine.config import RiskLimits

__all__ = ["NS_PER_DAY", "HaltNotice", "KillSwitch", "LossMonitor"]

NS_PER_DAY = 86_400 * 1_000_000_000
_SEVERITY = {KillSwitchState.ACTIVE: 0, KillSwitchState.REDUCING: 1, KillSwitchState.HALTED: 2}


def _stricter(a: KillSwitchState, b: KillSwitchState) -> KillSwitchState:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


class KillSwitch:
    """Book-wide and per-instrument kill-switch states."""

    def __init__(self) -> None:
        self.book_state = KillSwitchState.ACTIVE
        self._instruments: dict[str, KillSwitchState] = {}

    def engage(self, state: KillSwitchState, instrument_id: str | None = None) -> KillSwitchState:
        """Engage ``state`` (never lowering a latched ``HALTED``); return the scope's state."""
        if instrument_id is None:
            self.book_state = _stricter(self.book_state, state)
            return self.book_state
        current = self._instruments.get(instrument_id, KillSwitchState.ACTIVE)
        self._instruments[instrument_id] = _stricter(current, state)
        return self._instruments[instrument_id]

    def release(self, instrument_id: str | None = None) -> None:
        """Return the book (or one instrument) to ``ACTIVE``."""
        if instrument_id is None:
            self.book_state = KillSwitchState.ACTIVE
        else:
            self._instruments.pop(instrument_id, None)

    def state_for(self, instrument_id: str) -> KillSwitchState:
        """The stricter of the book-wide and the instrument's state."""
        return _stricter(
            self.book_state, self._instruments.get(instrument_id, KillSwitchState.ACTIVE)
        )


@dataclass(frozen=True, slots=True)
class HaltNotice:
    """A change of a loss halt, to be published as a ``RiskAlert``."""

    code: AlertCode
    severity: AlertSeverity
    message: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class LossMonitor:
    """Daily-loss and drawdown tracking over portfolio snapshots.

    Args:
        history_length: Equity observations kept for portfolio metrics.
    """

    history_length: int
    day: int | None = None
    start_of_day_equity: float | None = None
    last_equity: float | None = None
    peak_equity: float | None = None
    daily_halt_day: int | None = None
    drawdown_halted: bool = False
    equity_curve: deque[float] = field(init=False)

    def __post_init__(self) -> None:
        self.equity_curve = deque(maxlen=self.history_length)

    @property
    def daily_loss(self) -> float:
        """Loss since the start of the day (negative for a gain)."""
        if self.start_of_day_equity is None or self.last_equity is None:
            return 0.0
        return self.start_of_day_equity - self.last_equity

    @property
    def drawdown(self) -> float:
        """Current drawdown from the peak, as a fraction."""
        if not self.peak_equity or self.peak_equity <= 0 or self.last_equity is None:
            return 0.0
        return max(0.0, 1.0 - self.last_equity / self.peak_equity)

    def update(self, snapshot: PortfolioSnapshot, limits: RiskLimits) -> list[HaltNotice]:
        """Take in a snapshot; return the halts it sets or lifts."""
        notices: list[HaltNotice] = []
        equity = snapshot.equity
        day = snapshot.event_time // NS_PER_DAY
        if day != self.day:
            if self.daily_halt_day is not None and self.daily_halt_day != day:
                self.daily_halt_day = None
                notices.append(
                    HaltNotice(
                        AlertCode.DAILY_LOSS_RESET,
                        AlertSeverity.INFO,
                        "new UTC day: daily loss halt lifted",
                        {"start_of_day_equity": self.last_equity or equity},
                    )
                )
            self.day = day
            self.start_of_day_equity = self.last_equity if self.last_equity is not None else equity
        self.last_equity = equity
        self.equity_curve.append(equity)
        self.peak_equity = equity if self.peak_equity is None else max(self.peak_equity, equity)
        if self.daily_halt_day != day:
            breach = self._daily_breach(limits)
            if breach is not None:
                self.daily_halt_day = day
                notices.append(breach)
        if not self.drawdown_halted and limits.max_drawdown is not None:
            drawdown = self.drawdown
            if drawdown > limits.max_drawdown:
                self.drawdown_halted = True
                notices.append(
                    HaltNotice(
                        AlertCode.DRAWDOWN_LIMIT,
                        AlertSeverity.CRITICAL,
                        f"drawdown {drawdown:.6g} exceeds limits.max_drawdown "
                        f"{limits.max_drawdown:.6g} (peak {self.peak_equity:.2f}, equity "
                        f"{equity:.2f}): only risk-reducing orders until released",
                        {"drawdown": drawdown, "limit": limits.max_drawdown},
                    )
                )
        return notices

    def _daily_breach(self, limits: RiskLimits) -> HaltNotice | None:
        loss = self.daily_loss
        start = self.start_of_day_equity or 0.0
        if limits.max_daily_loss is not None and loss > limits.max_daily_loss:
            limit_text = f"limits.max_daily_loss {limits.max_daily_loss:.2f}"
            limit = limits.max_daily_loss
        elif (
            limits.max_daily_loss_fraction is not None
            and start > 0
            and loss / start > limits.max_daily_loss_fraction
        ):
            limit = limits.max_daily_loss_fraction * start
            limit_text = (
                f"limits.max_daily_loss_fraction {limits.max_daily_loss_fraction:.6g} "
                f"of start-of-day equity {start:.2f}"
            )
        else:
            return None
        return HaltNotice(
            AlertCode.DAILY_LOSS_LIMIT,
            AlertSeverity.CRITICAL,
            f"daily loss {loss:.2f} exceeds {limit_text}: only risk-reducing orders "
            "until the next UTC day",
            {"daily_loss": loss, "limit": limit, "start_of_day_equity": start},
        )

    def active_halts(self, now: int) -> list[tuple[RiskReason, str]]:
        """Loss halts in force at event time ``now``, with a sentence each."""
        halts: list[tuple[RiskReason, str]] = []
        if self.daily_halt_day is not None and self.daily_halt_day == now // NS_PER_DAY:
            halts.append(
                (
                    RiskReason.DAILY_LOSS_LIMIT,
                    f"daily loss halt in force (loss {self.daily_loss:.2f})",
                )
            )
        if self.drawdown_halted:
            halts.append(
                (
                    RiskReason.DRAWDOWN_LIMIT,
                    f"drawdown halt in force (drawdown {self.drawdown:.6g})",
                )
            )
        return halts

    def release(self) -> None:
        """Lift the loss halts; the drawdown peak restarts from the last equity."""
        self.daily_halt_day = None
        self.drawdown_halted = False
        self.peak_equity = self.last_equity
