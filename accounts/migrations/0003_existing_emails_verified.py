"""Accounts made before email verification count as verified: each gets its address recorded as
confirmed and primary where allauth records it (account.EmailAddress)."""

from django.db import migrations


def existing_emails_verified(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    known = set(EmailAddress.objects.values_list("user_id", flat=True))
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(user_id=user_id, email=email.lower(), verified=True, primary=True)
            for user_id, email in User.objects.exclude(pk__in=known).values_list("pk", "email").iterator()
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_account_security"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(existing_emails_verified, migrations.RunPython.noop)]
