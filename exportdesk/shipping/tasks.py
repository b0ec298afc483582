"""Background jobs of shipping."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from exportdesk.shipping.parties import consignee_changes_expire


@db_periodic_task(crontab(minute="23"))
def expire_consignee_changes() -> int:
    """Hourly: close consignee changes whose e-mail link lapsed unconfirmed (idempotent)."""
    return consignee_changes_expire()
