from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from exportdesk.accounts.services import security_events_purge


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_security_events() -> int:
    """Daily: delete sign-in and credential events older than the retention period."""
    return security_events_purge()
