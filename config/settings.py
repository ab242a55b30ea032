"""Settings for the whole product, read from the environment (and an optional `.env`).

With nothing set the app runs on its embedded default: a SQLite file, a file cache shared by
every process, console email and Celery on kombu's filesystem broker. `DATABASE_URL` and
`REDIS_URL` switch to PostgreSQL and Redis; `DJANGO_ENV=production` switches on production mode.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# What the embedded default writes besides its database: the file cache, the filesystem broker,
# the worker's log (scripts/run.sh). A relative path counts from the project folder.
VAR_DIR = BASE_DIR / env("VAR_DIR", default="var")

DJANGO_ENV = env("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"

if PRODUCTION:
    for required in ("SECRET_KEY", "CRYPTOGRAPHY_KEY", "API_SIGNING_KEY"):
        if not env(required, default=""):
            raise ImproperlyConfigured(f"{required} must be set when DJANGO_ENV=production.")

# The development keys are fixed and recognisable: production refuses to start with either.
DEV_SECRET = "dev-only-insecure-secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"
DEV_CRYPTOGRAPHY_KEY = "dev-only-insecure-cryptography-key"
DEV_API_SIGNING_KEY = "dev-only-insecure-api-signing-key-change-me-0123456789"
SECRET_KEY = env("SECRET_KEY", default=DEV_SECRET)
# Keys the encrypted model fields (store credentials, proxy passwords); never SECRET_KEY.
CRYPTOGRAPHY_KEY = env("CRYPTOGRAPHY_KEY", default=DEV_CRYPTOGRAPHY_KEY)
# Signs the seller API's access tokens (JWTs); never SECRET_KEY, so either can change alone.
API_SIGNING_KEY = env("API_SIGNING_KEY", default=DEV_API_SIGNING_KEY)
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Where `make run` serves the site on this machine (its HOST and PORT; 0.0.0.0 and localhost are
# reached at 127.0.0.1): the address seed_demo prints and, in development, where the demo shop is
# fetched.
_LOCAL_HOST = env("HOST", default="127.0.0.1").strip() or "127.0.0.1"
LOCAL_ORIGIN = "http://{host}:{port}".format(
    host="127.0.0.1" if _LOCAL_HOST in ("0.0.0.0", "::", "[::]", "localhost") else _LOCAL_HOST,
    port=env.int("PORT", default=8000),
)
# Material the project does not own (official API specs, saved product pages: config/material.py);
# only the tests and the refresh benchmark read it. A relative path counts from the project folder.
SHARED_MATERIAL_DIR = BASE_DIR / env("SHARED_MATERIAL_DIR", default=str(BASE_DIR.parent / "shared"))

INSTALLED_APPS = [
    # The admin's default site is ours: its login goes through allauth (two-factor included).
    "config.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "catalog",
    "marketplaces",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.SessionActivityMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database and cache -------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for a lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20})
    # Tests too use a file (not shared-cache memory, which fails at once on a lock instead of
    # waiting), as the tracking round's reading threads and a live server share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
# Seconds a cache or broker connection may take before it counts as down (pages must not wait).
SERVICE_CONNECT_TIMEOUT = env.float("SERVICE_CONNECT_TIMEOUT", default=2.0)
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis down = no cache (reads miss, writes are dropped, logged once), never a 500.
            "BACKEND": "config.cache.ForgivingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": SERVICE_CONNECT_TIMEOUT, "socket_timeout": SERVICE_CONNECT_TIMEOUT},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Accounts -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "monitoring:dashboard"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: sign-up, log-in, email verification, password reset, re-authentication,
# two-factor (TOTP and recovery codes) and browser sessions, at /accounts/ with our templates.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
# Mandatory: an account signs in only once its address is confirmed, which is also what lets
# sign-up answer the same whether or not the address already has an account.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CHANGE_EMAIL = True  # a new address replaces the old one once it is confirmed
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a mail scanner following the link confirms nothing
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 3
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # a reset asked for an unknown address sends nothing
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Arbitrage Monitor: "
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# allauth's own limits, kept in the cache. Failed log-ins are counted by django-axes alone (in the
# database, so the lockout holds while Redis is down), so allauth's log-in limits are off.
ACCOUNT_RATE_LIMITS = {
    "login": None,
    "login_failed": None,
    "signup": "10/h/ip",
    "reset_password": "20/h/ip,3/15m/key",
    "reset_password_from_key": "20/h/ip",
    "confirm_email": "20/h/ip,1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]  # passkeys are not offered
MFA_TOTP_ISSUER = "Arbitrage Monitor"
MFA_FORMS = {
    "authenticate": "accounts.forms.SecondFactorForm",
    "deactivate_totp": "accounts.forms.TOTPDeactivateForm",
    "generate_recovery_codes": "accounts.forms.RecoveryCodesGenerateForm",
}
# Staff must use two-factor authentication to open the admin (on by default in production).
STAFF_REQUIRE_MFA = env.bool("STAFF_REQUIRE_MFA", default=PRODUCTION)
# A browser's "last seen" is written at most this often (each write is a database row update).
SESSION_ACTIVITY_INTERVAL = timedelta(minutes=5)
# The cookie that lets a sign-in from a browser seen before go without a "new device" notice.
DEVICE_COOKIE_NAME = "am_device"
DEVICE_COOKIE_AGE = timedelta(days=400)

# What each tier allows (None = unlimited), enforced alike by the pages and the API
# (accounts.limits) and shown with the usage on the settings page. Listed products count as
# tracked (a listed product stays in its seller's tracked set); live listings are the ones not
# ended or delisted; stores are the connected ones.
TIER_PRODUCT_LIMITS = {"free": 50, "pro": 2000, "enterprise": None}
TIER_STORE_LIMITS = {"free": 3, "pro": 20, "enterprise": None}
TIER_LISTING_LIMITS = {"free": 250, "pro": 20_000, "enterprise": None}
# Seller API calls per minute and per (UTC) day; requests without a token count per client address.
TIER_API_RATE_LIMITS = {
    "free": {"minute": 60, "day": 1_000},
    "pro": {"minute": 600, "day": 50_000},
    "enterprise": {"minute": 6_000, "day": 1_000_000},
}
API_ANONYMOUS_RATE_LIMITS = {"minute": 60, "day": 1_000}
TIER_REFRESH_INTERVALS = {
    "free": timedelta(days=1),
    "pro": timedelta(hours=1),
    "enterprise": timedelta(minutes=15),
}

# A reading that moves the price by more than this percent (or changes the currency, or goes
# out of stock) is confirmed by a second fetch before it is applied.
PRICE_CHANGE_CONFIRM_PERCENT = env.int("PRICE_CHANGE_CONFIRM_PERCENT", default=50)
# Readings are checked before they are written (catalog.readings). A price above its currency's
# sanity ceiling makes the whole reading invalid ("*" for currencies not named); the model's own
# bound (10 digits before the point) holds for every currency.
READING_PRICE_CEILING = {
    "*": 100_000_000,
    **dict.fromkeys(["USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "SGD", "AED", "SAR"], 1_000_000),
    **dict.fromkeys(["JPY", "CNY", "INR", "MXN", "BRL", "SEK", "PLN", "TRY", "ZAR", "EGP", "TWD"], 100_000_000),
    **dict.fromkeys(["KRW", "IDR", "VND", "IRR", "LAK", "UZS", "COP", "CLP"], 9_999_999_999),
}
# A page whose title shares less than this fraction of the shorter title's words with the
# product's is another product (used only when neither the page nor its URLs state an id).
READING_TITLE_MIN_OVERLAP = 0.5
# After this many wrong-product readings in a row the product's live listings are paused and
# every seller tracking it is alerted once.
WRONG_PRODUCT_PAUSE_AFTER = env.int("WRONG_PRODUCT_PAUSE_AFTER", default=3)
# Backup sources of a listing (marketplaces.services.sources): a source qualifies only when it was
# read successfully within SOURCE_READABLE_HOURS; a listing switches back to a more preferred source
# only once it has qualified without a break for SOURCE_SWITCH_BACK_MINUTES (no flapping).
SOURCE_READABLE_HOURS = env.int("SOURCE_READABLE_HOURS", default=6)
SOURCE_SWITCH_BACK_MINUTES = env.int("SOURCE_SWITCH_BACK_MINUTES", default=60)
# After this many failed refreshes in a row the seller is told the product cannot be read.
SCRAPE_FAILURE_THRESHOLD = env.int("SCRAPE_FAILURE_THRESHOLD", default=5)
# How long a worker holds the products it claimed for refresh: renewed with its round's heartbeat,
# and long enough that a round resumed after its worker died finds its products still its own.
REFRESH_CLAIM_DURATION = timedelta(minutes=10)
# One tracking round claims at most this many products and reads up to this many at a time
# (catalog.refreshing starts a thread per CPU and adds threads while sites are slow).
TRACK_BATCH_SIZE = env.int("TRACK_BATCH_SIZE", default=500)
TRACK_CONCURRENCY = env.int("TRACK_CONCURRENCY", default=8)
TRACK_RESULT_ROWS = 1000  # outcomes kept in the Job result
# A scheduled round claims batch after batch while products are due, for up to this long (inside
# the beat interval; its deliveries hand over every JOB_BATCH_SECONDS).
TRACK_ROUND_SECONDS = env.int("TRACK_ROUND_SECONDS", default=240)
# How many scheduled rounds run at once, each in its own worker process, claiming from the same due
# products (README, "Scale out": one per worker process the catalogue needs).
TRACK_PARALLEL_ROUNDS = env.int("TRACK_PARALLEL_ROUNDS", default=1)
# A product that keeps failing waits longer each time, up to this.
REFRESH_BACKOFF_MAX = timedelta(hours=6)

CSV_IMPORT_MAX_ROWS = env.int("CSV_IMPORT_MAX_ROWS", default=100_000)
CSV_IMPORT_MAX_BYTES = 20 * 1024 * 1024

# Failed logins: locked per account and per address after AXES_FAILURE_LIMIT tries.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# The email is counted folded (case, surrounding spaces), at the password and second-factor steps alike.
AXES_USERNAME_CALLABLE = "accounts.lockout.axes_username"
AXES_SENSITIVE_PARAMETERS = ["password", "code"]
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_RESET_ON_SUCCESS = True
# Behind a reverse proxy the client address is the left-most X-Forwarded-For entry.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Email and notifications --------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Arbitrage Monitor <noreply@localhost>")

# --- Celery -------------------------------------------------------------------------------
BROKER_VISIBILITY_TIMEOUT = 3600  # seconds
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
# Its own queue name lets a test or a benchmark run workers beside others on one Redis database.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "store_processed": False,
        # Where it keeps exchange bindings (by default a "control" folder wherever it runs).
        "control_folder": str(VAR_DIR / "broker-control"),
    }
    # The control exchange (remote control, `celery inspect`) lives beside them, not in ./control.
    CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"] = str(VAR_DIR / "broker-control")
    # kombu's filesystem transport never creates its folders, and any process may be the first.
    for _folder in ("broker", "broker-processed", "broker-control"):
        (VAR_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,  # see "Liveness and recovery" below
        "socket_connect_timeout": SERVICE_CONNECT_TIMEOUT,
    }
# Sending a task to a broker that is down fails within seconds (monitoring.records.task_enqueue
# turns that into a failed Job and a message), instead of Celery's default waits.
CELERY_BROKER_CONNECTION_TIMEOUT = SERVICE_CONNECT_TIMEOUT
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # a Job row is the record of every task a person follows
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# --- Liveness and recovery ---
# A worker can die at any moment (kill -9, out of memory, a lost machine), and the broker does not
# bring its work back soon: with acks_late and reject_on_worker_lost a killed worker's task stays
# unacknowledged in Redis until the visibility timeout (an hour) and then reaches whichever worker
# restores it, while the filesystem broker of the embedded default deletes a message when a worker
# takes it, so nothing ever comes back there. Recovery therefore belongs to the Job row, not the
# broker:
# - A running Job holds a lease: the delivery running it (lease_token) renews heartbeat_at every
#   JOB_HEARTBEAT_SECONDS from a timer thread, whatever the task is doing (a healthy round may wait
#   minutes for a rate-limit slot), and in the same beat renews its product claims, one statement
#   for all of them. A Job whose heartbeat is older than its type's JOB_STALE_AFTER is stale: the
#   sweep (every JOB_SWEEP_SECONDS) hands it to another worker, which carries on from the Job's
#   checkpoint; a stale round never blocks the next one. A delivered task whose Job another worker
#   holds with a fresh heartbeat exits at once, so the broker's late redelivery and the sweep never
#   run one Job twice. Tracking, after a kill: stale within 2 min, resumed within 3 (+ a free worker).
# - Long work runs in batches of about JOB_BATCH_SECONDS, each saved on the Job (checkpoint,
#   progress) when it ends and tracking's product claims released in the statement that writes
#   each product: a resumed Job redoes at most the batch in hand, and never what was written. A
#   delivery that has used its JOB_BATCH_SECONDS hands the Job on to a new delivery of the same
#   task, so every task ends far inside its time limits, which are far inside the visibility
#   timeout: Redis never hands a running task to a second worker, and a slow supplier or a CSV of
#   100,000 rows never runs into a time limit.
# - Waiting never happens in the broker. A countdown task sits unacknowledged in a worker until
#   it is due, so one longer than the visibility timeout would be delivered twice, and a worker
#   dying meanwhile loses it for the timeout. A Job's retry (backoff or Retry-After, up to 10
#   minutes) is next_retry_at, sent by the sweep when due; other tasks' countdowns stay under
#   TASK_COUNTDOWN_MAX and longer waits are left to their own sweep or schedule.
# - PostgreSQL dropping a worker's connections is a lost connection, not a failure: the task
#   closes it, hands the Job to a new delivery at once (counted as a retry) and carries on; the
#   heartbeat thread opens a fresh connection at every beat.
JOB_HEARTBEAT_SECONDS = env.int("JOB_HEARTBEAT_SECONDS", default=20)
JOB_STALE_AFTER = {
    "*": timedelta(seconds=env.int("JOB_STALE_AFTER_SECONDS", default=300)),
    "track_products": timedelta(seconds=env.int("JOB_STALE_AFTER_TRACKING_SECONDS", default=120)),
    "refresh_product": timedelta(seconds=env.int("JOB_STALE_AFTER_TRACKING_SECONDS", default=120)),
}
JOB_SWEEP_SECONDS = env.int("JOB_SWEEP_SECONDS", default=60)
JOB_BATCH_SECONDS = env.int("JOB_BATCH_SECONDS", default=60)
TASK_COUNTDOWN_MAX = 300  # seconds
# A pending Job whose task no worker picked up this long after it was sent is sent again (the
# message was lost: a worker killed with it prefetched, a broker that lost its data).
JOB_DEADLINE = timedelta(minutes=15)
# Automatic retries: a wait asked for, a worker lost or a lost database connection; then it fails.
JOB_MAX_RETRIES = 3


def liveness_problem() -> str | None:
    """The first of the bounds above that the settings break, as one line (None when they hold)."""
    shortest = min(JOB_STALE_AFTER.values()).total_seconds()
    if JOB_HEARTBEAT_SECONDS < 1 or shortest < JOB_HEARTBEAT_SECONDS * 3:
        return "JOB_HEARTBEAT_SECONDS must be at least 1 and at most a third of the shortest JOB_STALE_AFTER."
    longest = max(JOB_STALE_AFTER.values()).total_seconds()
    if REFRESH_CLAIM_DURATION.total_seconds() < longest + 2 * JOB_SWEEP_SECONDS:
        return "REFRESH_CLAIM_DURATION must outlast a stale round until the sweep resumes it."
    if not 0 < JOB_BATCH_SECONDS <= CELERY_TASK_SOFT_TIME_LIMIT / 4:
        return "JOB_BATCH_SECONDS must be positive and well inside the tasks' time limit."
    if CELERY_TASK_TIME_LIMIT + TASK_COUNTDOWN_MAX >= BROKER_VISIBILITY_TIMEOUT:
        return "A task's time limit and the longest countdown must fit inside the broker's visibility timeout."
    return None


if problem := liveness_problem():
    raise ImproperlyConfigured(problem)
CELERY_BEAT_SCHEDULE = {
    "jobs-sweep": {"task": "monitoring.tasks.jobs_sweep_task", "schedule": float(JOB_SWEEP_SECONDS)},
    # Every minute in development, so the demo shop's products (due every DEMO_SHOP_REFRESH_INTERVAL)
    # are followed live; a tick with nothing due starts no round.
    "tracking-cycle": {"task": "monitoring.tasks.tracking_cycle_start", "schedule": 300.0 if PRODUCTION else 60.0},
}
# A pending Job no worker picked up within this is not followed ("Refresh now" starts another).
JOB_PICKUP_TIMEOUT = timedelta(minutes=2)
# Each worker records that it is alive this often (the service-health page shows it).
WORKER_HEARTBEAT_SECONDS = 60

# --- Marketplaces ---
# App-level credentials of our marketplace apps (each seller's tokens live encrypted on their
# StoreAccount). Base URLs are settings so tests and sandboxes can point them elsewhere.
MARKETPLACE_HTTP_TIMEOUT = env.float("MARKETPLACE_HTTP_TIMEOUT", default=20.0)
# Tokens expiring within this margin are refreshed before a call (ensure_fresh_token).
MARKETPLACE_TOKEN_REFRESH_MARGIN = timedelta(minutes=env.int("MARKETPLACE_TOKEN_REFRESH_MARGIN_MINUTES", default=5))
EBAY_CLIENT_ID = env("EBAY_CLIENT_ID", default="")
EBAY_CLIENT_SECRET = env("EBAY_CLIENT_SECRET", default="")
EBAY_RUNAME = env("EBAY_RUNAME", default="")  # eBay's redirect_uri is the RuName, not a URL
EBAY_MARKETPLACE_ID = env("EBAY_MARKETPLACE_ID", default="EBAY_US")
EBAY_CONTENT_LANGUAGE = env("EBAY_CONTENT_LANGUAGE", default="en-US")
EBAY_AUTH_BASE_URLS = {
    "production": env("EBAY_AUTH_BASE_URL", default="https://auth.ebay.com"),
    "sandbox": env("EBAY_SANDBOX_AUTH_BASE_URL", default="https://auth.sandbox.ebay.com"),
}
EBAY_API_BASE_URLS = {
    "production": env("EBAY_API_BASE_URL", default="https://api.ebay.com"),
    "sandbox": env("EBAY_SANDBOX_API_BASE_URL", default="https://api.sandbox.ebay.com"),
}
EBAY_SCOPES = [
    "https://api.ebay.com/oauth/api_scope",
    "https://api.ebay.com/oauth/api_scope/sell.inventory",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
    "https://api.ebay.com/oauth/api_scope/sell.analytics.readonly",
    "https://api.ebay.com/oauth/api_scope/sell.account",
]
SHOPIFY_CLIENT_ID = env("SHOPIFY_CLIENT_ID", default="")
SHOPIFY_CLIENT_SECRET = env("SHOPIFY_CLIENT_SECRET", default="")
SHOPIFY_API_VERSION = "2026-07"  # pinned: behaviour differs per quarterly version
SHOPIFY_REDIRECT_URI = env("SHOPIFY_REDIRECT_URI", default="http://localhost:8000/stores/shopify/callback/")
SHOPIFY_SCOPES = [
    "read_products",
    "write_products",
    "read_inventory",
    "write_inventory",
    "read_locations",
    "read_orders",
    "read_merchant_managed_fulfillment_orders",
    "write_merchant_managed_fulfillment_orders",
]
# Shopify gives the buyer's name and ship-to address only to apps approved for protected customer
# data (level 2); without the approval Shopify refuses any order query that asks for them, so turn
# this off and orders come in without an address.
SHOPIFY_PROTECTED_CUSTOMER_DATA = env.bool("SHOPIFY_PROTECTED_CUSTOMER_DATA", default=True)
SHOPIFY_SHOP_BASE_URL = env("SHOPIFY_SHOP_BASE_URL", default="https://{shop}")  # {shop} = x.myshopify.com
SHOPIFY_MIN_AVAILABLE_POINTS = env.int("SHOPIFY_MIN_AVAILABLE_POINTS", default=100)
ETSY_KEYSTRING = env("ETSY_KEYSTRING", default="")
ETSY_SHARED_SECRET = env("ETSY_SHARED_SECRET", default="")
ETSY_REDIRECT_URI = env("ETSY_REDIRECT_URI", default="http://localhost:8000/stores/etsy/callback/")
ETSY_AUTHORIZE_URL = env("ETSY_AUTHORIZE_URL", default="https://www.etsy.com/oauth/connect")
ETSY_TOKEN_URL = env("ETSY_TOKEN_URL", default="https://openapi.etsy.com/v3/public/oauth/token")  # spec tokenUrl
ETSY_API_BASE_URL = env("ETSY_API_BASE_URL", default="https://openapi.etsy.com")
ETSY_SCOPES = ["listings_r", "listings_w", "listings_d", "shops_r", "transactions_r", "transactions_w"]
# What sending tracking numbers needs from a store's grant; a store connected before shipping came
# lacks them and shows "Reconnect to enable shipping".
MARKETPLACE_SHIPPING_SCOPES = {
    "ebay": ["https://api.ebay.com/oauth/api_scope/sell.fulfillment"],
    "shopify": ["read_merchant_managed_fulfillment_orders", "write_merchant_managed_fulfillment_orders"],
    "etsy": ["transactions_w"],
}
ETSY_REQUESTS_PER_SECOND = env.int("ETSY_REQUESTS_PER_SECOND", default=10)
ETSY_SKU_LOOKUP_PAGES = env.int("ETSY_SKU_LOOKUP_PAGES", default=3)  # pages of 100 per state
# --- end Marketplaces ---

# --- Marketplace sync ---
# How often each store's new orders are fetched (beat), and how far back the first fetch looks.
MARKETPLACE_ORDERS_SYNC_MINUTES = env.int("MARKETPLACE_ORDERS_SYNC_MINUTES", default=15)
MARKETPLACE_ORDERS_FIRST_SYNC = timedelta(days=env.int("MARKETPLACE_ORDERS_FIRST_SYNC_DAYS", default=2))
# Each fetch starts this much before the last one ended (lines seen twice are deduplicated).
MARKETPLACE_ORDERS_OVERLAP = timedelta(minutes=10)
# Revisions a marketplace allows per listing and calendar day (eBay: 250); beyond it changes wait.
MARKETPLACE_DAILY_REVISION_CAPS = {"ebay": env.int("EBAY_DAILY_REVISIONS", default=250)}
# eBay's traffic-report allowance, treated as per application (DESIGN.md: quotas are shared).
EBAY_TRAFFIC_DAILY_CALLS = env.int("EBAY_TRAFFIC_DAILY_CALLS", default=100)
# Etsy requests kept for price/stock pushes: statistics wait when fewer remain today.
ETSY_STATS_QUOTA_RESERVE = env.int("ETSY_STATS_QUOTA_RESERVE", default=2000)
# The daily import catches up on days whose statistics waited, at most this many days back.
MARKETPLACE_STATS_CATCH_UP_DAYS = env.int("MARKETPLACE_STATS_CATCH_UP_DAYS", default=7)
# A tracking number the marketplace could not take now (busy, unreachable, store to reconnect) is sent
# again by beat after a growing wait, at most this many times.
ORDER_SHIPMENT_MAX_ATTEMPTS = env.int("ORDER_SHIPMENT_MAX_ATTEMPTS", default=8)
# A push the marketplace asked to slow down is tried again by a task, this many times.
MARKETPLACE_FOLLOW_RETRIES = env.int("MARKETPLACE_FOLLOW_RETRIES", default=3)
# ECB euro reference rates (units per EUR), refreshed daily by `refresh_rates` / beat.
ECB_RATES_URL = env("ECB_RATES_URL", default="https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml")
# Documented fee defaults offered for a new store (shared/MARKETPLACE_APIS.md, D); dated because
# marketplaces change them. Each is a percent of the sale price plus a fixed amount per sale, split
# into the marketplace's own fee and the payment processor's, so that nothing is counted twice.
MARKETPLACE_FEE_DEFAULTS = {
    "ebay": {
        "fee_percent": "13.60",
        "fee_fixed": "0.40",
        "payment_fee_percent": "0.00",
        "payment_fee_fixed": "0.00",
        "as_of": "2026-01",
        "note": "eBay final value fee, most categories (13.6% up to $7,500) plus the $0.40 per-order fee "
        "for orders over $10 ($0.30 at or under $10); payment processing is included in it. Some categories "
        "differ: check yours.",
    },
    "shopify": {
        "fee_percent": "0.00",
        "fee_fixed": "0.00",
        "payment_fee_percent": "2.90",
        "payment_fee_fixed": "0.30",
        "as_of": "2026-01",
        "note": "No fee per sale from Shopify itself; Shopify Payments, Basic plan, US online cards: 2.9% + 30¢. "
        "Higher plans pay less; third-party gateways add 0.5–2%.",
    },
    "etsy": {
        "fee_percent": "6.50",
        "fee_fixed": "0.20",
        "payment_fee_percent": "3.00",
        "payment_fee_fixed": "0.25",
        "as_of": "2026-01",
        "note": "Etsy transaction fee 6.5% plus the $0.20 listing fee renewed after each sale; US payment "
        "processing 3% + $0.25. Offsite Ads (12–15%) are not included.",
    },
}
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE.update(
    {
        "marketplace-orders-sync": {
            "task": "marketplaces.tasks.stores_orders_sync_task",
            "schedule": MARKETPLACE_ORDERS_SYNC_MINUTES * 60.0,
        },
        "marketplace-performance-import": {
            "task": "marketplaces.tasks.stores_performance_import_task",
            "schedule": crontab(hour=3, minute=30),
        },
        "order-shipments-retry": {
            # Tracking numbers the marketplace could not take yet (busy, store to reconnect).
            "task": "marketplaces.tasks.shipments_retry_task",
            "schedule": 300.0,
        },
        "listing-sources-check": {
            # Listings with backup sources: time alone can make a source unreadable, or good long enough
            # to switch back to.
            "task": "marketplaces.tasks.listings_sources_follow_task",
            "schedule": 600.0,
        },
        "marketplace-pending-push": {
            # Changes held for a revision cap, a busy marketplace or a switch go out once they may.
            "task": "marketplaces.tasks.store_pending_push_task",
            "schedule": crontab(minute=5),
        },
        "exchange-rates-refresh": {
            # The ECB publishes around 16:00 CET on working days.
            "task": "marketplaces.tasks.rates_refresh_task",
            "schedule": crontab(hour=16, minute=30),
        },
    }
)
# --- end Marketplace sync ---

# --- Marketplace endpoints ---
# eBay's marketplace account deletion notifications: the verification token (32-80 letters,
# digits, _ or -) and this endpoint's public https URL, both exactly as saved in eBay's developer
# portal (the challenge answer is a hash of the two with eBay's code).
EBAY_VERIFICATION_TOKEN = env("EBAY_VERIFICATION_TOKEN", default="")
EBAY_DELETION_ENDPOINT_URL = env("EBAY_DELETION_ENDPOINT_URL", default="")
# The eBay environment whose Notification API holds the keys that sign those notifications.
EBAY_NOTIFICATION_ENVIRONMENT = env("EBAY_NOTIFICATION_ENVIRONMENT", default="production")
# Seconds a fetched notification public key is kept in the shared cache.
EBAY_NOTIFICATION_KEY_CACHE_SECONDS = env.int("EBAY_NOTIFICATION_KEY_CACHE_SECONDS", default=3600)
# The stores page warns when a store's refresh token ends within this many days.
MARKETPLACE_REFRESH_EXPIRY_WARNING_DAYS = env.int("MARKETPLACE_REFRESH_EXPIRY_WARNING_DAYS", default=14)
# --- end Marketplace endpoints ---

# --- Fetching (catalog) ---
# Supplier pages are fetched only from public addresses; these hosts (exact names or IP literals)
# skip that rule, e.g. SCRAPER_ALLOWED_HOSTS=127.0.0.1 for tests and the benchmark.
SCRAPER_ALLOWED_HOSTS = env.list("SCRAPER_ALLOWED_HOSTS", default=[])
SCRAPER_USER_AGENT = env(
    "SCRAPER_USER_AGENT",
    default="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
)
SCRAPER_CONNECT_TIMEOUT = env.float("SCRAPER_CONNECT_TIMEOUT", default=10.0)
SCRAPER_READ_TIMEOUT = env.float("SCRAPER_READ_TIMEOUT", default=20.0)
# One request with its redirects and body, start to end; a page past it fails (FetchFailed).
SCRAPER_TOTAL_TIMEOUT = env.float("SCRAPER_TOTAL_TIMEOUT", default=30.0)
SCRAPER_MAX_RESPONSE_BYTES = env.int("SCRAPER_MAX_RESPONSE_BYTES", default=5 * 1024 * 1024)
SCRAPER_MAX_REDIRECTS = env.int("SCRAPER_MAX_REDIRECTS", default=5)
# Tries per fetch_page call (another proxy each time when the pool has several); backoff between them.
SCRAPER_MAX_ATTEMPTS = env.int("SCRAPER_MAX_ATTEMPTS", default=3)
SCRAPER_BACKOFF_BASE = env.float("SCRAPER_BACKOFF_BASE", default=1.0)
SCRAPER_BACKOFF_MAX = env.float("SCRAPER_BACKOFF_MAX", default=30.0)
# A Retry-After longer than this is not slept through: Blocked/FetchFailed carry it to the caller.
SCRAPER_MAX_RETRY_AFTER = env.float("SCRAPER_MAX_RETRY_AFTER", default=60.0)
# Per-supplier rate limit: "redis" (when REDIS_URL is set) or "db" (the catalog_rate_limit_state table).
SCRAPER_RATE_LIMIT_BACKEND = env("SCRAPER_RATE_LIMIT_BACKEND", default="redis" if REDIS_URL else "db")
# Sends are spaced at least (1 + margin) x 60/rate_limit apart, plus up to jitter x that, at random.
SCRAPER_RATE_MARGIN = env.float("SCRAPER_RATE_MARGIN", default=0.01)
SCRAPER_RATE_JITTER = env.float("SCRAPER_RATE_JITTER", default=0.03)
# Longest a fetch waits for its rate-limit slot before giving up (FetchFailed, retryable).
SCRAPER_RATE_MAX_WAIT = env.float("SCRAPER_RATE_MAX_WAIT", default=300.0)
# Suppliers with requires_js are rendered by Playwright driving this Chromium.
CHROMIUM_PATH = env("CHROMIUM_PATH", default="/usr/bin/chromium")
SCRAPER_BROWSER_TIMEOUT = env.float("SCRAPER_BROWSER_TIMEOUT", default=45.0)
# Resource types the browser does not load at all (product data is in the page, not the pixels).
SCRAPER_BROWSER_SKIP_RESOURCES = env.list("SCRAPER_BROWSER_SKIP_RESOURCES", default=["image", "media", "font"])
# manage.py check_proxies requests this URL through every active proxy.
PROXY_CHECK_URL = env("PROXY_CHECK_URL", default="https://example.com/")
PROXY_CHECK_TIMEOUT = env.float("PROXY_CHECK_TIMEOUT", default=15.0)
# A proxy failing to connect this many times in a row is deactivated (with the reason shown to staff).
PROXY_MAX_CONSECUTIVE_FAILURES = env.int("PROXY_MAX_CONSECUTIVE_FAILURES", default=8)
# --- end Fetching (catalog) ---

# --- Extraction (catalog) ---
# A page that only says when the item ships ("Usually ships within 2 to 3 days", "Envío en 1-2
# semanas") counts as in stock when the latest time it states is at most this many days; a longer
# wait is "unknown", so listings do not sell what the supplier sends weeks later.
AVAILABILITY_SHIPS_WITHIN_DAYS = env.int("AVAILABILITY_SHIPS_WITHIN_DAYS", default=7)
# --- end Extraction (catalog) ---
# --- The demo shop (development only) ---
# Product pages written by this project (catalog.demo_shop), served by the app itself under
# /demo-shop/ so a new user sees tracking work offline. Only in development: production never
# serves it, and its address (the local origin, which is loopback) is allowed for fetching only
# while it is on (catalog.netsafety). Prices and stock change in steps per DEMO_SHOP_WINDOW
# seconds, so the second fetch that confirms a big move sees the same page; products on it are
# due every DEMO_SHOP_REFRESH_INTERVAL.
DEMO_SHOP_ENABLED = not PRODUCTION and env.bool("DEMO_SHOP", default=True)
DEMO_SHOP_URL = env("DEMO_SHOP_URL", default=f"{LOCAL_ORIGIN}/demo-shop/") if DEMO_SHOP_ENABLED else ""
DEMO_SHOP_WINDOW = 120
DEMO_SHOP_REFRESH_INTERVAL = timedelta(seconds=45)
# --- end The demo shop ---

# --- Notifications ---
# Links in emails, text messages and webhooks point here (the site's public address).
SITE_URL = env("SITE_URL", default=LOCAL_ORIGIN)
# Text messages go through Twilio's REST API (Messages resource); empty = SMS channels fail with a clear error.
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")  # E.164, e.g. +15005550006
TWILIO_API_BASE = env("TWILIO_API_BASE", default="https://api.twilio.com")
TWILIO_TIMEOUT = env.float("TWILIO_TIMEOUT", default=15.0)
# A webhook POST, connection to last byte, takes at most this many seconds.
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
# Tries per notification (first send included); waits between them double, up to 10 minutes.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
# notifications_queue() without alerts looks at alerts raised this recently.
NOTIFICATION_QUEUE_WINDOW = timedelta(days=1)
# A finished job is reported by email when it ran at least this long or handled this many items.
JOB_NOTIFY_MIN_SECONDS = env.int("JOB_NOTIFY_MIN_SECONDS", default=60)
JOB_NOTIFY_MIN_ITEMS = env.int("JOB_NOTIFY_MIN_ITEMS", default=100)
# Alert rules: a reprice moving the price more than this percent is worth an alert.
ALERT_REPRICE_PERCENT = env.int("ALERT_REPRICE_PERCENT", default=20)
# A price drop is measured from the highest price of this period.
ALERT_PRICE_DROP_LOOKBACK = timedelta(days=env.int("ALERT_PRICE_DROP_LOOKBACK_DAYS", default=7))
# Staff are alerted when products are overdue for refresh by more than this.
ALERT_TRACKING_STALE_AFTER = timedelta(minutes=env.int("ALERT_TRACKING_STALE_MINUTES", default=60))
# ... and when this many Jobs of one type failed within the window.
ALERT_JOB_FAILURES = env.int("ALERT_JOB_FAILURES", default=3)
ALERT_JOB_FAILURE_WINDOW = timedelta(hours=1)
from celery.schedules import crontab  # noqa: E402

CELERY_BEAT_SCHEDULE.update(
    {
        "service-alerts": {"task": "monitoring.tasks.service_alerts_check_task", "schedule": 600.0},
        # Orders not bought in time or near/past their ship-by date (time passing raises them).
        "order-alerts": {"task": "monitoring.tasks.order_alerts_check_task", "schedule": 900.0},
        "notifications-sweep": {"task": "monitoring.tasks.notifications_sweep_task", "schedule": 600.0},
        "notifications-digest": {
            "task": "monitoring.tasks.notifications_send_digests_task",
            "schedule": crontab(hour=7, minute=0),
        },
        "prune": {"task": "monitoring.tasks.prune_task", "schedule": crontab(hour=2, minute=15)},
        # Deleted accounts past staff's grace period (accounts.AccountPolicy) lose their data.
        "accounts-purge": {"task": "accounts.tasks.accounts_purge_task", "schedule": crontab(hour=2, minute=45)},
    }
)
# --- end Notifications ---

# --- Seller API ---------------------------------------------------------------------------
# Django REST framework at /api/v1/ (config/api.py): Bearer access tokens only (JWTs signed with
# API_SIGNING_KEY, accounts.tokens), JSON only, RFC 9457 problem details for every error, cursor
# pagination, tier rate limits (accounts.limits) and Idempotency-Key on POSTs (config/rest).
API_ACCESS_TOKEN_LIFETIME = timedelta(hours=1)
API_REFRESH_TOKEN_LIFETIME = timedelta(days=30)
# A session's last_used_at is written at most this often (one UPDATE, not one per request).
API_LAST_USED_INTERVAL = timedelta(minutes=1)
API_IDEMPOTENCY_WINDOW = timedelta(hours=24)
API_PAGE_SIZE = 50
API_MAX_PAGE_SIZE = 200
# "redis" (when REDIS_URL is set) or "db" (the accounts_api_call_count table), as the scraper's limiter.
API_RATE_LIMIT_BACKEND = env("API_RATE_LIMIT_BACKEND", default="redis" if REDIS_URL else "db")
API_RATE_LIMIT_KEY_PREFIX = "ratelimit:api:"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.authentication.TierRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["config.rest.filters.SellerFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.rest.pagination.KeysetPagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.rest.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Arbitrage Monitor seller API",
    "DESCRIPTION": (
        "Your account's products, listings, stores, orders, alerts, jobs and performance, for your own scripts. "
        "Exchange the API key from Settings for tokens at `POST /api/v1/auth/token/`, then send "
        "`Authorization: Bearer <access_token>` with every request (browser sessions and cookies are not "
        "accepted here, so no CSRF token is needed). Errors are RFC 9457 problem details "
        "(`application/problem+json`); lists are cursor-paginated (`limit` up to 200, follow `next`); "
        "POSTs that create something accept an `Idempotency-Key`; every answer carries "
        "`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": "",  # full paths in the schema: /api/v1/... (no prefix trimming)
    "SCHEMA_PATH_PREFIX_TRIM": False,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "monitoring.models.JobStatus",
        "ListingStatusEnum": "marketplaces.models.ListingStatus",
        "AvailabilityEnum": "catalog.models.Availability",
        "OrderStateEnum": "marketplaces.models.OrderState",
        "ShipmentStatusEnum": "marketplaces.models.ShipmentStatus",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "displayOperationId": False},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.rest.schema.problems_and_headers",
    ],
}

# --- Browser security headers --------------------------------------------------------------
from csp.constants import NONCE, NONE, SELF  # noqa: E402

# Scripts only from our origin (or carrying the page's nonce); no inline styles either (htmx's
# injected indicator style is off in base.html). Supplier images are shown from the supplier.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "https:", "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
    }
}
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# --- Production hardening -----------------------------------------------------------------
# Production refuses to start unsafe: the web app, the workers and `check --deploy` all stop.
ALLOW_CONSOLE_EMAIL = env.bool("ALLOW_CONSOLE_EMAIL", default=False)
MIN_KEY_LENGTH = 32
UNLOGGED_EMAIL_BACKENDS = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
)


def production_problem() -> str | None:
    """The first unsafe production setting, as one line saying what to set (None when safe)."""
    for name, value, default in (
        ("SECRET_KEY", SECRET_KEY, DEV_SECRET),
        ("CRYPTOGRAPHY_KEY", CRYPTOGRAPHY_KEY, DEV_CRYPTOGRAPHY_KEY),
        ("API_SIGNING_KEY", API_SIGNING_KEY, DEV_API_SIGNING_KEY),
    ):
        if value == default:
            return f"{name} is the development default: set {name} to a long random string."
        if len(value) < MIN_KEY_LENGTH:
            return f"{name} is shorter than {MIN_KEY_LENGTH} characters: set {name} to a long random string."
    if DEBUG:
        return "DEBUG is on: set DEBUG=false (or leave it unset) in production."
    if EMAIL_CONFIG["EMAIL_BACKEND"] in UNLOGGED_EMAIL_BACKENDS and not ALLOW_CONSOLE_EMAIL:
        return (
            "EMAIL_URL prints mail to the console or a file, where reset and verification links would be "
            "logged: set EMAIL_URL to your mail server (or ALLOW_CONSOLE_EMAIL=true)."
        )
    if not ALLOWED_HOSTS:
        return "ALLOWED_HOSTS is empty: set ALLOWED_HOSTS to the site's host names."
    return None


if PRODUCTION and (problem := production_problem()):
    raise ImproperlyConfigured(f"{problem} (DJANGO_ENV=production)")

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Password reset and email confirmation links never reach a log (a 404 on one logs its path).
    "filters": {"secret_urls": {"()": "config.logredact.SecretURLFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["secret_urls"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},  # one line per request would drown the workers' logs
        "httpcore": {"level": "WARNING"},
        # django-axes announces itself at every start: a command's output is its own lines only.
        "axes.apps": {"level": "WARNING"},
    },
}
