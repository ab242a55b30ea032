from accounts.services import accounts_purge
from config.commands import BaseCommand


class Command(BaseCommand):
    help = (
        "Remove the accounts deleted longer ago than the grace period staff set (Account policy in the "
        "admin), with all their data. Beat runs it daily. --dry-run only lists them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the accounts that are due; remove nothing.")

    def handle(self, *args, dry_run, **options):
        ids = accounts_purge(dry_run=dry_run)
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(f"{verb} {len(ids)} deleted account(s){': ' + ', '.join(map(str, ids)) if ids else '.'}")
