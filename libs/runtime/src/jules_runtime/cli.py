"""The command every service has: ``jules-<service> check-config`` and friends.

``service_cli(SettingsClass)`` builds the service's Typer application; services add their own
commands to it (``run``, ``kill`` …).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer

from jules_runtime.cli_version import version_option
from jules_runtime.errors import ConfigError
from jules_runtime.settings import ServiceSettings, env_prefix, load_settings

S = TypeVar("S", bound=ServiceSettings)

__all__ = ["EXIT_CONFIG_ERROR", "service_cli", "version_option"]

EXIT_CONFIG_ERROR = 2
"""Exit status of a command stopped by an invalid configuration."""


def service_cli(
    settings_cls: type[S], summary: str, create_app: Callable[[S], Any] | None = None
) -> typer.Typer:
    """Build the command-line application of a service.

    Args:
        settings_cls: The service's settings class (its ``service_name`` names the command).
        summary: One line saying what the service does.
        create_app: Builds the service's ASGI app from its settings; gives the ``run`` command.

    Returns:
        A Typer application with ``check-config`` (and ``run`` when ``create_app`` is given).
    """
    name = settings_cls.service_name
    app = typer.Typer(
        name=f"jules-{name}",
        help=f"{summary}\n\nConfigured by environment variables {env_prefix(name)}<SETTING>, "
        "with __ for nesting (for example "
        f"{env_prefix(name)}KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092).",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    distribution = f"jules-{name}"

    @app.callback()
    def _root(version: bool = version_option(distribution)) -> None:
        """Keep sub-commands even while the service has only one."""

    def load() -> S:
        try:
            return load_settings(settings_cls)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(EXIT_CONFIG_ERROR) from exc

    @app.command("check-config")
    def check_config() -> None:
        """Validate the configuration from the environment and print the effective settings."""
        typer.echo(load().model_dump_json(indent=2))

    if create_app is not None:
        build = create_app

        @app.command("run")
        def run() -> None:
            """Run the service: consume, process, publish; serve /health, /ready and /metrics.

            SIGTERM stops it gracefully: consuming stops, in-flight messages finish and are
            committed, connections close.
            """
            from jules_runtime.parent import exit_with_parent
            from jules_runtime.service import serve

            exit_with_parent()  # started by a command: end with it
            settings = load()
            try:
                service_app = build(settings)  # may refuse a setting only it can check
            except ConfigError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(EXIT_CONFIG_ERROR) from exc
            serve(service_app, settings)

    return app
