import hashlib
import secrets
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

API_KEY_PREFIX_LENGTH = 8
TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


def token_hash(raw: str) -> str:
    """The stored form of an API key or token: only its SHA-256, never the clear value."""
    return hashlib.sha256(raw.encode()).hexdigest()


class Tier(models.TextChoices):
    FREE = "free", "Free"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


class AmazonSite(models.TextChoices):
    COM = "amazon.com", "amazon.com (United States)"
    CO_UK = "amazon.co.uk", "amazon.co.uk (United Kingdom)"
    DE = "amazon.de", "amazon.de (Germany)"
    FR = "amazon.fr", "amazon.fr (France)"
    ES = "amazon.es", "amazon.es (Spain)"
    IT = "amazon.it", "amazon.it (Italy)"
    CA = "amazon.ca", "amazon.ca (Canada)"
    COM_BR = "amazon.com.br", "amazon.com.br (Brazil)"
    AE = "amazon.ae", "amazon.ae (United Arab Emirates)"
    CO_JP = "amazon.co.jp", "amazon.co.jp (Japan)"
    COM_AU = "amazon.com.au", "amazon.com.au (Australia)"
    COM_MX = "amazon.com.mx", "amazon.com.mx (Mexico)"
    IN = "amazon.in", "amazon.in (India)"
    NL = "amazon.nl", "amazon.nl (Netherlands)"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A seller or a staff member; logs in by email."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.FREE)
    # api_key holds the SHA-256 of the key; the clear key is shown once when it is made.
    api_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    api_key_prefix = models.CharField(max_length=16, blank=True, default="", editable=False)
    api_key_created_at = models.DateTimeField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    is_demo = models.BooleanField(default=False, help_text="Demo seller: the schedule leaves their data alone.")
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    amazon_site = models.CharField(max_length=20, choices=AmazonSite.choices, default=AmazonSite.COM)
    currency = models.CharField(max_length=3, default="USD", help_text="Reporting currency of the dashboard.")
    tracked_products = models.ManyToManyField("catalog.Product", blank=True, related_name="trackers")
    # Set when the seller deletes the account: it is deactivated at once and removed after the
    # grace period staff set (AccountPolicy); staff can restore it before then.
    deletion_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        db_table = "accounts_user"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(tier__in=Tier.values), name="user_tier_valid"),
        ]
        indexes = [models.Index(fields=["api_key"], name="user_api_key_idx")]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self):
        return self.first_name or self.email

    def api_key_generate(self) -> str:
        """Make a new API key (replacing any old one), store its hash and return it once."""
        raw = f"am_{secrets.token_urlsafe(32)}"
        self.api_key = token_hash(raw)
        self.api_key_prefix = raw[: API_KEY_PREFIX_LENGTH + 3]
        self.api_key_created_at = timezone.now()
        self.save(update_fields=["api_key", "api_key_prefix", "api_key_created_at", "updated_at"])
        return raw

    def api_key_matches(self, raw: str) -> bool:
        return bool(self.api_key) and secrets.compare_digest(self.api_key, token_hash(raw))

    @property
    def product_limit(self):
        from django.conf import settings

        return settings.TIER_PRODUCT_LIMITS.get(self.tier)


class RevokeReason(models.TextChoices):
    SELLER = "seller", "Signed out by you"
    API = "api", "Ended by the script (revoke)"
    REFRESH_REUSED = "refresh_reused", "A replaced refresh token was used again"
    API_KEY_CHANGED = "api_key_changed", "The API key it was made with was replaced or revoked"
    STAFF = "staff", "Ended by support staff"


class SessionQuerySet(models.QuerySet):
    def live(self, now=None):
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class Session(models.Model):
    """An API token session: a hashed access token and refresh token issued to a seller, revocable.
    `expires_at` is when its refresh token ends (each refresh makes a new one that lives
    API_REFRESH_TOKEN_LIFETIME); the access token's own end is inside it (a JWT, 1 hour)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    name = models.CharField(max_length=100, blank=True)
    token = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the access token.")
    refresh_token = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the refresh token.")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Why it ended, for the seller's sessions page and the admin.
    revoke_reason = models.CharField(max_length=20, choices=RevokeReason.choices, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    # The visible prefix of the API key it was made with (so the seller knows which script it is).
    api_key_prefix = models.CharField(max_length=16, blank=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        db_table = "accounts_api_session"
        indexes = [models.Index(fields=["user", "revoked_at"], name="session_user_live_idx")]

    def __str__(self):
        return f"{self.user} · {self.name or 'API session'}"

    @property
    def is_live(self):
        return self.revoked_at is None and self.expires_at > timezone.now()


class RetiredRefreshToken(models.Model):
    """A refresh token a session replaced (its hash), kept so that using it again is recognised as
    theft and ends the session. Its own rows because a session rotates many times."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="retired_refresh_tokens")
    token = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the replaced refresh token.")
    retired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accounts_api_retired_refresh_token"

    def __str__(self):
        return f"Replaced refresh token of session {self.session_id}"


class IdempotencyKey(models.Model):
    """The first answer to a seller's POST sent with an Idempotency-Key, replayed to a retry with
    the same key (within API_IDEMPOTENCY_WINDOW) instead of doing the work again. `status` is null
    while the first request is still being answered."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "accounts_api_idempotency_key"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self):
        return f"{self.user_id} · {self.key[:40]}"


class ApiCallCount(models.Model):
    """API calls counted in the current minute and day for one key (a seller, or a client address
    without a token), when the rate limits live in the database (no Redis). One row per key,
    updated under its row lock, so every worker process counts the same calls."""

    key = models.CharField(max_length=100, unique=True)
    minute = models.BigIntegerField(default=0, help_text="The counted minute, in minutes since 1970 (UTC).")
    minute_count = models.PositiveIntegerField(default=0)
    day = models.IntegerField(default=0, help_text="The counted day, in days since 1970 (UTC).")
    day_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "accounts_api_call_count"

    def __str__(self):
        return f"{self.key}: {self.minute_count}/min, {self.day_count}/day"


class KnownDevice(models.Model):
    """A browser a seller has signed in from, known by a random cookie (stored hashed), so a
    sign-in from a browser not seen before can be told to the seller by email. Its own rows
    because a seller has several browsers and each needs its first and last sign-in."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="known_devices")
    token = models.CharField(max_length=64, help_text="SHA-256 of the browser's device cookie.")
    user_agent = models.CharField(max_length=400, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts_known_device"
        constraints = [models.UniqueConstraint(fields=["user", "token"], name="known_device_user_token_unique")]

    def __str__(self):
        return f"{self.user} · {self.user_agent[:60] or 'unknown browser'}"


class AccountPolicy(models.Model):
    """What staff decide about accounts as a whole (one row): how long a deleted account is kept
    before its data is removed. A row rather than a setting so staff change it in the admin."""

    deletion_grace_days = models.PositiveIntegerField(
        default=14, help_text="Days a deleted account is kept (and can be restored) before its data is removed."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "accounts_policy"
        verbose_name_plural = "account policy"

    def __str__(self):
        return f"Deleted accounts kept {self.deletion_grace_days} d"

    @classmethod
    def current(cls):
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy
