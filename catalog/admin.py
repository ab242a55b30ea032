"""Admin for suppliers and their scraping rules, products, their history, and the proxy pool."""

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import ngettext

from config.admin_utils import (
    AppendOnlyAdminMixin,
    CompleteFieldsetsMixin,
    SecretsAdminMixin,
    change_link,
    changelist_link,
    log_changes,
)

from .models import HeldReading, PriceHistory, Product, ProductOverride, ProxyPool, StockHistory, Supplier
from .proxies import proxy_deactivate, proxy_reactivate
from .services import IdentityAcceptError, product_identity_accept, product_values_set

RECENT_HISTORY_ROWS = 10
SCRAPER_CONFIG_NOT_OBJECT = "The scraper configuration must be a JSON object (selectors, URL patterns, headers)."
FAMILY_NOT_TEMPLATE = "Pick a family template (a supplier without a family of its own), not a site."
FAMILY_IS_SELF = "A supplier cannot be its own family."
# What buying from a site costs beyond its price: a change reprices the listings of its products.
COST_FIELDS = ("default_shipping", "sales_tax_percent")
SUPPLIER_REPRICE_STARTED = "The live listings of {supplier}'s products are being repriced with its new costs."
# Values staff enter for everyone: written as manual history rows, followed by every seller's listings.
MANUAL_FIELDS = ("price", "stock", "availability")


def _count(count: int, noun: str) -> str:
    """ "1 product", "3 products" (every noun counted here takes an s)."""
    return ngettext("{count} " + noun, "{count} " + noun + "s", count).format(count=count)


class FamilyFilter(admin.SimpleListFilter):
    """Filter by supplier family: the template row and every site pointing at it.

    A plain related filter would list every supplier row, and generic shops add one per host.
    """

    title = "supplier family"
    parameter_name = "family"
    supplier_path = ""

    def lookups(self, request, model_admin):
        return list(Supplier.objects.filter(family__isnull=True).order_by("name").values_list("pk", "name"))

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        path = self.supplier_path
        return queryset.filter(Q(**{f"{path}family_id": value}) | Q(**{f"{path}id": value}))


class ProductFamilyFilter(FamilyFilter):
    supplier_path = "supplier__"


class SupplierForm(forms.ModelForm):
    def clean_scraper_config(self):
        config = self.cleaned_data["scraper_config"]
        if not isinstance(config, dict):
            raise forms.ValidationError(SCRAPER_CONFIG_NOT_OBJECT)
        return config

    def clean_family(self):
        family = self.cleaned_data["family"]
        if family is not None:
            if self.instance.pk and family.pk == self.instance.pk:
                raise forms.ValidationError(FAMILY_IS_SELF)
            if family.family_id is not None:
                raise forms.ValidationError(FAMILY_NOT_TEMPLATE)
        return family


