"""``jules audit``: verify an audit log and export its order records.

Registered by the ``jules`` command as ``app.add_typer(audit_app, name="audit")``; the
commands are the audit service's own (``jules-audit verify`` / ``export``). They are added when
``jules audit`` runs, not when the ``jules`` command is built: they import the audit store, which
the other commands do not need.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context  # the click typer bundles

__all__ = ["audit_app"]


@cache
def _audit_commands() -> TyperGroup:
    """The audit service's commands, as a command group (imported on first use)."""
    from jules_audit.commands import add_audit_commands

    commands = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    add_audit_commands(commands)
    return typer.main.get_group(commands)


class _AuditGroup(TyperGroup):
    """``jules audit``: its commands come from ``jules_audit.commands`` when first asked for."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*super().list_commands(ctx), *_audit_commands().list_commands(ctx)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        return super().get_command(ctx, cmd_name) or _audit_commands().get_command(ctx, cmd_name)


audit_app = typer.Typer(
    name="audit",
    cls=_AuditGroup,
    help="Verify a hash-chained audit log and export its order records (RTS 24 style CSV).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@audit_app.callback()
def _audit() -> None:
    """Verify a hash-chained audit log and export its order records (RTS 24 style CSV)."""
