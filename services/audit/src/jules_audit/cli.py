"""The ``jules-audit`` command: ``run``, ``check-config``, ``verify`` and ``export``."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_audit.app import create_app
from jules_audit.commands import add_audit_commands
from jules_audit.config import AuditSettings

app = service_cli(
    AuditSettings,
    create_app=create_app,
    summary="Keeps the hash-chained audit record of every event and exports it.",
)
add_audit_commands(app)  # verify DIR, export DIR --format csv
main = app
