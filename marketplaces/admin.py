"""Admin for sellers' stores (credentials masked), their listings and daily listing performance."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import ngettext

from config.admin_utils import (
    AuditedAdminMixin,
    CompleteFieldsetsMixin,
    SecretsAdminMixin,
    SingletonAdminMixin,
    change_link,
    changelist_link,
    log_changes,
)

from .models import (
    AutomationSwitch,
    BlocklistTerm,
    ExchangeRate,
    Listing,
    ListingSource,
    ListingStatus,
    MarketplaceData,
    Order,
    Sale,
    Shipment,
    StoreAccount,
)
from .services import ListingActionError, listing_pause, listing_resume
from .services.totals import rows_touched, totals_refresh_touched

LISTING_STORE_OWNER_MISMATCH = "The listing's seller must be the owner of the store."


@admin.register(StoreAccount)
class StoreAccountAdmin(SecretsAdminMixin, AuditedAdminMixin, CompleteFieldsetsMixin, admin.ModelAdmin):
    secret_fields = {
        "api_key": "API key",
        "api_secret": "API secret",
        "oauth_token": "OAuth token",
        "oauth_refresh_token": "OAuth refresh token",
    }
    list_display = (
        "account_name",
        "user",
        "marketplace",
        "environment",
        "currency",
        "is_connected",
        "automation_paused",
        "last_synced_at",
    )
    list_filter = ("marketplace", "is_connected", "environment", "automation_paused")
    list_select_related = ("user",)
    search_fields = ("account_name", "shop_domain", "user__email")
    autocomplete_fields = ("user",)
    readonly_fields = ("listings_summary", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("user", "marketplace", "account_name", "environment", "shop_domain", "currency")}),
        (
            "Credentials",
            {
                "fields": (
                    ("api_key", "api_key_clear"),
                    ("api_secret", "api_secret_clear"),
                    ("oauth_token", "oauth_token_clear"),
                    ("oauth_refresh_token", "oauth_refresh_token_clear"),
                    "oauth_expires_at",
                ),
                "description": "Stored encrypted and never shown. Leave a box blank to keep what is stored.",
            },
        ),
        ("Connection", {"fields": ("is_connected", "last_synced_at", "last_error", "automation_paused")}),
        (
            "Pricing",
            {
                "fields": (
                    "markup_percent",
                    "markup_fixed",
                    "fee_percent",
                    "fee_fixed",
                    "payment_fee_percent",
                    "payment_fee_fixed",
                    "returns_percent",
                    "min_margin_percent",
                    "price_ending",
                    "low_margin_action",
                )
            },
        ),
        (
            "Quantity",
            {"fields": ("default_quantity", "max_quantity", "safety_buffer", "min_supplier_stock")},
        ),
        ("Related", {"fields": ("listings_summary", "created_at", "updated_at")}),
    )

    @admin.display(description="Listings")
    def listings_summary(self, obj):
        if not obj.pk:
            return "—"
        return changelist_link(
            Listing,
            ngettext("{count} listing", "{count} listings", obj.listings.count()).format(count=obj.listings.count()),
            store_account__id__exact=obj.pk,
        )


class ListingForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        user, store = cleaned.get("user"), cleaned.get("store_account")
        if user and store and store.user_id != user.pk:
            self.add_error("store_account", LISTING_STORE_OWNER_MISMATCH)
        return cleaned


class ListingSourceInline(admin.TabularInline):
    """A listing's backup sources in order (marketplaces.services.sources picks the active one)."""

    model = ListingSource
    fields = ("position", "product", "same_item", "confirmed_by_seller", "good_since")
    readonly_fields = ("good_since",)
    autocomplete_fields = ("product",)
    extra = 0


class PerformanceTotalsAdminMixin:
    """Keeps the performance totals (marketplaces.services.totals) right when staff change or
    delete what they count. `performance_rows(pks)`: the MarketplaceData of these rows."""

    def performance_rows(self, pks):
        raise NotImplementedError

    def totals_follow_edits(self, before: dict, after: dict) -> bool:
        return True

    def save_model(self, request, obj, form, change):
        before = rows_touched(self.performance_rows([obj.pk])) if change else {}
        super().save_model(request, obj, form, change)
        after = rows_touched(self.performance_rows([obj.pk]))
        if self.totals_follow_edits(before, after):
            totals_refresh_touched(before, after)

    def delete_model(self, request, obj):
        before = rows_touched(self.performance_rows([obj.pk]))
        super().delete_model(request, obj)
        totals_refresh_touched(before)

    def delete_queryset(self, request, queryset):
        before = rows_touched(self.performance_rows(queryset.values("pk")))
        super().delete_queryset(request, queryset)
        totals_refresh_touched(before)


