"""Amazon's template row reads what its buy box says delivery costs ("FREE delivery Friday",
"$5.99 delivery"): the `shipping` selectors, a hint shown beside the seller's shipping figure.

The selectors are appended after whatever the row holds (selectors staff edited stay in front);
undoing removes exactly the selectors added here. A frozen copy of the additions, as shipped.
"""

from django.db import migrations

ADDED = {
    "amazon": {
        "shipping": [
            "#mir-layout-DELIVERY_BLOCK-slot-PRIMARY_DELIVERY_MESSAGE_LARGE",
            "#price-shipping-message",
            "#ourprice_shippingmessage",
            "#deliveryBlockMessage",
        ],
    },
}


def _rows(apps, name):
    Supplier = apps.get_model("catalog", "Supplier")
    return Supplier.objects.filter(name=name, family__isnull=True)


def add_selectors(apps, schema_editor):
    for name, fields in ADDED.items():
        for supplier in _rows(apps, name):
            config = dict(supplier.scraper_config or {})
            selectors = dict(config.get("selectors") or {})
            for field, added in fields.items():
                current = selectors.get(field)
                current = [current] if isinstance(current, str) else list(current or [])
                selectors[field] = current + [spec for spec in added if spec not in current]
            config["selectors"] = selectors
            supplier.scraper_config = config
            supplier.save(update_fields=["scraper_config"])


def remove_selectors(apps, schema_editor):
    for name, fields in ADDED.items():
        for supplier in _rows(apps, name):
            config = dict(supplier.scraper_config or {})
            selectors = dict(config.get("selectors") or {})
            for field, added in fields.items():
                current = selectors.get(field)
                if isinstance(current, list):
                    kept = [spec for spec in current if spec not in added]
                    if kept:
                        selectors[field] = kept
                    else:
                        selectors.pop(field)
            config["selectors"] = selectors
            supplier.scraper_config = config
            supplier.save(update_fields=["scraper_config"])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0011_supplier_costs_shipping_hint_own_shipping")]

    operations = [migrations.RunPython(add_selectors, remove_selectors)]