@admin.register(Supplier)
class SupplierAdmin(CompleteFieldsetsMixin, admin.ModelAdmin):
    """Staff fix a selector or a rate limit here without a deploy."""

    form = SupplierForm
    list_display = (
        "name",
        "family",
        "base_url",
        "currency",
        "default_shipping",
        "sales_tax_percent",
        "rate_limit",
        "requires_js",
        "is_active",
        "created_at",
    )
    list_filter = (FamilyFilter, "is_active", "requires_js", "currency")
    list_select_related = ("family",)
    search_fields = ("name", "base_url")
    autocomplete_fields = ("family",)
    readonly_fields = ("products_summary", "sites_summary", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "family", "base_url", "currency", "rate_limit", "requires_js", "is_active")}),
        (
            "What buying here costs",
            {
                "fields": ("default_shipping", "sales_tax_percent"),
                "description": "Part of every seller's unit cost for this site's products (price + shipping + "
                "tax). Per site: a site row does not take these from its family's template. Shipping is in the "
                "site's currency; a seller may set their own per product.",
            },
        ),
        (
            "Scraping rules",
            {
                "fields": ("scraper_config",),
                "description": "CSS selectors per field, URL patterns for the site and its product id, headers. "
                "Sites take these from their family's template row.",
            },
        ),
        ("Related", {"fields": ("products_summary", "sites_summary", "created_at", "updated_at")}),
    )
    formfield_overrides = {
        models.JSONField: {"widget": forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family: monospace"})}
    }

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and set(COST_FIELDS) & set(form.changed_data):
            # An entry point: what buying here costs changed, so its products' listings follow now.
            from marketplaces.tasks import SUPPLIER_REPRICE_JOB_TYPE, supplier_reprice_task
            from monitoring.records import job_start

            job_start(supplier_reprice_task, type=SUPPLIER_REPRICE_JOB_TYPE, params={"supplier_id": obj.pk})
            messages.info(request, SUPPLIER_REPRICE_STARTED.format(supplier=obj))

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # The family picker only offers template rows.
        if request.GET.get("model_name") == "supplier" and request.GET.get("field_name") == "family":
            queryset = queryset.filter(family__isnull=True)
        return queryset, may_have_duplicates

    @admin.display(description="Products")
    def products_summary(self, obj):
        if not obj.pk:
            return "—"
        return changelist_link(Product, _count(obj.products.count(), "product"), supplier__id__exact=obj.pk)

    @admin.display(description="Sites of this family")
    def sites_summary(self, obj):
        if not obj.pk or obj.family_id:
            return "—"
        return changelist_link(Supplier, _count(obj.sites.count(), "site"), family__id__exact=obj.pk)


@admin.register(Product)
class ProductAdmin(CompleteFieldsetsMixin, admin.ModelAdmin):
    list_display = (
        "title_short",
        "supplier",
        "asin",
        "price_display",
        "availability",
        "stock",
        "last_scraped_at",
        "failure_count",
        "is_archived",
    )
    list_filter = (ProductFamilyFilter, "availability", "is_archived", "last_scraped_at")
    list_select_related = ("supplier",)
    search_fields = ("title", "asin", "url")
    autocomplete_fields = ("supplier",)
    ordering = ("-id",)
    # The table is large: skip the extra COUNT(*) of every row on each page.
    show_full_result_count = False
    readonly_fields = (
        "shipping_hint",
        "wrong_product_count",
        "held_summary",
        "trackers_summary",
        "listings_summary",
        "recent_price_history",
        "recent_stock_history",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("supplier", "asin", "url", "title", "description", "images")}),
        ("Identifies the item", {"fields": ("brand", "gtin", "mpn")}),
        (
            "Price and stock",
            {
                "fields": ("price", "currency", "stock", "availability", "rating", "reviews_count", "shipping_hint"),
                "description": "A price, stock or availability entered here is for every seller: it is recorded "
                "in the history as a manual change and their listings follow it at the next round. The shipping "
                "hint is what the page last stated (0 = free): shown to sellers, never counted as a cost.",
            },
        ),
        (
            "Refresh",
            {
                "fields": (
                    "last_scraped_at",
                    "failure_count",
                    "wrong_product_count",
                    "held_summary",
                    "last_error",
                    "is_archived",
                )
            },
        ),
        ("Used by", {"fields": ("trackers_summary", "listings_summary")}),
        ("History", {"fields": ("recent_price_history", "recent_stock_history")}),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
    actions = ("archive_products", "unarchive_products")

    def get_queryset(self, request):
        # __str__ falls back to the supplier's name (autocomplete results, links). This join is
        # also the changelist's: a queryset that already joins makes it skip list_select_related.
        return super().get_queryset(request).select_related("supplier")

    @admin.display(description="Title", ordering="title")
    def title_short(self, obj):
        return obj.title[:80] or "—"

    @admin.display(description="Price", ordering="price")
    def price_display(self, obj):
        return "—" if obj.price is None else f"{obj.price} {obj.currency}"

    def save_model(self, request, obj, form, change):
        manual = [name for name in MANUAL_FIELDS if name in form.changed_data] if change else []
        if not manual:
            return super().save_model(request, obj, form, change)
        values = {name: getattr(obj, name) for name in MANUAL_FIELDS}
        for name in manual:  # written below, with their history rows
            setattr(obj, name, form.initial.get(name))
        super().save_model(request, obj, form, change)
        stock_changed = "stock" in manual or "availability" in manual
        product_values_set(
            product=obj,
            acting_user=request.user,
            price=values["price"] if "price" in manual else None,
            stock=values["stock"] if stock_changed else None,
            availability=values["availability"] if stock_changed else None,
            request=request,
        )
        return None

    @admin.display(description="Held readings")
    def held_summary(self, obj):
        if not obj.pk:
            return "—"
        count = obj.held_readings.filter(status=HeldReading.Status.OPEN).count()
        return changelist_link(HeldReading, f"{count} open", product__id__exact=obj.pk, status__exact="open")

    @admin.display(description="Tracked by")
    def trackers_summary(self, obj):
        if not obj.pk:
            return "—"
        user_model = Product._meta.get_field("trackers").related_model
        return changelist_link(user_model, _count(obj.trackers.count(), "seller"), tracked_products__id__exact=obj.pk)

    @admin.display(description="Listings")
    def listings_summary(self, obj):
        if not obj.pk:
            return "—"
        listing_model = Product._meta.get_field("listings").related_model
        return changelist_link(listing_model, _count(obj.listings.count(), "listing"), product__id__exact=obj.pk)

    @admin.display(description="Recent price changes")
    def recent_price_history(self, obj):
        if not obj.pk:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(row.recorded_at), "DATETIME_FORMAT"),
                    row.old_price if row.old_price is not None else "—",
                    row.new_price if row.new_price is not None else "—",
                    row.currency,
                    row.get_reason_display(),
                )
                for row in obj.price_history.order_by("-recorded_at")[:RECENT_HISTORY_ROWS]
            ),
        )
        return format_html(
            "<table><thead><tr><th>When</th><th>Old</th><th>New</th><th>Currency</th><th>Reason</th></tr></thead>"
            "<tbody>{}</tbody></table><p>{}</p>",
            rows,
            changelist_link(PriceHistory, f"All {obj.price_history.count()} price changes", product__id__exact=obj.pk),
        )

    @admin.display(description="Recent stock changes")
    def recent_stock_history(self, obj):
        if not obj.pk:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{} → {}</td><td>{} → {}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(row.recorded_at), "DATETIME_FORMAT"),
                    row.get_old_availability_display() or "—",
                    row.get_new_availability_display(),
                    row.old_stock if row.old_stock is not None else "—",
                    row.new_stock if row.new_stock is not None else "—",
                    row.get_reason_display(),
                )
                for row in obj.stock_history.order_by("-recorded_at")[:RECENT_HISTORY_ROWS]
            ),
        )
        return format_html(
            "<table><thead><tr><th>When</th><th>Availability</th><th>Stock</th><th>Reason</th></tr></thead>"
            "<tbody>{}</tbody></table><p>{}</p>",
            rows,
            changelist_link(StockHistory, f"All {obj.stock_history.count()} stock changes", product__id__exact=obj.pk),
        )

    def _archived_set(self, request, queryset, archived: bool) -> int:
        products = list(queryset.filter(is_archived=not archived))
        Product.objects.filter(pk__in=[product.pk for product in products]).update(
            is_archived=archived, updated_at=timezone.now()
        )
        log_changes(request, products, "Archived." if archived else "Unarchived.")
        return len(products)

    @admin.action(description="Archive selected products (stop refreshing them)", permissions=["change"])
    def archive_products(self, request, queryset):
        count = self._archived_set(request, queryset, True)
        self.message_user(request, f"{_count(count, 'product')} archived.", messages.SUCCESS)

    @admin.action(description="Unarchive selected products", permissions=["change"])
    def unarchive_products(self, request, queryset):
        count = self._archived_set(request, queryset, False)
        self.message_user(request, f"{_count(count, 'product')} unarchived.", messages.SUCCESS)


class ProductHistoryAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    list_select_related = ("product__supplier",)
    search_fields = ("product__title", "product__asin")
    date_hierarchy = "recorded_at"
    show_full_result_count = False

    @admin.display(description="Product", ordering="product")
    def product_link(self, obj):
        return change_link(obj.product)


@admin.register(PriceHistory)
class PriceHistoryAdmin(ProductHistoryAdmin):
    list_display = (
        "recorded_at",
        "product_link",
        "old_price",
        "new_price",
        "currency",
        "price_change_percent",
        "reason",
    )
    list_filter = ("reason", "currency")


@admin.register(StockHistory)
class StockHistoryAdmin(ProductHistoryAdmin):
    list_display = (
        "recorded_at",
        "product_link",
        "old_availability",
        "new_availability",
        "old_stock",
        "new_stock",
        "reason",
    )
    list_filter = ("reason", "new_availability")


@admin.register(ProxyPool)
class ProxyPoolAdmin(SecretsAdminMixin, CompleteFieldsetsMixin, admin.ModelAdmin):
    secret_fields = {"password": "Password"}
    list_display = (
        "host",
        "port",
        "protocol",
        "country",
        "health_score",
        "success_count",
        "failure_count",
        "is_active",
        "deactivated_reason",
        "last_checked_at",
    )
    list_filter = ("is_active", "protocol", "country")
    search_fields = ("host", "country", "deactivated_reason")
    ordering = ("-is_active", "-health_score", "host")
    readonly_fields = ("last_checked_at", "last_failed_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("host", "port", "protocol", "country")}),
        ("Authentication", {"fields": ("username", ("password", "password_clear"))}),
        (
            "Health",
            {
                "fields": (
                    "is_active",
                    "deactivated_reason",
                    "health_score",
                    "success_count",
                    "failure_count",
                    "consecutive_failures",
                    "last_checked_at",
                    "last_failed_at",
                )
            },
        ),
        ("Dates", {"fields": ("created_at", "updated_at")}),
    )
    actions = ("deactivate_proxies", "activate_proxies")

    @admin.action(description="Deactivate selected proxies", permissions=["change"])
    def deactivate_proxies(self, request, queryset):
        reason = f"Deactivated by staff ({request.user.email})."
        proxies = [proxy for proxy in queryset.filter(is_active=True) if proxy_deactivate(proxy=proxy, reason=reason)]
        log_changes(request, proxies, "Deactivated.")
        self.message_user(request, f"{len(proxies)} proxy(ies) deactivated.", messages.SUCCESS)

    @admin.action(description="Activate selected proxies (with a fresh failure streak)", permissions=["change"])
    def activate_proxies(self, request, queryset):
        proxies = list(queryset.filter(is_active=False))
        for proxy in proxies:
            proxy_reactivate(proxy=proxy)
        log_changes(request, proxies, "Activated.")
        self.message_user(request, f"{len(proxies)} proxy(ies) activated.", messages.SUCCESS)


