"""The daily retention job (imported by the privacy app's `ready()` so Huey registers it)."""

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from exportdesk.privacy.retention import retention_apply


@db_periodic_task(crontab(minute="37", hour="3"))
def apply_retention() -> dict[str, Any]:
    """Daily: apply every retention rule, warn and close unused accounts, erase closed ones.
    Idempotent and safe beside a second worker running it at the same moment."""
    return retention_apply().summary()
