"""Settings of the audit service (environment prefix ``JULES_AUDIT__``)."""

from __future__ import annotations

from typing import ClassVar

from jules_runtime.settings import ServiceSettings, service_settings_config


class AuditSettings(ServiceSettings):
    """Settings of the audit service."""

    service_name: ClassVar[str] = "audit"
    model_config = service_settings_config("audit")
