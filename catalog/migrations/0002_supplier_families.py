"""The four supplier family template rows (amazon, aliexpress, costco, generic).

amazon, aliexpress and costco are also their main site; the catalog issue refines the selectors.
"""

from django.db import migrations

FAMILIES = [
    {
        "name": "amazon",
        "base_url": "https://www.amazon.com",
        "currency": "USD",
        "rate_limit": 20,
        "scraper_config": {
            "hosts": [r"(^|\.)amazon\.[a-z.]+$", r"(^|\.)amzn\.(to|eu|asia)$", r"^a\.co$"],
            "product_id_patterns": [
                r"/(?:dp|gp/product|gp/aw/d|exec/obidos/ASIN|o/ASIN)/([A-Z0-9]{10})(?:[/?]|$)",
                r"/([A-Z0-9]{10})(?:[/?]|$)",
            ],
            "selectors": {},
        },
    },
    {
        "name": "aliexpress",
        "base_url": "https://www.aliexpress.com",
        "currency": "USD",
        "rate_limit": 20,
        "scraper_config": {
            "hosts": [r"(^|\.)aliexpress\.[a-z.]+$"],
            "product_id_patterns": [r"/item/(?:[^/]*/)?(\d+)\.html"],
            "selectors": {},
        },
    },
    {
        "name": "costco",
        "base_url": "https://www.costco.com",
        "currency": "USD",
        "rate_limit": 10,
        "scraper_config": {
            "hosts": [r"(^|\.)costco\.(com|ca|co\.uk|com\.au|co\.jp|com\.mx|co\.kr|com\.tw)$"],
            "product_id_patterns": [r"\.product\.(\d+)\.html"],
            "selectors": {},
        },
    },
    {
        "name": "generic",
        "base_url": "https://example.com",
        "currency": "",
        "rate_limit": 30,
        "scraper_config": {"hosts": [], "product_id_patterns": [], "selectors": {}},
    },
]


def create_families(apps, schema_editor):
    Supplier = apps.get_model("catalog", "Supplier")
    for family in FAMILIES:
        Supplier.objects.update_or_create(name=family["name"], defaults={**family, "family": None})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(create_families, migrations.RunPython.noop)]