@admin.register(HeldReading)
class HeldReadingAdmin(AppendOnlyAdminMixin, admin.ModelAdmin):
    """Readings held back: doubtful ones (the next reading confirms or discards them) and pages
    that showed another product, whose new identity staff may accept (audited)."""

    list_display = ("created_at", "product_link", "kind", "identities", "reason", "status", "resolved_at")
    list_filter = ("kind", "status")
    list_select_related = ("product__supplier",)
    search_fields = ("reason", "product__title", "product__asin")
    date_hierarchy = "created_at"
    actions = ("accept_identity",)

    @admin.display(description="Product", ordering="product")
    def product_link(self, obj):
        return change_link(obj.product)

    @admin.display(description="Ours → the page's")
    def identities(self, obj):
        identity = obj.identity if isinstance(obj.identity, dict) else {}
        if not identity:
            return "—"
        ours, page = identity.get("ours") or {}, identity.get("page") or {}
        return format_html(
            "{} ({}) → {} ({})<br><small>told by {}</small>",
            ours.get("title") or "—",
            ours.get("id") or "—",
            page.get("title") or "—",
            page.get("id") or "—",
            identity.get("by") or "—",
        )

    def has_accept_permission(self, request):
        return request.user.has_perm("catalog.change_product")

    @admin.action(
        description="Accept the page's identity: the product is now the item its link shows",
        permissions=["accept"],
    )
    def accept_identity(self, request, queryset):
        accepted = []
        for held in queryset.select_related("product"):
            try:
                accepted.append(product_identity_accept(held=held, acting_user=request.user, request=request))
            except IdentityAcceptError as exc:
                self.message_user(request, f"{held.product}: {exc}", messages.ERROR)
        log_changes(request, accepted, "Accepted the identity its supplier link now shows.")
        if accepted:
            self.message_user(
                request,
                ngettext(
                    "{count} product takes the identity its link shows.",
                    "{count} products take the identity their link shows.",
                    len(accepted),
                ).format(count=len(accepted)),
                messages.SUCCESS,
            )


@admin.register(ProductOverride)
class ProductOverrideAdmin(admin.ModelAdmin):
    """Sellers' own prices, stock and shipping (each in force for that seller's listings only): staff look."""

    list_display = ("product", "user", "price", "currency", "stock", "shipping", "note", "updated_at")
    list_select_related = ("product__supplier", "user")
    search_fields = ("product__title", "product__asin", "user__email")
    readonly_fields = [field.name for field in ProductOverride._meta.fields]

    def has_add_permission(self, request):
        return False
