"""Exceptions of the runtime. Each also inherits the builtin it refines."""

from __future__ import annotations

from jules_contracts.errors import JulesError

__all__ = ["ConfigError", "JulesError"]


class ConfigError(JulesError, ValueError):
    """A service's configuration is invalid; the message names each bad setting and value.

    Attributes:
        service: The service whose configuration failed.
        problems: One line per bad setting (``JULES_RISK__KAFKA__LINGER_MS='x': ...``).
    """

    def __init__(self, service: str, problems: list[str]) -> None:
        self.service = service
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid configuration for service '{service}':\n{lines}")