@admin.register(Listing)
class ListingAdmin(PerformanceTotalsAdminMixin, AuditedAdminMixin, CompleteFieldsetsMixin, admin.ModelAdmin):
    form = ListingForm
    list_display = (
        "title_short",
        "user",
        "store_account",
        "status",
        "status_reason",
        "price",
        "quantity_available",
        "price_locked",
        "updated_at",
    )
    list_filter = ("status", "status_reason", "store_account__marketplace", "price_locked")
    search_fields = ("title", "external_listing_id", "user__email", "product__asin")
    autocomplete_fields = ("user", "product", "store_account")
    readonly_fields = (
        "performance_summary",
        "active_product",
        "active_since",
        "own_good_since",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("user", "store_account", "product", "external_listing_id")}),
        ("Listing", {"fields": ("title", "description", "price", "price_locked", "quantity_available")}),
        ("Status", {"fields": ("status", "status_reason", "ended_at")}),
        ("Backup sources", {"fields": ("max_price", "active_product", "active_since", "own_good_since")}),
        ("Related", {"fields": ("performance_summary", "created_at", "updated_at")}),
    )
    inlines = (ListingSourceInline,)
    actions = ("pause_listings", "resume_listings")

    def performance_rows(self, pks):
        return MarketplaceData.objects.filter(listing__in=pks)

    def totals_follow_edits(self, before, after):
        return before.keys() != after.keys()  # only moving a listing to another store moves its rows

    def get_queryset(self, request):
        # __str__ names the store (autocomplete results, links); the changelist shows the seller.
        # (A queryset that already joins makes the changelist skip list_select_related.)
        return super().get_queryset(request).select_related("user", "store_account")

    @admin.display(description="Title", ordering="title")
    def title_short(self, obj):
        return obj.title[:80]

    @admin.display(description="Daily performance")
    def performance_summary(self, obj):
        if not obj.pk:
            return "—"
        return changelist_link(MarketplaceData, f"{obj.marketplace_data.count()} day(s)", listing__id__exact=obj.pk)

    def _each_listing(self, request, queryset, *, only_status, service, verb):
        """Run a seller action's service on the selected listings in `only_status` (it pushes to
        the marketplace and writes the audit row, with the staff member as the actor)."""
        done, refused = [], []
        for listing in queryset.filter(status=only_status).select_related("user", "store_account", "product"):
            try:
                done.append(service(listing, acting_user=request.user, request=request))
            except ListingActionError as exc:
                refused.append(f"{listing}: {exc.message}")
        log_changes(request, done, f"{verb.capitalize()}.")
        self.message_user(
            request,
            ngettext("{count} listing {verb}.", "{count} listings {verb}.", len(done)).format(
                count=len(done), verb=verb
            ),
            messages.SUCCESS,
        )
        skipped = queryset.count() - len(done) - len(refused)
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "{count} listing left alone: not {status}.", "{count} listings left alone: not {status}.", skipped
                ).format(count=skipped, status=only_status),
                messages.WARNING,
            )
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description="Pause selected active listings", permissions=["change"])
    def pause_listings(self, request, queryset):
        self._each_listing(request, queryset, only_status=ListingStatus.ACTIVE, service=listing_pause, verb="paused")

    @admin.action(description="Resume selected paused listings", permissions=["change"])
    def resume_listings(self, request, queryset):
        self._each_listing(request, queryset, only_status=ListingStatus.PAUSED, service=listing_resume, verb="resumed")


