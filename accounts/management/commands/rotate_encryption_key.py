import os

from django.conf import settings
from django.core.management.base import CommandError
from django.utils.translation import ngettext

from accounts.encryption import KeyRotationError, derive_key, encryption_key_rotate
from config.commands import BaseCommand


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (store credentials, proxy passwords, two-factor secrets) from the old key in "
        "OLD_CRYPTOGRAPHY_KEY to the current CRYPTOGRAPHY_KEY, in one transaction. Run it after "
        "deploying the new key and before starting the workers."
    )

    def handle(self, *args, **options):
        old_key = os.environ.get("OLD_CRYPTOGRAPHY_KEY", "")
        if not old_key:
            raise CommandError("Set OLD_CRYPTOGRAPHY_KEY to the key the secrets are encrypted with now.")
        if derive_key(old_key) == settings.CRYPTOGRAPHY_KEY:
            raise CommandError("OLD_CRYPTOGRAPHY_KEY equals CRYPTOGRAPHY_KEY: set CRYPTOGRAPHY_KEY to the new key.")
        try:
            count = encryption_key_rotate(old_key=old_key)
        except KeyRotationError as exc:
            raise CommandError(str(exc)) from exc
        done = ngettext(
            "Re-encrypted {count} secret with the new key.", "Re-encrypted {count} secrets with the new key.", count
        )
        self.stdout.write(self.style.SUCCESS(done.format(count=count)))
