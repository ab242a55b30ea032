from celery import shared_task

from .services import accounts_purge


@shared_task(name="accounts.tasks.accounts_purge_task")
def accounts_purge_task() -> int:
    """Daily: remove the data of accounts deleted longer ago than staff's grace period."""
    return len(accounts_purge())