@admin.register(MarketplaceData)
class MarketplaceDataAdmin(PerformanceTotalsAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    audit_owner = "listing.user"
    list_display = (
        "date",
        "listing_link",
        "views",
        "clicks",
        "sales",
        "revenue",
        "cost_of_goods_sold",
        "fees",
        "returns_allowance",
        "profit",
        "source",
    )
    list_filter = ("source", "listing__store_account__marketplace")
    list_select_related = ("listing__store_account",)
    search_fields = ("listing__title", "listing__external_listing_id", "listing__user__email")
    autocomplete_fields = ("listing",)
    date_hierarchy = "date"
    show_full_result_count = False
    # Profit is revenue − cost of goods sold − fees − returns allowance: computed on save so it never disagrees.
    readonly_fields = ("profit", "created_at", "updated_at")

    @admin.display(description="Listing", ordering="listing")
    def listing_link(self, obj):
        return change_link(obj.listing)

    def performance_rows(self, pks):
        return MarketplaceData.objects.filter(pk__in=pks)

    def save_model(self, request, obj, form, change):
        obj.profit = MarketplaceData.profit_of(obj.revenue, obj.cost_of_goods_sold, obj.fees, obj.returns_allowance)
        super().save_model(request, obj, form, change)


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    """Order lines as imported from the marketplaces: read-only."""

    list_display = (
        "ordered_at",
        "marketplace_order_id",
        "line_id",
        "listing_link",
        "store_account",
        "quantity",
        "unit_price",
        "currency",
        "cancelled",
    )
    list_filter = ("cancelled", "store_account__marketplace")
    list_select_related = ("listing__store_account", "store_account")
    search_fields = ("=marketplace_order_id", "listing__title", "title", "store_account__account_name")
    date_hierarchy = "ordered_at"
    show_full_result_count = False

    @admin.display(description="Listing", ordering="listing")
    def listing_link(self, obj):
        return change_link(obj.listing) if obj.listing_id else "not listed here"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ShipmentInline(admin.TabularInline):
    model = Shipment
    fields = ("carrier", "tracking_number", "status", "error", "attempts", "next_attempt_at", "sent_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Sellers' orders, read-only. The buyer's ship-to address is personal data: staff see only
    whether it is held (masked), never the name or the address."""

    # Never on a staff page in clear, like a secret: ship_to_masked says whether it is held.
    secret_fields = {"ship_to": "Ship-to address"}

    list_display = ("order_number", "store_account", "user", "state", "ordered_at", "ship_by", "total", "currency")
    list_filter = ("state", "store_account__marketplace")
    list_select_related = ("store_account", "user")
    search_fields = ("=order_number", "=marketplace_order_id", "user__email", "store_account__account_name")
    date_hierarchy = "ordered_at"
    show_full_result_count = False
    exclude = ("ship_to",)
    readonly_fields = (
        "user",
        "store_account",
        "marketplace_order_id",
        "order_number",
        "buyer_username",
        "state",
        "ordered_at",
        "ship_by",
        "currency",
        "total",
        "marketplace_fees",
        "ship_to_masked",
        "ship_to_erased_at",
        "supplier_order_number",
        "cost_item",
        "cost_shipping",
        "cost_tax",
        "cost_currency",
        "ship_error",
        "bought_at",
        "shipped_at",
        "delivered_at",
        "cancelled_at",
        "refunded_at",
        "created_at",
        "updated_at",
    )
    inlines = (ShipmentInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("ship_to")

    @admin.display(description="Ship-to address")
    def ship_to_masked(self, obj):
        if obj.ship_to_erased_at:
            return f"Erased on {obj.ship_to_erased_at:%Y-%m-%d}"
        held = Order.objects.filter(pk=obj.pk, ship_to__isnull=False).exists()
        return "•••••• (held encrypted; only the seller sees it)" if held else "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ("currency", "per_eur", "as_of", "source", "updated_at")
    list_filter = ("source",)
    search_fields = ("currency",)


class BlocklistScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request, model_admin):
        return [("global", "Global (staff)"), ("seller", "A seller's own")]

    def queryset(self, request, queryset):
        if self.value() == "global":
            return queryset.filter(user__isnull=True)
        if self.value() == "seller":
            return queryset.filter(user__isnull=False)
        return queryset


@admin.register(BlocklistTerm)
class BlocklistTermAdmin(admin.ModelAdmin):
    """Brands and keywords never published; leave the seller empty for the global list."""

    list_display = ("term", "user", "created_at")
    list_filter = (BlocklistScopeFilter,)
    list_select_related = ("user",)
    search_fields = ("term", "user__email")
    autocomplete_fields = ("user",)


@admin.register(AutomationSwitch)
class AutomationSwitchAdmin(SingletonAdminMixin, admin.ModelAdmin):
    """The global switch: while pushes are paused, changes are computed and held, not sent."""

    list_display = ("__str__", "pushes_paused", "reason", "updated_at")
    readonly_fields = ("updated_at",)
