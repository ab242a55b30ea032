"""More of Amazon's and Costco's page layouts in the family template rows' selectors.

Amazon: the twister's price data and the buy box form's own price (and their currency), the 2013–2018 mobile, classic
desktop and mobile Kindle layouts (title, price, availability, rating, review count, ASIN), the Add
to Cart button as the last availability sign, and the parent product's "To buy, select Size" buy
box as the `variant_unselected` marker. Costco: the 2017 price table and its stock data.

Every change appends selectors to a field's list (or adds a field), so the new ones are added after
whatever the row holds: selectors staff edited stay as they are, in front. Undoing removes exactly
the selectors added here. A frozen copy of the additions, as shipped with this migration.
"""

from django.db import migrations

ADDED = {
    "amazon": {
        "title": ["#ebooksTitle", "#product-title", "#btAsinTitle", "#udp h1"],
        "price": [
            "#twister-plus-price-data-price@value",
            '#qualifiedBuybox input[name$="[customerVisiblePrice][amount]"]@value',
            "#actualPriceValue",
            "#prices #price",
            "#prices td.a-color-price",
            ".kindle-price .price-value",
        ],
        "currency": [
            "#twister-plus-price-data-price-unit@value",
            '#qualifiedBuybox input[name$="[customerVisiblePrice][currencyCode]"]@value',
        ],
        "availability": [
            "#scarcity",
            ".buying .availGreen, .buying .availOrange, .buying .availRed",
            "#add-to-cart-button@value",
        ],
        "rating": [
            "#acrCustomerReviewLink .a-icon-alt",
            ".crAvgStars .swSprite@title",
            "#rating-stars span[title]@title",
            "#universal-glance-reviews-features .a-icon-row span",
        ],
        "reviews_count": ["#rating-stars .review-count", "#rating-stars a", ".crAvgStars > a"],
        "product_id": ["#twister-plus-asin@value", "#desktop_qualifiedBuyBox@data-csa-c-asin", 'input[name="a"]@value'],
        "variant_unselected": ["#partialStateBuybox"],
    },
    "costco": {
        "price": ["#math-table .your-price .value"],
        "availability": ["#math-table [data-inv]@data-inv", "#add-to-cart input@value"],
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
                    if kept or field != "variant_unselected":
                        selectors[field] = kept
                    else:
                        selectors.pop(field)
            config["selectors"] = selectors
            supplier.scraper_config = config
            supplier.save(update_fields=["scraper_config"])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_product_identity_overrides_wrong_product")]

    operations = [migrations.RunPython(add_selectors, remove_selectors)]
