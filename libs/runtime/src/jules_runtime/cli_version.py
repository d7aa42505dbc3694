"""``--version`` for every command (Typer only: the ``jules`` command imports it at start-up)."""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["version_option"]


def version_option(distribution: str) -> Any:
    """A ``--version`` option for a command's callback: prints the distribution's version.

    Use it as the default of a callback parameter (``version: bool = version_option("jules")``).
    """

    def show(value: bool) -> None:
        if value:
            from importlib.metadata import version

            typer.echo(f"{distribution} {version(distribution)}")
            raise typer.Exit()

    return typer.Option(
        False, "--version", callback=show, is_eager=True, help="Print the version and exit."
    )
