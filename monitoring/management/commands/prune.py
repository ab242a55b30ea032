"""manage.py prune [--dry-run]: remove jobs, notifications and audit rows past the retention policy."""

from config.commands import BaseCommand
from monitoring.retention import retention_prune, retention_querysets

LABELS = {"jobs": "Jobs", "notifications": "Notifications", "audit_log": "Audit log rows"}


class Command(BaseCommand):
    help = (
        "Remove Job, Notification and AuditLog rows older than the retention policy (staff set it in the admin). "
        "Price and stock history are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed; remove nothing.")

    def handle(self, *args, dry_run=False, **options):
        days = {table: kept for table, (_queryset, kept) in retention_querysets().items()}
        counts = retention_prune(dry_run=dry_run)
        verb = "would be removed" if dry_run else "removed"
        for table, count in counts.items():
            self.stdout.write(f"{LABELS[table]}: {count} {verb} (older than {days[table]} days)")
        self.stdout.write("Price and stock history are kept.")
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: nothing was removed."))
