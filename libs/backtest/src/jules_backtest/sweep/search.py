"""The search machinery: trials of a grid or an Optuna study, fanned out over Dask.

``run_search`` evaluates points of a ``Space`` with any picklable function that maps a point
(``{name: value}``) to a mapping of figures, and ranks them by one figure. It serves
``jules sweep`` (a point is a backtest's parameters, the figures its metrics) and the
trainer's hyperparameter search (a point is a set of hyperparameters, the figures a trained
model's validation metrics).

Trials run on a Dask ``distributed`` client: a local cluster by default
(``local_client``), or the scheduler at an address. An Optuna search asks its sampler for a
batch of points, evaluates the batch in parallel and tells the results in trial order, so the
same seed and batch size give the same trials however the workers finish. A trial that raises
or whose figure is undefined is recorded with the reason and does not stop the search.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from jules_contracts import JulesError

from jules_backtest.sweep.space import Space

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "Direction",
    "Evaluate",
    "Method",
    "SearchError",
    "TrialRecord",
    "best_trial",
    "client_threads",
    "local_client",
    "run_search",
]

Method = Literal["grid", "optuna"]
Direction = Literal["maximize", "minimize"]
Evaluate = Callable[[Mapping[str, Any]], Mapping[str, Any]]
"""A trial's function: a point in, its figures out (must be picklable for Dask)."""


class SearchError(JulesError, RuntimeError):
    """A search cannot go on (every trial failed, or the objective names no figure)."""


@dataclass
class TrialRecord:
    """One evaluated point."""

    number: int
    params: dict[str, Any]
    figures: dict[str, Any] = field(default_factory=dict)
    objective: float | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the trial gave a defined objective."""
        return self.objective is not None


def _guarded(evaluate: Evaluate, params: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Run one trial where it is scheduled; an exception becomes its reason, not a crash."""
    clock = time.perf_counter()
    reason: str | None = None
    try:
        figures = dict(evaluate(params))
    except Exception as error:
        last = traceback.extract_tb(error.__traceback__)[-1:]
        where = f" ({last[0].name} line {last[0].lineno})" if last else ""
        figures, reason = {}, f"{type(error).__name__}: {error}{where}"
    figures["_seconds"] = time.perf_counter() - clock
    return figures, reason


def _objective(figures: Mapping[str, Any], key: str) -> float | None:
    value = figures.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@contextmanager
def local_client(
    scheduler: str | None = None, *, workers: int | None = None, threads: int = 1
) -> Iterator[Client]:
    """A Dask client: of the scheduler at ``scheduler``, else of a new local cluster.

    Args:
        scheduler: A running scheduler's address (``tcp://host:8786``); ``None`` starts a
            local cluster of worker processes, closed on exit.
        workers: Worker processes of the local cluster (default: one per core).
        threads: Threads per local worker (1: backtests hold the GIL).
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=threads,
            processes=True,
            dashboard_address=":0",  # a free port: two sweeps at once do not collide
            silence_logs=40,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _evaluate_batch(
    evaluate: Evaluate, points: Sequence[dict[str, Any]], client: Client | None
) -> list[tuple[dict[str, Any], str | None]]:
    """Each point's figures and error, in the points' order."""
    if client is None:
        return [_guarded(evaluate, point) for point in points]
    futures = client.map(_guarded, [evaluate] * len(points), points, pure=False)
    return list(client.gather(futures))


def client_threads(client: Client | None) -> int:
    """Trials the client runs at once (1 without a client)."""
    return sum(client.nthreads().values()) if client is not None else 1


def run_search(
    evaluate: Evaluate,
    space: Space,
    *,
    objective: str,
    direction: Direction = "maximize",
    method: Method = "grid",
    trials: int = 50,
    seed: int = 0,
    batch: int | None = None,
    client: Client | None = None,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> list[TrialRecord]:
    """Evaluate points of ``space`` and return every trial, in trial order.

    Args:
        evaluate: The trial's function (picklable: it is sent to the workers).
        space: The parameters.
        objective: The figure ranked (a key of what ``evaluate`` returns).
        direction: Whether a higher or a lower objective is better.
        method: ``grid`` (every combination) or ``optuna`` (its TPE sampler).
        trials: Optuna: how many points to evaluate (a grid evaluates all).
        seed: Optuna: the sampler's seed.
        batch: Optuna: points evaluated in parallel between two updates of the sampler
            (default: the client's worker threads, or 1 without a client); a grid is sent
            in chunks of four batches.
        client: A Dask client; ``None`` runs the trials in this process.
        on_trial: Called with each finished trial (progress).

    Raises:
        SearchError: No trial gave the objective (it names the figures there are, or the
            first failure's reason).
    """
    records: list[TrialRecord] = []

    def record(
        number: int, point: dict[str, Any], result: tuple[dict[str, Any], str | None]
    ) -> TrialRecord:
        figures, error = result
        seconds = float(figures.pop("_seconds", 0.0))
        value = _objective(figures, objective) if error is None else None
        if error is None and value is None:
            error = f"objective {objective} is undefined (n/a) for this trial"
        trial = TrialRecord(number, point, figures, value, error, seconds)
        records.append(trial)
        if on_trial is not None:
            on_trial(trial)
        return trial

    if method == "grid":
        points = space.grid()
        size = 4 * (batch or client_threads(client))  # chunks, so that progress shows as it goes
        for first in range(0, len(points), size):
            chunk = points[first : first + size]
            for offset, result in enumerate(_evaluate_batch(evaluate, chunk, client)):
                record(first + offset, chunk[offset], result)
    else:
        _optuna_search(evaluate, space, record, direction, trials, seed, batch, client)
    _check(records, objective)
    return records


def _optuna_search(
    evaluate: Evaluate,
    space: Space,
    record: Callable[[int, dict[str, Any], tuple[dict[str, Any], str | None]], TrialRecord],
    direction: Direction,
    trials: int,
    seed: int,
    batch: int | None,
    client: Client | None,
) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed))
    size = batch or client_threads(client)
    done = 0
    while done < trials:
        asked = [study.ask() for _ in range(min(size, trials - done))]
        points = [space.suggest(trial) for trial in asked]
        for trial, point, result in zip(
            asked, points, _evaluate_batch(evaluate, points, client), strict=True
        ):
            outcome = record(trial.number, point, result)
            if outcome.objective is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, outcome.objective)
        done += len(asked)


def _check(records: Sequence[TrialRecord], objective: str) -> None:
    if any(trial.ok for trial in records):
        return
    named = next((t for t in records if t.figures), None)
    if named is not None and objective not in named.figures:
        known = ", ".join(sorted(k for k, v in named.figures.items() if _objective({k: v}, k)))
        raise SearchError(f"objective {objective!r} is not a figure of a trial; there are: {known}")
    first = records[0].error if records else "no trial ran"
    hint = ""
    if named is not None:  # trials ran, and the figure was n/a in every one
        hint = (
            " (an annualised figure such as sharpe is n/a for a window shorter than the metrics'"
            " minimum period: use a longer window or an objective such as total_return)"
        )
    raise SearchError(f"no trial gave the objective {objective}; the first said: {first}{hint}")


def best_trial(records: Sequence[TrialRecord], direction: Direction) -> TrialRecord:
    """The best trial with a defined objective (the earliest among equals).

    Raises:
        SearchError: No trial has one.
    """
    usable = [trial for trial in records if trial.objective is not None]
    if not usable:
        raise SearchError("no trial gave a defined objective")
    sign = 1.0 if direction == "maximize" else -1.0
    return max(usable, key=lambda trial: (sign * (trial.objective or 0.0), -trial.number))
