"""Forms of the seller's store and listing pages. They parse and check input; the services change
things (store_settings_update, listing_create, listing_set_price_lock, ...)."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.forms.models import fields_for_model

from marketplaces.clients import Rejected
from marketplaces.clients.shopify import normalize_shop_domain
from marketplaces.models import Environment, Marketplace, StoreAccount
from marketplaces.services import PRICING_FIELDS, PRICING_LIMITS, store_pricing_problems
from marketplaces.services.listings import PRICE_LOCK_RANGE, price_lock_allowed
from marketplaces.services.sources import NOT_SAME_ITEM, same_item_match
from monitoring.records import audit_record

ETSY_POLICY_REQUIRED = "Tick the box to confirm you have read Etsy's rules on what may be sold."
SHOP_DOMAIN_REQUIRED = "Enter your shop's address, e.g. your-store.myshopify.com."
PRICE_NEGATIVE = "A price cannot be negative."

# The publish defaults each marketplace needs (ListingData's docstring), as (key, label, kind).
WHO_MADE_CHOICES = [("", "—"), ("i_did", "I did"), ("someone_else", "Someone else"), ("collective", "A collective")]
WHEN_MADE_CHOICES = [("", "—")] + [
    (value, value.replace("_", "–") if value[0].isdigit() else value.replace("_", " ").capitalize())
    for value in (
        "made_to_order",
        "2020_2025",
        "2010_2019",
        "2006_2009",
        "before_2006",
        "2000_2005",
        "1990s",
        "1980s",
        "1970s",
        "1960s",
        "1950s",
        "1940s",
        "1930s",
        "1920s",
        "1910s",
        "1900s",
        "1800s",
        "1700s",
        "before_1700",
    )
]
PUBLISH_DEFAULT_FIELDS = {
    Marketplace.EBAY: [
        ("category_id", "Category id", "text"),
        ("merchant_location_key", "Merchant location key", "text"),
        ("fulfillment_policy_id", "Fulfillment (shipping) policy id", "text"),
        ("payment_policy_id", "Payment policy id", "text"),
        ("return_policy_id", "Return policy id", "text"),
    ],
    Marketplace.ETSY: [
        ("taxonomy_id", "Taxonomy (category) id", "int"),
        ("shipping_profile_id", "Shipping profile id", "int"),
        ("readiness_state_id", "Processing profile (readiness state) id", "int"),
        ("who_made", "Who made it", WHO_MADE_CHOICES),
        ("when_made", "When it was made", WHEN_MADE_CHOICES),
    ],
    Marketplace.SHOPIFY: [
        ("location_id", "Location id (gid://shopify/Location/…)", "text"),
    ],
}


def publish_keys(marketplace: str) -> list[str]:
    return [key for key, _, _ in PUBLISH_DEFAULT_FIELDS.get(marketplace, [])]


# --- Connecting a store ----------------------------------------------------------------------


class StoreConnectForm(forms.Form):
    """Which marketplace and store to connect; the rest happens at the marketplace (OAuth)."""

    marketplace = forms.ChoiceField(choices=Marketplace.choices, widget=forms.RadioSelect)
    account_name = forms.CharField(
        max_length=200,
        label="Store name",
        help_text="How the store is called here. For eBay, your eBay user ID.",
    )
    environment = forms.ChoiceField(
        choices=Environment.choices,
        initial=Environment.PRODUCTION,
        required=False,
        label="eBay environment",
        help_text="Sandbox is eBay's test site: nothing listed there is for sale.",
    )
    shop_domain = forms.CharField(
        max_length=255,
        required=False,
        label="Shopify store address",
        help_text="your-store.myshopify.com",
    )
    etsy_policy_understood = forms.BooleanField(
        required=False,
        label="I understand that Etsy only allows items I made or designed, vintage items and craft supplies, "
        "and that reselling other sellers' products is against its rules.",
    )

    def clean(self):
        data = super().clean()
        marketplace = data.get("marketplace")
        if marketplace == Marketplace.SHOPIFY:
            raw = data.get("shop_domain", "")
            if not raw:
                self.add_error("shop_domain", SHOP_DOMAIN_REQUIRED)
            else:
                try:
                    data["shop_domain"] = normalize_shop_domain(raw)
                except Rejected as exc:
                    self.add_error("shop_domain", exc.message)
        else:
            data["shop_domain"] = ""
        if marketplace == Marketplace.ETSY and not data.get("etsy_policy_understood"):
            self.add_error("etsy_policy_understood", ETSY_POLICY_REQUIRED)
        if marketplace != Marketplace.EBAY or not data.get("environment"):
            data["environment"] = Environment.PRODUCTION
        return data


# --- Store settings --------------------------------------------------------------------------

SETTINGS_FIELDS = ("account_name", *PRICING_FIELDS)


class StorePricingForm(forms.Form):
    """The store's name and pricing settings, as the model defines them, each refused outside its
    range with the range in words (marketplaces.services.PRICING_LIMITS, checked again by the service)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(StoreAccount, fields=SETTINGS_FIELDS))
        for name, limit in PRICING_LIMITS.items():
            self.fields[name].widget.attrs.update({"min": str(limit.low), "max": str(limit.high)})
            self.fields[name].help_text = limit.message
        decimals = (
            "markup_percent",
            "markup_fixed",
            "fee_percent",
            "fee_fixed",
            "payment_fee_percent",
            "payment_fee_fixed",
            "returns_percent",
            "min_margin_percent",
            "failover_max_increase_percent",
        )
        for name in decimals:
            self.fields[name].widget.attrs.update({"step": "0.01", "inputmode": "decimal"})
        self.fields["price_ending"].widget.attrs["step"] = "0.01"
        self.fields["currency"].widget.attrs.update({"maxlength": "3", "autocapitalize": "characters"})

    @classmethod
    def initial_for(cls, store: StoreAccount) -> dict:
        return {name: getattr(store, name) for name in SETTINGS_FIELDS}

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self):
        data = super().clean()
        for name, messages in store_pricing_problems(data).items():
            if name not in self.errors:
                for message in messages:
                    self.add_error(name, message)
        return data

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in SETTINGS_FIELDS if name in self.cleaned_data}

    def typed_store(self, store: StoreAccount) -> StoreAccount:
        """An unsaved copy of the store with every typed value that reads as a value, even one out
        of its range, so the preview can show what refused settings would do."""
        copy = StoreAccount(**{f.attname: getattr(store, f.attname) for f in StoreAccount._meta.concrete_fields})
        for name in SETTINGS_FIELDS:
            field = self.fields[name]
            try:
                value = field.clean(field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name)))
            except forms.ValidationError:
                continue
            setattr(copy, name, value.strip().upper() if name == "currency" else value)
        return copy

    def preview_store(self, store: StoreAccount) -> StoreAccount:
        """An unsaved copy of the store with the (valid) settings typed in, for the live preview."""
        copy = StoreAccount(**{f.attname: getattr(store, f.attname) for f in StoreAccount._meta.concrete_fields})
        for name, value in self.changes().items():
            setattr(copy, name, value)
        return copy


