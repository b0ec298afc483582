from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from exportdesk.payments.services import (
    declarations_expire,
    deposit_notices_send_now,
    reservations_release,
)


@db_task()
def deposit_notices_send(deposit_ids: list[int]) -> None:
    """E-mail customers whose payments were just confirmed (one task per batch)."""
    deposit_notices_send_now(deposit_ids)


@db_periodic_task(crontab(minute="7"))
def expire_declarations() -> int:
    """Hourly: remove payment declarations the bank has not confirmed in time."""
    return declarations_expire()


@db_periodic_task(crontab(minute="37"))
def release_reservations() -> int:
    """Hourly: put vehicles of unpaid, overdue proformas back on sale."""
    return reservations_release()
