"""The scraper_config of each supplier family's template row, as shipped.

The database rows are what extraction uses (staff can edit them in the admin without a deploy);
migration 0005 writes these values onto the template rows, and a test keeps the two in step.
Code that has no database at hand (tests, `identify` without arguments) uses this copy.

Shape: "hosts" (regexes a host must match), "product_id_patterns" (regexes searched in the URL
path, group 1 is the product id), "selectors" (per field, CSS selectors tried in order; see
catalog.extraction.selectors).
"""

AMAZON = {
    "hosts": [r"(^|\.)amazon\.[a-z.]+$", r"(^|\.)amzn\.(to|eu|asia|com)$", r"^a\.co$"],
    "product_id_patterns": [
        r"(?i)/(?:dp|gp/product|gp/aw/d|gp/offer-listing|product-reviews|exec/obidos/ASIN|o/ASIN)/([A-Z0-9]{10})(?:[/?#]|$)",
        r"^/([A-Z0-9]{10})(?:[/?#]|$)",
    ],
    "selectors": {
        # Current layouts, then the 2018 mobile Kindle, 2014 mobile, 2013 desktop and 2013 mobile ones.
        "title": [
            "#productTitle",
            "#ebooksProductTitle",
            "#title",
            "#ebooksTitle",
            "#product-title",
            "#btAsinTitle",
            "#udp h1",
        ],
        # The buy box price; deal price before list price; never another widget's .a-price. Then the
        # twister's data for the selected variant and the buy box form's own price, then the old
        # layouts (2013 desktop price block, 2013/2014 mobile price tables, 2018 mobile Kindle).
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
            "#twister-plus-price-data-price@value",
            '#qualifiedBuybox input[name$="[customerVisiblePrice][amount]"]@value',
            "#actualPriceValue",
            "#prices #price",
            "#prices td.a-color-price",
            ".kindle-price .price-value",
        ],
        # For the prices above that are bare numbers (the twister's data, the buy box form's).
        "currency": [
            "#twister-plus-price-data-price-unit@value",
            '#qualifiedBuybox input[name$="[customerVisiblePrice][currencyCode]"]@value',
        ],
        "availability": [
            "#availability",
            "#outOfStock",
            "#availability_feature_div",
            "#scarcity",
            ".buying .availGreen, .buying .availOrange, .buying .availRed",
            "#add-to-cart-button@value",  # no availability text: the buy box's Add to Cart button
        ],
        # What the buy box says delivery costs ("FREE delivery Friday", "$5.99 delivery"): a hint only.
        "shipping": [
            "#mir-layout-DELIVERY_BLOCK-slot-PRIMARY_DELIVERY_MESSAGE_LARGE",
            "#price-shipping-message",
            "#ourprice_shippingmessage",
            "#deliveryBlockMessage",
        ],
        "rating": [
            "#acrPopover@title",
            "#acrPopover .a-icon-alt",
            "#averageCustomerReviews .a-icon-alt",
            "[data-hook=rating-out-of-text]",
            "#acrCustomerReviewLink .a-icon-alt",
            ".crAvgStars .swSprite@title",
            "#rating-stars span[title]@title",
            "#universal-glance-reviews-features .a-icon-row span",
        ],
        "reviews_count": [
            "#acrCustomerReviewText",
            "[data-hook=total-review-count]",
            "#rating-stars .review-count",
            "#rating-stars a",
            ".crAvgStars > a",
        ],
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
        # The selected child ASIN the buy box sells (the parent's on a page with no variant selected).
        "product_id": [
            "input#ASIN@value",
            'input[name="ASIN"]@value',
            'input[name="ASIN.0"]@value',
            "#twister-plus-asin@value",
            "#desktop_qualifiedBuyBox@data-csa-c-asin",
            'input[name="a"]@value',
        ],
        "canonical_url": ['link[rel="canonical"]@href'],
        # Built-in checks already know Amazon's robot check and sign-in page; staff can add more.
        "blocked": ["#captchacharacters"],
        # A parent product's buy box: "To buy, select Size".
        "variant_unselected": ["#partialStateBuybox"],
    },
}

ALIEXPRESS = {
    "hosts": [r"(^|\.)aliexpress\.[a-z.]+$"],
    "product_id_patterns": [r"/item/(?:[^/]*/)?(\d+)\.html"],
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
        # Older item pages carry loose microdata (an Offer with no Product around it).
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
}

COSTCO = {
    "hosts": [r"(^|\.)costco\.(com|ca|co\.uk|com\.au|co\.jp|com\.mx|co\.kr|com\.tw)$"],
    "product_id_patterns": [r"\.product\.(\d+)\.html"],
    "selectors": {
        "title": ['h1[automation-id="productName"]', 'h1[itemprop="name"]', ".product-h1-container h1"],
        "price": [
            '[automation-id="productPriceOutput"]',
            "#pull-right-price .value",
            'meta[property="product:price:amount"]@content',
            "#math-table .your-price .value",  # 2017 layout: "Your Price 199.99 $"
        ],
        "currency": ['meta[property="product:price:currency"]@content'],
        # The 2017 layout states stock only in the price table's data and by its Add to Cart button.
        "availability": [
            'meta[property="og:availability"]@content',
            "#math-table [data-inv]@data-inv",
            "#add-to-cart input@value",
        ],
        "rating": [],
        "reviews_count": [],
        "images": ["#initialProductImage@src", 'meta[property="og:image"]@content'],
        "description": [],
        "product_id": [],
        "canonical_url": ['link[rel="canonical"]@href'],
        "blocked": [],
    },
}

GENERIC = {
    "hosts": [],
    "product_id_patterns": [],
    # Any shop: structured data and heuristics do the work; staff may add selectors per site.
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
}

FAMILY_CONFIGS = {"amazon": AMAZON, "aliexpress": ALIEXPRESS, "costco": COSTCO, "generic": GENERIC}
FAMILIES = tuple(FAMILY_CONFIGS)

# The currency a family's main site prices in when the page does not say (a "$" on amazon.com).
FAMILY_DEFAULT_DOLLAR = {"amazon": "USD", "costco": "USD"}