class PublishDefaultsForm(forms.Form):
    """The keys a marketplace needs to publish (store defaults, or one listing's overrides)."""

    def __init__(self, *args, marketplace: str, defaults: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.marketplace = marketplace
        for key, label, kind in PUBLISH_DEFAULT_FIELDS.get(marketplace, []):
            if kind == "int":
                field = forms.IntegerField(label=label, required=False, min_value=1)
            elif isinstance(kind, list):
                field = forms.ChoiceField(label=label, required=False, choices=kind)
            else:
                field = forms.CharField(label=label, required=False, max_length=200)
            if defaults and defaults.get(key) not in (None, ""):
                field.widget.attrs["placeholder"] = f"store default: {defaults[key]}"
            self.fields[key] = field

    def merged_into(self, current: dict | None) -> dict:
        """`current` with the keys of this form set (an emptied field removes its key)."""
        merged = dict(current or {})
        for key in self.fields:
            value = self.cleaned_data.get(key)
            if value in (None, ""):
                merged.pop(key, None)
            else:
                merged[key] = value.strip() if isinstance(value, str) else value
        return merged


def listing_publish_settings_save(*, listing, form: PublishDefaultsForm, acting_user, request=None):
    """Keep a listing's own publish settings (they override its store's defaults), audited."""
    old = dict(listing.publish_settings or {})
    new = form.merged_into(old)
    if new == old:
        return listing
    listing.publish_settings = new
    with transaction.atomic():
        listing.save(update_fields=["publish_settings", "updated_at"])
        audit_record(
            acting_user=acting_user,
            owner=listing.user,
            action="publish_settings_updated",
            resource=listing,
            old_value={"publish_settings": old},
            new_value={"publish_settings": new},
            request=request,
        )
    return listing


# --- Listings --------------------------------------------------------------------------------


class ListingCreateForm(forms.Form):
    """List a tracked product on one of the seller's connected stores it is not on yet."""

    store = forms.ModelChoiceField(queryset=StoreAccount.objects.none(), empty_label=None, label="Store")
    price = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        label="Your price (optional)",
        help_text="Empty: our pricing rules set it and follow the supplier.",
    )
    price_locked = forms.BooleanField(
        required=False, label="Keep this price fixed (no automatic repricing)", initial=False
    )
    title = forms.CharField(max_length=500, required=False, label="Title on the store")
    publish_now = forms.BooleanField(required=False, initial=True, label="Publish it now")

    def __init__(self, *args, stores=None, **kwargs):
        super().__init__(*args, **kwargs)
        if stores is not None:
            self.fields["store"].queryset = stores
        self.fields["price"].widget.attrs.update({"step": "0.01", "min": "0", "inputmode": "decimal"})

    def clean_price(self):
        price = self.cleaned_data.get("price")
        if price is not None and price < 0:
            raise forms.ValidationError(PRICE_NEGATIVE)
        return price

    def clean(self):
        data = super().clean()
        price = data.get("price")
        if data.get("price_locked") and price is not None and not price_lock_allowed(price):
            self.add_error("price", PRICE_LOCK_RANGE)
        return data


