"""``jules audit``: verify an audit log and export its order records.

Registered by the ``jules`` command as ``app.add_typer(audit_app, name="audit")``; the
commands are the audit service's own (``jules-audit verify`` / ``export``).
"""

from __future__ import annotations

import typer
from jules_audit.commands import add_audit_commands

__all__ = ["audit_app"]

audit_app = typer.Typer(
    name="audit",
    help="Verify a hash-chained audit log and export its order records (RTS 24 style CSV).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
add_audit_commands(audit_app)
