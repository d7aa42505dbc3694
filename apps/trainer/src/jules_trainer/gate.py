"""The promotion gate: an out-of-sample backtest of a registered model against thresholds.

``run_gate`` backtests the version's ONNX model in embedded mode (``jules_backtest``, the same
simulator, fees, risk and sizing as any backtest) on the test window of the fold whose model
was exported: the last fold of its experiment record (``experiment["folds"][-1]["test"]``, ISO
``[start, end)`` by bar close; training exports the last fold's model, trained on the most
recent data). The earlier folds' test windows precede that model's training data, so they are
not out of sample for it and are not backtested. The data, risk, execution and account
sections come from the training configuration stored under ``experiment["config"]``. The run
folder is written under ``<version>/gate/fold-<i>/``; a gate run again replaces its earlier
run's files there and nothing else (the backtest's rule, ``jules_backtest.run.RUN_FOLDER``).
The features warm up inside the window (no bar before the window is read), so the backtest
sees nothing of the training or validation data.

The fold passes when, on its test window:

- ``sharpe >= min_sharpe`` (an undefined Sharpe ratio, e.g. a flat equity curve, fails), the
  Sharpe ratio being the backtest's (``basis`` ``daily``: from daily returns, annualised over
  365 days) when the window holds at least the backtest's ``min_days`` daily returns (30), and
  otherwise the window's per-bar Sharpe ratio (``basis`` ``bars``: the returns of every
  equity point, annualised by their count over the window's elapsed years, as the training's
  ``test.sharpe``): walk-forward test windows are often hours or days long, for which the
  backtest reports no annualised figure. On such a window the ratio is noisy (its standard
  error is about ``1 / sqrt(years)``, +-7 for a week), so set ``min_sharpe`` accordingly;
- ``|max_drawdown| <= max_drawdown`` (the backtest reports drawdowns as negative fractions;
  the threshold is a positive fraction, ``0.2`` for 20 %),
- ``trade_count >= min_trades`` (closed round trips).

The result (``folds`` holds that one fold, with the Sharpe ratio read and its basis under
``sharpe``) is stored as the version's ``gate.json`` and is what ``ModelRegistry.promote``
checks.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from jules_backtest.metrics import MIN_DAYS, bar_sharpe
from jules_backtest.run import run_backtest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jules_trainer.config import TrainConfig
from jules_trainer.registry import ModelRegistry, RegistryError

__all__ = [
    "GATE_DIR",
    "FoldGate",
    "GateConfig",
    "GateError",
    "GateResult",
    "GateSharpe",
    "check_fold",
    "fold_sharpe",
    "run_gate",
]

GATE_DIR = "gate"
"""Folder of the gate's backtest runs inside a version's folder."""


class GateError(RegistryError):
    """The gate could not run (no test window or no training config recorded, bad data)."""


class GateConfig(BaseModel):
    """Thresholds of the promotion gate, applied to the exported model's test fold.

    Attributes:
        min_sharpe: Lowest annualised Sharpe ratio accepted (daily, or per bar on a window
            shorter than the backtest's ``min_days``: module docstring).
        max_drawdown: Largest drawdown accepted, as a positive fraction (``0.2`` = 20 %).
        min_trades: Fewest closed round trips accepted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_sharpe: Annotated[float, Field(allow_inf_nan=False)]
    max_drawdown: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    min_trades: Annotated[int, Field(ge=0)] = 1


@dataclass(frozen=True)
class GateSharpe:
    """The Sharpe ratio the gate reads on a fold.

    Attributes:
        value: The ratio (``None``: undefined, no return variation).
        basis: ``daily``, the backtest's ``sharpe`` (from daily returns); ``bars``, the
            window's per-bar Sharpe ratio, for a window with fewer daily returns than the
            backtest's ``min_days`` (module docstring).
    """

    value: float | None
    basis: Literal["daily", "bars"] = "daily"


@dataclass(frozen=True)
class FoldGate:
    """The gate on a test fold.

    Attributes:
        index: Fold index (as in the experiment record).
        window: ``(start, end)`` of the test window, ISO-8601.
        metrics: The backtest's metrics (``metrics.json``).
        passed: Whether every threshold held.
        reasons: What failed (empty when passed).
        run_dir: The backtest's run folder.
        sharpe: The Sharpe ratio the gate read (default: the metrics' ``sharpe``).
    """

    index: int
    window: tuple[str, str]
    metrics: dict[str, Any]
    passed: bool
    reasons: list[str]
    run_dir: Path
    sharpe: GateSharpe | None = None

    @property
    def gate_sharpe(self) -> GateSharpe:
        """The Sharpe ratio the gate read (``sharpe``, or the metrics' daily one)."""
        return self.sharpe or GateSharpe(self.metrics.get("sharpe"))


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict on a model version (the content of ``gate.json``).

    Attributes:
        name: Model name.
        version: Model version.
        passed: Whether every gated fold passed.
        thresholds: The thresholds applied.
        folds: Per-fold results (the exported model's fold; ``run_gate`` gates only that one).
        at: When the gate ran, ISO-8601 UTC.
    """

    name: str
    version: str
    passed: bool
    thresholds: GateConfig
    folds: tuple[FoldGate, ...]
    at: str

    @property
    def reasons(self) -> list[str]:
        """Every failure, prefixed with its fold (empty when passed)."""
        return [f"fold {fold.index}: {reason}" for fold in self.folds for reason in fold.reasons]

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """The metrics of each fold, by fold index (as a string)."""
        return {str(fold.index): fold.metrics for fold in self.folds}

    @property
    def window(self) -> tuple[str, str]:
        """From the first test window's start to the last one's end."""
        return (self.folds[0].window[0], self.folds[-1].window[1])

    @property
    def run_dir(self) -> Path:
        """The folder holding every fold's run (``<version>/gate``)."""
        return self.folds[0].run_dir.parent

    def to_json(self) -> dict[str, Any]:
        """The ``gate.json`` content."""
        return {
            "name": self.name,
            "version": self.version,
            "passed": self.passed,
            "thresholds": self.thresholds.model_dump(mode="json"),
            "reasons": self.reasons,
            "window": list(self.window),
            "at": self.at,
            "folds": [
                {
                    "index": fold.index,
                    "window": list(fold.window),
                    "passed": fold.passed,
                    "reasons": fold.reasons,
                    "metrics": fold.metrics,
                    "sharpe": {
                        "value": fold.gate_sharpe.value,
                        "basis": fold.gate_sharpe.basis,
                    },
                    "run_dir": str(fold.run_dir),
                }
                for fold in self.folds
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateResult:
        """Read a ``gate.json`` content back.

        Raises:
            KeyError: A field is missing.
            pydantic.ValidationError: The thresholds are invalid.
        """
        return cls(
            name=data["name"],
            version=data["version"],
            passed=bool(data["passed"]),
            thresholds=GateConfig.model_validate(data["thresholds"]),
            folds=tuple(
                FoldGate(
                    index=int(fold["index"]),
                    window=(fold["window"][0], fold["window"][1]),
                    metrics=dict(fold["metrics"]),
                    passed=bool(fold["passed"]),
                    reasons=list(fold["reasons"]),
                    run_dir=Path(fold["run_dir"]),
                    sharpe=GateSharpe(**fold["sharpe"]) if "sharpe" in fold else None,
                )
                for fold in data["folds"]
            ),
            at=data["at"],
        )


def fold_sharpe(metrics: dict[str, Any], run_dir: Path) -> GateSharpe:
    """The Sharpe ratio the gate reads on a fold's backtest (module docstring).

    Args:
        metrics: The backtest's metrics (``sharpe``, ``days``, ``min_days``).
        run_dir: Its run folder, whose ``equity.csv`` gives the per-bar returns of a window
            shorter than ``min_days``.
    """
    if int(metrics.get("days") or 0) >= int(metrics.get("min_days") or MIN_DAYS):
        return GateSharpe(metrics.get("sharpe"), "daily")
    with (run_dir / "equity.csv").open(newline="") as handle:
        points = [
            (row["time"].removesuffix("Z"), float(row["equity"])) for row in csv.DictReader(handle)
        ]
    if len(points) < 2:
        return GateSharpe(None, "bars")
    times = np.array([time for time, _ in points], dtype="datetime64[ns]").astype(np.int64)
    curve = np.array([equity for _, equity in points])
    return GateSharpe(bar_sharpe(curve[1:] / curve[:-1] - 1.0, float(times[-1] - times[0])), "bars")


def check_fold(
    metrics: dict[str, Any], gate: GateConfig, sharpe: GateSharpe | None = None
) -> list[str]:
    """The thresholds a fold's backtest metrics miss (empty when all hold).

    A window without bars fails with that one reason.

    Args:
        metrics: The backtest's metrics (``sharpe``, ``max_drawdown`` as a negative fraction,
            ``trade_count``, ``days``, ``min_days``).
        gate: The thresholds.
        sharpe: The Sharpe ratio to judge (``fold_sharpe``; default: the metrics' ``sharpe``).
    """
    if not metrics.get("periods"):
        return ["no bars in the test window"]
    reasons = []
    judged = sharpe or GateSharpe(metrics.get("sharpe"))
    basis = ""
    if judged.basis == "bars":
        days = int(metrics.get("days") or 0)
        needed = int(metrics.get("min_days") or MIN_DAYS)
        basis = f" (per bar; the window has {days} of the {needed} days a daily Sharpe needs)"
    if judged.value is None:
        reasons.append(
            f"sharpe undefined{basis} (no return variation) where at least "
            f"{gate.min_sharpe:g} is needed"
        )
    elif judged.value < gate.min_sharpe:
        reasons.append(f"sharpe {judged.value:.4g}{basis} below the minimum {gate.min_sharpe:g}")
    drawdown = abs(float(metrics.get("max_drawdown") or 0.0))
    if drawdown > gate.max_drawdown:
        reasons.append(f"max drawdown {drawdown:.2%} beyond the limit {gate.max_drawdown:.2%}")
    trades = int(metrics.get("trade_count") or 0)
    if trades < gate.min_trades:
        reasons.append(f"{trades} trades, fewer than the minimum {gate.min_trades}")
    return reasons


def _exported_test_window(
    name: str, version: str, experiment: dict[str, Any]
) -> tuple[int, str, str]:
    """``(index, start, end)`` of the last fold's test window: the exported model's fold."""
    label = f"model {name} version {version}"
    folds = experiment.get("folds")
    if not isinstance(folds, list) or not folds:
        raise GateError(f"{label}: its experiment record lists no folds with a test window")
    position = len(folds) - 1
    fold = folds[position]
    try:
        start, end = fold["test"]
        return int(fold.get("index", position)), str(start), str(end)
    except (KeyError, TypeError, ValueError) as error:
        raise GateError(
            f"{label}: fold {position} of its experiment record has no [start, end] test "
            f"window ({error!r})"
        ) from error


def run_gate(
    registry: ModelRegistry,
    name: str,
    version: str,
    gate: GateConfig,
    *,
    now: datetime | None = None,
) -> GateResult:
    """Backtest a registered version on its exported fold's test window, judge it, store it.

    The result is written as the version's ``gate.json`` (module docstring).

    Args:
        registry: The registry holding the version.
        name: Model name.
        version: Model version.
        gate: The thresholds.
        now: The time recorded as ``at`` (default: UTC now).

    Returns:
        The result (also written to the version's ``gate.json``).

    Raises:
        RegistryError: No such version.
        GateError: The experiment record has no test window or no valid training config, or
            the backtest could not run (the message names the model, version and fold).
    """
    model = registry.get(name, version)
    label = f"model {name} version {version}"
    index, start, end = _exported_test_window(name, version, model.experiment)
    try:
        config = TrainConfig.model_validate(model.experiment.get("config"))
    except ValidationError as error:
        raise GateError(
            f"{label}: its experiment record has no valid training config: {error}"
        ) from error
    run_dir = model.path / GATE_DIR / f"fold-{index}"
    try:
        backtest = config.backtest_config(
            model=model.onnx_path, start=start, end=end, output_dir=run_dir
        )
        summary = run_backtest(backtest)
    except (ValueError, OSError) as error:
        raise GateError(f"{label}: the backtest of fold {index} failed: {error}") from error
    metrics = dict(summary.metrics)
    sharpe = fold_sharpe(metrics, summary.run_dir)
    reasons = check_fold(metrics, gate, sharpe)
    fold = FoldGate(
        index=index,
        window=(start, end),
        metrics=metrics,
        passed=not reasons,
        reasons=reasons,
        run_dir=summary.run_dir,
        sharpe=sharpe,
    )
    result = GateResult(
        name=name,
        version=version,
        passed=fold.passed,
        thresholds=gate,
        folds=(fold,),
        at=(now or datetime.now(UTC)).astimezone(UTC).isoformat(),
    )
    registry.write_gate(name, version, result.to_json())
    return result
