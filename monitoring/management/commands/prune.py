"""manage.py prune [--dry-run]: remove jobs, notifications and audit rows past the retention policy,
wipe the buyers' ship-to addresses of orders closed longer ago than it says, and remove the seller
API's idempotency keys past their window."""

from config.commands import BaseCommand
from monitoring.retention import retention_prune, retention_querysets

LABELS = {
    "jobs": "Jobs",
    "notifications": "Notifications",
    "audit_log": "Audit log rows",
    "order_addresses": "Buyers' ship-to addresses",
    "api_idempotency_keys": "API idempotency keys",
}
# (dry-run verb, verb, how the age reads) where it differs from removing old rows.
VERBS = {"order_addresses": ("would be wiped", "wiped", "more than {days} days after shipping or cancellation")}


class Command(BaseCommand):
    help = (
        "Remove Job, Notification and AuditLog rows older than the retention policy (staff set it in the admin) "
        "and wipe buyers' ship-to addresses from orders closed longer ago. Price and stock history are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed; remove nothing.")

    def handle(self, *args, dry_run=False, **options):
        days = {table: kept for table, (_queryset, kept) in retention_querysets().items()}
        counts = retention_prune(dry_run=dry_run)
        for table, count in counts.items():
            dry, done, age = VERBS.get(table, ("would be removed", "removed", "older than {days} days"))
            verb = dry if dry_run else done
            self.stdout.write(f"{LABELS[table]}: {count} {verb} ({age.format(days=days[table])})")
        self.stdout.write("Price and stock history are kept.")
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: nothing was removed."))
