"""The ``jules-audit`` command."""

from __future__ import annotations

from jules_runtime.cli import service_cli

from jules_audit.commands import add_audit_commands
from jules_audit.config import AuditSettings

app = service_cli(
    AuditSettings, "Keeps the hash-chained audit record of every event and exports it."
)
add_audit_commands(app)  # verify DIR, export DIR --format csv
main = app
