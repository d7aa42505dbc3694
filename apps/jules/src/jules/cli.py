"""The ``jules`` command."""

from __future__ import annotations

import typer
from jules_runtime.cli_version import version_option

from jules.audit_cmd import audit_app
from jules.backtest_cmd import backtest
from jules.dlq_cmd import dlq
from jules.fake_exchange_cmd import fake_exchange
from jules.features_cmd import features_app
from jules.replay_cmd import replay
from jules.session_cmd import down, status, up
from jules.shadow_cmd import shadow_report
from jules.strategy_cmd import strategy_app
from jules.swap_cmd import swap_model
from jules.sweep_cmd import sweep

app = typer.Typer(
    name="jules",
    help="IntradayJules: an event-driven intraday trading platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # docstring paragraphs reflowed to the terminal's width
)

app.add_typer(audit_app, name="audit")
app.add_typer(features_app, name="features")
app.add_typer(strategy_app, name="strategy")
app.command()(backtest)
app.command()(replay)
app.command()(sweep)
app.command()(up)
app.command()(status)
app.command()(down)
app.command()(dlq)
app.command("swap-model")(swap_model)
app.command("shadow-report")(shadow_report)
app.command("fake-exchange")(fake_exchange)


@app.callback()
def _root(version: bool = version_option("jules")) -> None:
    """IntradayJules command line."""


def main() -> None:
    """Entry point of the ``jules`` command."""
    app()
