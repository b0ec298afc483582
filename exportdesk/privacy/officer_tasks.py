"""The privacy officer's daily reminders (imported by the privacy app so Huey registers them)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from exportdesk.privacy.request_actions import privacy_reminders_send


@db_periodic_task(crontab(hour="7", minute="15"))
def send_privacy_reminders() -> int:
    """Daily: tell the privacy officers what is due within 7 and 2 days, and what is overdue."""
    return privacy_reminders_send()
