"""Split the fee defaults into their marketplace and payment parts, so nothing is counted twice.

Until now a store had one fee (percent + fixed) that mixed the marketplace's own fee with the
payment processor's: Shopify's documented 2.9 % + 30¢ and part of Etsy's 9.5 % + 45¢ are payment
fees. Stores whose fee settings equal a marketplace's combined documented default of that time
get the split values of that default (Shopify: no marketplace fee, payment 2.9 % + 0.30; Etsy:
marketplace 6.5 % + 0.20, payment 3 % + 0.25; eBay's default was its marketplace fee alone, which
includes payment processing, and stays). Every other store keeps what the seller typed, now as
its marketplace fee, with no payment fee: we cannot tell how the seller's own figure splits.
The returns allowance starts at 0 everywhere. Running it again changes nothing.
"""

from decimal import Decimal

from django.db import migrations

# marketplace → (combined default as it was, (marketplace %, fixed, payment %, fixed) it becomes)
SPLITS = {
    "shopify": (
        (Decimal("2.90"), Decimal("0.30")),
        (Decimal("0.00"), Decimal("0.00"), Decimal("2.90"), Decimal("0.30")),
    ),
    "etsy": (
        (Decimal("9.50"), Decimal("0.45")),
        (Decimal("6.50"), Decimal("0.20"), Decimal("3.00"), Decimal("0.25")),
    ),
}
FIELDS = ["fee_percent", "fee_fixed", "payment_fee_percent", "payment_fee_fixed"]


def split_fee_defaults(apps, schema_editor):
    StoreAccount = apps.get_model("marketplaces", "StoreAccount")
    for marketplace, ((percent, fixed), split) in SPLITS.items():
        StoreAccount.objects.filter(
            marketplace=marketplace,
            fee_percent=percent,
            fee_fixed=fixed,
            payment_fee_percent=0,
            payment_fee_fixed=0,
        ).update(**dict(zip(FIELDS, split, strict=True)))


def merge_fees(apps, schema_editor):
    """Going back: one fee again, the marketplace's and the payment processor's added up."""
    StoreAccount = apps.get_model("marketplaces", "StoreAccount")
    for store in StoreAccount.objects.exclude(payment_fee_percent=0, payment_fee_fixed=0).iterator():
        store.fee_percent += store.payment_fee_percent
        store.fee_fixed += store.payment_fee_fixed
        store.payment_fee_percent = store.payment_fee_fixed = Decimal("0.00")
        store.save(update_fields=FIELDS)


class Migration(migrations.Migration):
    dependencies = [("marketplaces", "0008_store_payment_fee_returns_allowance")]

    operations = [migrations.RunPython(split_fee_defaults, merge_fees)]
