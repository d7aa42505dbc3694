"""The sweep's ``report.html``: the search and the out-of-sample result, as plotly figures.

One self-contained page (plotly.js inline once, fixed element ids, so the same sweep gives
the same page): the objective of every trial with the best so far, the objective against each
parameter, a heatmap of the first two parameters (best objective per cell), and with
walk-forward the in-sample against the out-of-sample objective per fold and the chained
out-of-sample equity curve. plotly is imported when a report is rendered.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from jules_backtest.sweep.runner import SweepResult

__all__ = ["render_sweep_report"]


def _objective_figure(result: SweepResult) -> go.Figure:
    import plotly.graph_objects as go

    metric = result.config.objective.metric
    sign = 1.0 if result.config.objective.direction == "maximize" else -1.0
    figure = go.Figure()
    for fold in result.folds:
        ok = [t for t in fold.trials if t.objective is not None]
        best: list[float] = []
        for trial in ok:
            value = float(trial.objective or 0.0)
            best.append(value if not best else sign * max(sign * best[-1], sign * value))
        label = f"fold {fold.fold.index}" if len(result.folds) > 1 else "trial"
        figure.add_scatter(
            x=[t.number for t in ok],
            y=[t.objective for t in ok],
            mode="markers",
            name=label,
            text=[_point(t.params) for t in ok],
            hovertemplate="trial %{x}<br>" + metric + " %{y:.4g}<br>%{text}<extra></extra>",
        )
        figure.add_scatter(
            x=[t.number for t in ok], y=best, mode="lines", name=f"best so far ({label})"
        )
    figure.update_layout(title=f"{metric} by trial", xaxis_title="trial", yaxis_title=metric)
    return figure


def _point(params: dict[str, Any]) -> str:
    return "<br>".join(f"{html.escape(k)} = {html.escape(str(v))}" for k, v in params.items())


def _parameter_figure(result: SweepResult, name: str) -> go.Figure:
    import plotly.graph_objects as go

    metric = result.config.objective.metric
    trials = [t for fold in result.folds for t in fold.trials if t.objective is not None]
    figure = go.Figure(
        go.Scatter(
            x=[t.params.get(name) for t in trials],
            y=[t.objective for t in trials],
            mode="markers",
            text=[_point(t.params) for t in trials],
            hovertemplate=metric + " %{y:.4g}<br>%{text}<extra></extra>",
        )
    )
    figure.update_layout(title=f"{metric} against {name}", xaxis_title=name, yaxis_title=metric)
    return figure


def _heatmap(result: SweepResult, names: Sequence[str]) -> go.Figure:
    """Best objective for each value pair of the first two parameters."""
    import plotly.graph_objects as go

    first, second = names[0], names[1]
    sign = 1.0 if result.config.objective.direction == "maximize" else -1.0
    cells: dict[tuple[str, str], float] = {}
    for fold in result.folds:
        for trial in fold.trials:
            if trial.objective is None:
                continue
            key = (str(trial.params.get(first)), str(trial.params.get(second)))
            old = cells.get(key)
            if old is None or sign * trial.objective > sign * old:
                cells[key] = trial.objective
    xs = sorted({k[0] for k in cells}, key=_order)
    ys = sorted({k[1] for k in cells}, key=_order)
    z = [[cells.get((x, y)) for x in xs] for y in ys]
    figure = go.Figure(go.Heatmap(x=xs, y=ys, z=z, colorscale="RdYlGn", hoverongaps=False))
    figure.update_layout(
        title=f"best {result.config.objective.metric} by {first} and {second}",
        xaxis_title=first,
        yaxis_title=second,
        xaxis_type="category",
        yaxis_type="category",
    )
    return figure


def _order(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


def _folds_figure(result: SweepResult, data: dict[str, Any]) -> go.Figure:
    import plotly.graph_objects as go

    folds = data["folds"]
    labels = [f"fold {f['fold']}" for f in folds]
    figure = go.Figure()
    figure.add_bar(x=labels, y=[f["in_sample_objective"] for f in folds], name="in sample")
    figure.add_bar(
        x=labels, y=[f.get("out_of_sample_objective") for f in folds], name="out of sample"
    )
    figure.update_layout(
        title=f"{result.config.objective.metric}: in sample against out of sample",
        barmode="group",
    )
    return figure


def _curve_figure(result: SweepResult) -> go.Figure:
    import plotly.graph_objects as go

    times, equity = result.curve
    stamps = [t // 1_000_000 for t in times]  # ms: plotly dates
    figure = go.Figure(go.Scatter(x=stamps, y=equity, mode="lines", name="equity"))
    for fold in result.folds:
        if fold.fold.out_of_sample is not None:
            figure.add_vline(x=fold.fold.out_of_sample[0] // 1_000_000, line_dash="dot")
    figure.update_layout(title="chained out-of-sample equity", xaxis_type="date")
    return figure


def _table(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _figures(result: SweepResult, data: dict[str, Any]) -> list[go.Figure]:
    names = list(result.config.parameters.parameters)
    figures = [_objective_figure(result)]
    figures += [_parameter_figure(result, name) for name in names]
    if len(names) >= 2:
        figures.append(_heatmap(result, names))
    if result.config.walk_forward is not None:
        figures += [_folds_figure(result, data), _curve_figure(result)]
    return figures


def render_sweep_report(result: SweepResult, data: dict[str, Any]) -> str:
    """The report page of a sweep, from its result and summary (``outputs.summary``)."""
    import plotly.io as pio

    divs = []
    for index, figure in enumerate(_figures(result, data)):
        figure.update_layout(template="plotly_white", height=420, margin={"t": 50})
        divs.append(
            pio.to_html(
                figure,
                full_html=False,
                include_plotlyjs=index == 0,
                div_id=f"sweep-plot-{index}",
                config={"displaylogo": False, "responsive": True},
            )
        )
    facts = [
        ("objective", f"{data['objective']['direction']} {data['objective']['metric']}"),
        ("search", f"{data['search']['method']}, {data['trials']} trials"),
        ("best point", ", ".join(f"{k} = {v}" for k, v in data["best_params"].items())),
    ]
    for fold in data["folds"]:
        facts.append(
            (
                f"fold {fold['fold']}",
                f"in sample {fold['in_sample'][0] or 'start'} → {fold['in_sample'][1] or 'end'}: "
                f"best {fold['in_sample_objective']:.4g}"
                + (
                    f"; out of sample → {fold['out_of_sample'][1]}: "
                    f"{_number(fold.get('out_of_sample_objective'))}"
                    if "out_of_sample" in fold
                    else ""
                ),
            )
        )
    oos = data.get("out_of_sample") or {}
    oos_rows = [(k, _number(v)) for k, v in sorted(oos.items())]
    runs = [html.escape(f["run_dir"]) for f in data["folds"] if "run_dir" in f]
    links = "".join(f'<li><a href="{run}/report.html">{run}</a></li>' for run in runs)
    title = html.escape(f"IntradayJules sweep: {result.config.name}")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title><style>body{{font-family:system-ui,sans-serif;margin:1.5rem;"
        "max-width:1200px}th{text-align:left;padding-right:1rem}td,th{padding:2px 6px}</style>"
        f"</head><body><h1>{title}</h1>{_table(facts)}"
        + (f"<h2>Out of sample (chained folds)</h2>{_table(oos_rows)}" if oos_rows else "")
        + f"<h2>Runs of the best points</h2><ul>{links}</ul>"
        + "".join(divs)
        + "</body></html>\n"
    )


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