class PriceLockForm(forms.Form):
    locked = forms.BooleanField(required=False)
    price = forms.DecimalField(max_digits=12, decimal_places=2, required=False)

    def clean_price(self):
        price = self.cleaned_data.get("price")
        if price is not None and price < 0:
            raise forms.ValidationError(PRICE_NEGATIVE)
        return price

    def clean(self):
        data = super().clean()
        price = data.get("price")
        if data.get("locked") and price is not None and not price_lock_allowed(price):
            self.add_error("price", PRICE_LOCK_RANGE)
        return data


BULK_ACTIONS = [("pause", "Pause"), ("resume", "Resume"), ("end", "End"), ("publish", "Publish")]
BULK_MAX = 100


class ListingIdsField(forms.TypedMultipleChoiceField):
    """Listing ids from checkboxes; which of them are the seller's is the view's query."""

    def __init__(self, **kwargs):
        super().__init__(coerce=int, choices=(), **kwargs)

    def valid_value(self, value):
        return str(value).isdigit()


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    ids = ListingIdsField(error_messages={"required": "Select listings first."})

    def clean_ids(self):
        ids = list(dict.fromkeys(self.cleaned_data["ids"]))
        if len(ids) > BULK_MAX:
            raise forms.ValidationError(f"Select at most {BULK_MAX} listings at a time.")
        return ids


# --- Backup sources of a listing -------------------------------------------------------------


class SourceAddForm(forms.Form):
    """One of the seller's tracked products as a backup source of a listing; without matching
    identifiers (GTIN, brand + MPN) the seller confirms it is the same item."""

    product = forms.ModelChoiceField(
        queryset=None, label="Tracked product", empty_label="Choose one of your tracked products…"
    )
    confirm_same_item = forms.BooleanField(required=False, label="This is the same item")

    def __init__(self, *args, listing, **kwargs):
        super().__init__(*args, **kwargs)
        self.listing = listing
        self.fields["product"].queryset = (
            listing.user.tracked_products.exclude(pk=listing.product_id)
            .exclude(pk__in=listing.sources.values("product_id"))
            .select_related("supplier")
            .order_by("title", "pk")
        )
        self.fields["product"].label_from_instance = lambda product: (
            f"{product.title[:80] or product.asin} · {product.supplier}"
            + (f" · {product.price} {product.currency}" if product.price is not None else "")
        )
        self.match = ""

    def clean(self):
        data = super().clean()
        product = data.get("product")
        if product is not None:
            self.match = same_item_match(self.listing.product, product)
            if not self.match and not data.get("confirm_same_item"):
                self.add_error("confirm_same_item", NOT_SAME_ITEM)
        return data


class SourceMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


class MaxPriceForm(forms.Form):
    max_price = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        min_value=0,
        label="Maximum price",
        help_text="The most this listing may cost a buyer while it follows a backup source; empty: "
        "the store's percentage above the price its own product gives.",
    )
