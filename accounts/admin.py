"""Admin for sellers and staff (email login, tiers, account state), their API token sessions, the
browsers they signed in from, and the account policy (how long deleted accounts are kept)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.db import transaction
from django.utils import timezone

from config.admin_utils import AuditedAdminMixin, SingletonAdminMixin, changelist_link
from monitoring.records import audit_record

from .models import AccountPolicy, KnownDevice, RevokeReason, Session, Tier, User
from .security import email_verified, second_factor_enabled
from .tokens import api_session_revoke

admin.site.site_header = "Arbitrage Monitor staff"
admin.site.site_title = "Arbitrage Monitor staff"
admin.site.index_title = "Service administration"

EMAIL_TAKEN_ERROR = "A user with this email address already exists."


def _email_clean(form) -> str:
    """Emails are unique case-insensitively and stored lower-case, as the manager does."""
    email = form.cleaned_data["email"].strip().lower()
    if User.objects.filter(email__iexact=email).exclude(pk=form.instance.pk).exists():
        raise forms.ValidationError(EMAIL_TAKEN_ERROR)
    return email


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)

    def clean_email(self):
        return _email_clean(self)


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self):
        return _email_clean(self)


@transaction.atomic
def _tier_change(modeladmin, request, queryset, tier: Tier) -> None:
    changed = 0
    for user in queryset.exclude(tier=tier):
        old_tier = user.tier
        user.tier = tier
        user.save(update_fields=["tier", "updated_at"])
        audit_record(
            acting_user=request.user,
            owner=user,
            action="tier_changed",
            resource=user,
            old_value={"tier": old_tier},
            new_value={"tier": tier.value},
            request=request,
            notes="Changed by staff in the admin.",
        )
        modeladmin.log_change(request, user, f"Changed tier from {old_tier} to {tier.value}.")
        changed += 1
    modeladmin.message_user(request, f"{changed} user(s) moved to the {tier.label} tier.", messages.SUCCESS)


def _tier_action(tier: Tier):
    def action(modeladmin, request, queryset):
        _tier_change(modeladmin, request, queryset, tier)

    action.__name__ = f"set_tier_{tier.value}"
    return admin.action(description=f"Change tier to {tier.label}", permissions=["change"])(action)


set_tier_free = _tier_action(Tier.FREE)
set_tier_pro = _tier_action(Tier.PRO)
set_tier_enterprise = _tier_action(Tier.ENTERPRISE)


@admin.action(description="Restore the selected deleted accounts", permissions=["change"])
def restore_deleted(modeladmin, request, queryset):
    restored = 0
    with transaction.atomic():
        for user in queryset.filter(deletion_requested_at__isnull=False):
            old = user.deletion_requested_at
            user.deletion_requested_at = None
            user.is_active = True
            user.save(update_fields=["deletion_requested_at", "is_active", "updated_at"])
            audit_record(
                acting_user=request.user,
                owner=user,
                action="restored",
                resource=user,
                old_value={"deletion_requested_at": old, "is_active": False},
                new_value={"deletion_requested_at": None, "is_active": True},
                request=request,
                notes="Deleted account restored by staff before its data was removed.",
            )
            modeladmin.log_change(request, user, "Restored the deleted account.")
            restored += 1
    modeladmin.message_user(
        request,
        f"{restored} account(s) restored. Their stores stay disconnected until the seller connects them.",
        messages.SUCCESS,
    )


class DeletionFilter(admin.SimpleListFilter):
    title = "deletion"
    parameter_name = "deletion"

    def lookups(self, request, model_admin):
        return [("requested", "Deleted, data kept for now")]

    def queryset(self, request, queryset):
        if self.value() == "requested":
            return queryset.filter(deletion_requested_at__isnull=False)
        return queryset


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    audit_owner = ""  # the seller is the row
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "tier", "is_active", "is_staff", "is_demo", "created_at")
    list_filter = ("tier", "is_active", DeletionFilter, "is_staff", "is_superuser", "is_demo", "amazon_site")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    # A seller may track thousands of products: ids, not a select of every product.
    raw_id_fields = ("tracked_products",)
    filter_horizontal = ("groups", "user_permissions")
    readonly_fields = (
        "api_key_prefix",
        "api_key_created_at",
        "tracked_products_summary",
        "sessions_summary",
        "security_summary",
        "deletion_requested_at",
        "last_login",
        "created_at",
        "updated_at",
    )
    actions = (set_tier_free, set_tier_pro, set_tier_enterprise, restore_deleted)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "timezone", "amazon_site", "currency")}),
        ("Plan", {"fields": ("tier", "is_demo")}),
        ("Security", {"fields": ("security_summary", "deletion_requested_at")}),
        ("API access", {"fields": ("api_key_prefix", "api_key_created_at", "sessions_summary")}),
        ("Tracked products", {"fields": ("tracked_products_summary", "tracked_products")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, obj):
        return f"{obj.first_name} {obj.last_name}".strip()

    @admin.display(description="Tracked products")
    def tracked_products_summary(self, obj):
        product_model = User._meta.get_field("tracked_products").related_model
        count = obj.tracked_products.count()
        return changelist_link(product_model, f"{count} product(s) — open the list", trackers__id__exact=obj.pk)

    @admin.display(description="Email and two-factor")
    def security_summary(self, obj):
        if obj.pk is None:
            return "—"
        email = "email confirmed" if email_verified(obj) else "email not confirmed"
        factor = "two-factor on" if second_factor_enabled(obj) else "two-factor off"
        devices = obj.known_devices.count()
        return f"{email} · {factor} · {devices} known browser(s)"

    @admin.display(description="API sessions")
    def sessions_summary(self, obj):
        live = obj.sessions.live().count()
        return changelist_link(Session, f"{live} live session(s) — open the list", user__id__exact=obj.pk)


class SessionStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    """API token sessions are issued by the API, never typed in: staff look and revoke."""

    list_display = (
        "user",
        "name",
        "is_live",
        "api_key_prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "revoke_reason",
        "ip_address",
    )
    list_filter = (SessionStateFilter, "revoke_reason")
    list_select_related = ("user",)
    search_fields = ("user__email", "name", "user_agent")
    date_hierarchy = "created_at"
    # The token columns hold only SHA-256 hashes (nothing a script could use).
    readonly_fields = (
        "user",
        "name",
        "token",
        "refresh_token",
        "api_key_prefix",
        "expires_at",
        "created_at",
        "revoked_at",
        "revoke_reason",
        "last_used_at",
        "ip_address",
        "user_agent",
    )
    actions = ("revoke_sessions",)

    @admin.display(description="Live", boolean=True)
    def is_live(self, obj):
        return obj.is_live

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("accounts.change_session")

    @admin.action(description="Revoke selected sessions", permissions=["revoke"])
    def revoke_sessions(self, request, queryset):
        """End the sessions at once (their tokens stop working), each audited for its seller."""
        revoked = 0
        for session in queryset.filter(revoked_at__isnull=True).select_related("user"):
            ended = api_session_revoke(
                session=session, reason=RevokeReason.STAFF, acting_user=request.user, request=request
            )
            if ended:
                self.log_change(request, session, "Revoked.")
                revoked += 1
        self.message_user(request, f"{revoked} session(s) revoked.", messages.SUCCESS)


@admin.register(KnownDevice)
class KnownDeviceAdmin(admin.ModelAdmin):
    """Browsers sellers signed in from (a new one sends the seller a notice); staff look only."""

    list_display = ("user", "user_agent", "ip_address", "created_at", "last_seen_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "user_agent", "ip_address")
    date_hierarchy = "created_at"
    readonly_fields = ("user", "token", "user_agent", "ip_address", "created_at", "last_seen_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AccountPolicy)
class AccountPolicyAdmin(SingletonAdminMixin, admin.ModelAdmin):
    """How long a deleted account is kept (and can be restored) before its data is removed."""

    list_display = ("__str__", "deletion_grace_days", "updated_at")
    readonly_fields = ("updated_at",)
