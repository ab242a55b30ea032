"""A listed product is always in its seller's tracked set (the schedule asks only who tracks a
product). Products kept alive until now only by a live listing are added to their seller's set,
even above the plan's limit: they are grandfathered; the limit applies to new additions."""

from django.db import migrations

LIVE = ("pending", "active", "paused")


def track_listed_products(apps, schema_editor):
    Listing = apps.get_model("marketplaces", "Listing")
    User = apps.get_model("accounts", "User")
    Tracked = User.tracked_products.through
    pairs = Listing.objects.filter(status__in=LIVE).values_list("user_id", "product_id").distinct()
    Tracked.objects.bulk_create(  # pairs already tracked stay as they are (the table is unique on them)
        [Tracked(user_id=user_id, product_id=product_id) for user_id, product_id in pairs.iterator()],
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("catalog", "0008_product_identity_overrides_wrong_product"),
        ("marketplaces", "0003_listing_status_reason_wrong_product"),
    ]

    operations = [migrations.RunPython(track_listed_products, migrations.RunPython.noop)]
