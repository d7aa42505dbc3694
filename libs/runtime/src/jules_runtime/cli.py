"""The command every service has: ``jules-<service> check-config`` and friends.

``service_cli(SettingsClass)`` builds the service's Typer application; services add their own
commands to it (``run``, ``kill`` …).
"""

from __future__ import annotations

import typer

from jules_runtime.errors import ConfigError
from jules_runtime.settings import ServiceSettings, env_prefix, load_settings

__all__ = ["EXIT_CONFIG_ERROR", "service_cli"]

EXIT_CONFIG_ERROR = 2
"""Exit status of a command stopped by an invalid configuration."""


def service_cli(settings_cls: type[ServiceSettings], summary: str) -> typer.Typer:
    """Build the command-line application of a service.

    Args:
        settings_cls: The service's settings class (its ``service_name`` names the command).
        summary: One line saying what the service does.

    Returns:
        A Typer application with the ``check-config`` command.
    """
    name = settings_cls.service_name
    app = typer.Typer(
        name=f"jules-{name}",
        help=f"{summary}\n\nConfigured by environment variables {env_prefix(name)}<SETTING>, "
        "with __ for nesting (for example "
        f"{env_prefix(name)}KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root() -> None:
        """Keep sub-commands even while the service has only one."""

    @app.command("check-config")
    def check_config() -> None:
        """Validate the configuration from the environment and print the effective settings."""
        try:
            settings = load_settings(settings_cls)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(EXIT_CONFIG_ERROR) from exc
        typer.echo(settings.model_dump_json(indent=2))

    return app
