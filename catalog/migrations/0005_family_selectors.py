"""Selectors and URL patterns of the four supplier family template rows (amazon, aliexpress,
costco, generic).

Writes "hosts", "product_id_patterns" and "selectors" into each template row's scraper_config,
keeping any other keys (headers, …) staff or other migrations put there. A frozen copy of
catalog.extraction.families.FAMILY_CONFIGS as shipped with this migration; later changes to the
shipped selectors come with a migration of their own.
"""

from django.db import migrations

FAMILY_CONFIGS = {
    "amazon": {
        "hosts": ["(^|\\.)amazon\\.[a-z.]+$", "(^|\\.)amzn\\.(to|eu|asia|com)$", "^a\\.co$"],
        "product_id_patterns": [
            "(?i)/(?:dp|gp/product|gp/aw/d|gp/offer-listing|product-reviews|exec/obidos/ASIN|o/ASIN)/([A-Z0-9]{10})(?:[/?#]|$)",
            "^/([A-Z0-9]{10})(?:[/?#]|$)",
        ],
        "selectors": {
            "title": ["#productTitle", "#ebooksProductTitle", "#title"],
            "price": [
                "#corePriceDisplay_desktop_feature_div .priceToPay",
                "#corePriceDisplay_desktop_feature_div .apexPriceToPay",
                "#corePrice_desktop .apexPriceToPay",
                "#corePrice_feature_div .a-price:not(.a-text-price)",
                "#priceblock_dealprice",
                "#priceblock_saleprice",
                "#priceblock_ourprice",
                "#priceblock_pospromoprice",
                "#newBuyBoxPrice",
                "#price_inside_buybox",
                "#buyNewSection .offer-price",
                "#newOfferAccordionRow .header-price",
                "#mediaNoAccordion .header-price",
                "#kindle-price",
                "#buybox tr.kindle-price .a-color-price",
            ],
            "currency": [],
            "availability": ["#availability", "#outOfStock", "#availability_feature_div"],
            "rating": [
                "#acrPopover@title",
                "#acrPopover .a-icon-alt",
                "#averageCustomerReviews .a-icon-alt",
                "[data-hook=rating-out-of-text]",
            ],
            "reviews_count": ["#acrCustomerReviewText", "[data-hook=total-review-count]"],
            "images": [
                "#landingImage@data-old-hires",
                "#landingImage@data-a-dynamic-image",
                "#imgBlkFront@data-a-dynamic-image",
                "#ebooksImgBlkFront@data-a-dynamic-image",
                "#main-image@data-a-dynamic-image",
                "#landingImage@src",
            ],
            "description": [
                "#productDescription",
                "#feature-bullets",
                "#bookDescription_feature_div noscript",
                "#bookDescription_feature_div .a-expander-content",
            ],
            "product_id": ["input#ASIN@value", 'input[name="ASIN"]@value', 'input[name="ASIN.0"]@value'],
            "canonical_url": ['link[rel="canonical"]@href'],
            "blocked": ["#captchacharacters"],
        },
    },
    "aliexpress": {
        "hosts": ["(^|\\.)aliexpress\\.[a-z.]+$"],
        "product_id_patterns": ["/item/(?:[^/]*/)?(\\d+)\\.html"],
        "selectors": {
            "title": ['h1[data-pl="product-title"]', ".product-title-text", ".product-title"],
            "price": [
                ".product-price-current .product-price-value",
                ".product-price-current",
                ".uniform-banner-box-price",
                '[class*="price--currentPriceText"]',
                '[class*="price-default--current"]',
            ],
            "currency": [],
            "availability": [
                '.product-price-current meta[itemprop="availability"]@content',
                '[itemprop="offers"] link[itemprop="availability"]@href',
            ],
            "rating": [".overview-rating-average", '[class*="reviewer--rating"] strong'],
            "reviews_count": [".product-reviewer-reviews", '[class*="reviewer--reviews"]'],
            "images": [".images-view-item img@src", ".magnifier-image@src", '[class*="slider--img"] img@src'],
            "description": [],
            "product_id": [],
            "canonical_url": ['link[rel="canonical"]@href', 'meta[property="og:url"]@content'],
            "blocked": ["#nocaptcha", "#nc_1_n1z", "#fm-login-id"],
        },
    },
    "costco": {
        "hosts": ["(^|\\.)costco\\.(com|ca|co\\.uk|com\\.au|co\\.jp|com\\.mx|co\\.kr|com\\.tw)$"],
        "product_id_patterns": ["\\.product\\.(\\d+)\\.html"],
        "selectors": {
            "title": ['h1[automation-id="productName"]', 'h1[itemprop="name"]', ".product-h1-container h1"],
            "price": [
                '[automation-id="productPriceOutput"]',
                "#pull-right-price .value",
                'meta[property="product:price:amount"]@content',
            ],
            "currency": ['meta[property="product:price:currency"]@content'],
            "availability": ['meta[property="og:availability"]@content'],
            "rating": [],
            "reviews_count": [],
            "images": ["#initialProductImage@src", 'meta[property="og:image"]@content'],
            "description": [],
            "product_id": [],
            "canonical_url": ['link[rel="canonical"]@href'],
            "blocked": [],
        },
    },
    "generic": {
        "hosts": [],
        "product_id_patterns": [],
        "selectors": {
            "title": [],
            "price": [],
            "currency": [],
            "availability": [],
            "rating": [],
            "reviews_count": [],
            "images": [],
            "description": [],
            "product_id": [],
            "canonical_url": [],
            "blocked": [],
        },
    },
}


def write_configs(apps, schema_editor):
    Supplier = apps.get_model("catalog", "Supplier")
    for name, shipped in FAMILY_CONFIGS.items():
        for supplier in Supplier.objects.filter(name=name, family__isnull=True):
            config = dict(supplier.scraper_config or {})
            config.update(shipped)
            supplier.scraper_config = config
            supplier.save(update_fields=["scraper_config"])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_proxy_consecutive_failures_rate_limit_state")]

    operations = [migrations.RunPython(write_configs, migrations.RunPython.noop)]
