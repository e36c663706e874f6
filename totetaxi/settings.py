"""ToteTaxi settings: one file, driven by environment variables (see README "Configuration")."""

import os
import sys
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


TESTING = "pytest" in sys.modules or os.environ.get("TOTETAXI_TESTING") == "1"
DEBUG = env_bool("DEBUG", default=False)
ENVIRONMENT = os.environ.get("ENVIRONMENT", "development" if DEBUG or TESTING else "production")

# Schema-only management commands never sign anything, so they run without a key (e.g. a migrations check).
SCHEMA_ONLY_COMMAND = (len(sys.argv) > 1 and os.path.basename(sys.argv[0]) == "manage.py"
                       and sys.argv[1] in {"makemigrations", "showmigrations", "sqlmigrate"})


def env_required(name: str, *, demo_default: str) -> str:
    """A value production must set: with DEBUG (the demo), in tests and for schema-only commands a placeholder
    stands in; otherwise the process refuses to start rather than show the placeholder to customers."""
    value = os.environ.get(name, "")
    if value.strip():
        return value
    if DEBUG or TESTING or SCHEMA_ONLY_COMMAND:
        return demo_default
    raise ImproperlyConfigured(
        f"{name} is not set. Set the {name} environment variable (or DEBUG=1 for local development)."
    )


SECRET_KEY = env_required("SECRET_KEY", demo_default="insecure-development-key-only-used-with-DEBUG-or-in-tests")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "simple_history",
    "import_export",
    "ninja",  # its Swagger UI assets, served by us: /api/v1/docs works without reaching a CDN
    "axes",
    "anymail",
    "huey.contrib.djhuey",
    "core",
    "ops_console",
    "public_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Outside everything that reads the database: an outage answers 503 (HTML page or the API's envelope).
    "totetaxi.outage.DatabaseOutageMiddleware",
    "public_api.errors.ApiErrorEnvelopeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.common.audit.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "totetaxi.urls"
WSGI_APPLICATION = "totetaxi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "ops_console" / "templates"],
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

# --- Database: SQLite file in the repo unless DATABASE_URL says otherwise -----------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web process and the Huey consumer share the file without "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database host that accepts the connection and then says nothing (a network partition, a failing-over
    # host) would hold the request until gunicorn kills the worker: give up and answer 503 instead.
    DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}),
                                       "connect_timeout": env_int("DB_CONNECT_TIMEOUT", 5)}
    # Bind parameters on the server and let psycopg prepare a statement once a connection has run it 5 times:
    # the hot paths (pricing's catalog check, availability, the quote INSERT) are fixed SQL whose planning
    # cost more than running it. Behind PgBouncer in transaction mode this needs PgBouncer >= 1.21 with
    # max_prepared_statements set; otherwise set DB_PREPARED_STATEMENTS=0.
    if env_bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"] = {**DATABASES["default"].get("OPTIONS", {}),
                                           "server_side_binding": True, "prepare_threshold": 5}

FIXTURE_DIRS = [BASE_DIR / "fixtures"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
# Staff sign in to the console only; without these Django sends a bare /admin/login/ to /accounts/profile/.
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Redis (optional): cache and Huey ----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    if TESTING:
        # Parallel test workers share one Redis database: each keeps its keys under its own prefix, and the
        # suite's between-test cleanup deletes only those (tests/conftest.py), never another worker's counters.
        CACHES["default"]["KEY_PREFIX"] = f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "totetaxi"}}

# djhuey's `immediate` defaults to DEBUG (FIELD_NOTES): always set it explicitly.
HUEY_IMMEDIATE = env_bool("HUEY_IMMEDIATE", default=TESTING)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.PriorityRedisHuey",
        "name": os.environ.get("HUEY_NAME", "totetaxi"),
        "immediate": HUEY_IMMEDIATE,
        "connection": {"url": REDIS_URL},
        "consumer": {"workers": env_int("HUEY_WORKERS", 2), "worker_type": "thread"},
    }
else:
    HUEY_SQLITE_PATH = Path(os.environ.get("HUEY_SQLITE_PATH", str(BASE_DIR / "var" / "huey.sqlite3")))
    HUEY_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "totetaxi",
        "immediate": HUEY_IMMEDIATE,
        "filename": str(HUEY_SQLITE_PATH),
        "consumer": {"workers": env_int("HUEY_WORKERS", 2), "worker_type": "thread"},
    }

# --- Internationalisation / time: store UTC, reason about service dates in New York ----------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/New_York"
USE_I18N = True
USE_TZ = True

# --- Static and media --------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "querystring_auth": True,
        },
    }

# --- Documents: private storage for uploads (COIs, building requirements) ---------------------------
# Files are never under a public URL: local storage lives outside MEDIA_ROOT and is served only through a
# signed, expiring view; on S3 (when AWS_STORAGE_BUCKET_NAME is set) downloads are presigned URLs.
DOCUMENTS = {
    "MAX_UPLOAD_BYTES": env_int("DOCUMENTS_MAX_UPLOAD_MB", 15) * 1024 * 1024,
    "MAX_PDF_PAGES": env_int("DOCUMENTS_MAX_PDF_PAGES", 60),
    "MAX_PDF_OBJECTS": env_int("DOCUMENTS_MAX_PDF_OBJECTS", 20000),
    "MAX_IMAGE_PIXELS": env_int("DOCUMENTS_MAX_IMAGE_PIXELS", 40_000_000),
    "URL_TTL_SECONDS": env_int("DOCUMENTS_URL_TTL_SECONDS", 300),
    "PRIVATE_ROOT": os.environ.get("DOCUMENTS_PRIVATE_ROOT", str(BASE_DIR / "private_documents")),
    "DELETED_RETENTION_DAYS": env_int("DOCUMENTS_DELETED_RETENTION_DAYS", 30),
    "RETENTION_DAYS": env_int("DOCUMENTS_RETENTION_DAYS", 7 * 365),
    "COI_REMINDER_DAYS": env_int("DOCUMENTS_COI_REMINDER_DAYS", 5),
}
STORAGES["documents"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": DOCUMENTS["PRIVATE_ROOT"], "base_url": None,
                "file_permissions_mode": 0o600, "directory_permissions_mode": 0o700},
}
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["documents"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**STORAGES["default"]["OPTIONS"], "location": "documents", "file_overwrite": False,
                    "querystring_expire": DOCUMENTS["URL_TTL_SECONDS"]},
    }
# --- end Documents -------------------------------------------------------------------------------------

# --- Security (production) ---------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", default=not (DEBUG or TESTING))
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", default=not (DEBUG or TESTING))
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG or TESTING else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not (DEBUG or TESTING)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=not (DEBUG or TESTING))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"  # Unfold marks the views it frames (popups) same-origin itself.

# --- CORS: the marketing site's origins ---------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "http://localhost:3000" if DEBUG else "")
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (
    "accept",
    "content-type",
    "idempotency-key",
    "x-booking-token",
    "x-requested-with",
)
# What a script on the site may read from our answers: the request id (to quote to support) and how long to
# back off after a 429 or 503.
CORS_EXPOSE_HEADERS = ("X-Request-ID", "Retry-After")

# Behind N reverse proxies/load balancers, the client address is N hops from the right of X-Forwarded-For.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# --- Login lockout (django-axes): lock the username+IP pair, never every account from an IP ----------
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)
AXES_CLIENT_IP_CALLABLE = "core.common.audit.client_ip"  # the same address rate limits and history use

# --- Email / SMS ---------------------------------------------------------------------------------------
POSTMARK_SERVER_TOKEN = os.environ.get("POSTMARK_SERVER_TOKEN", "")
ANYMAIL = {
    "POSTMARK_SERVER_TOKEN": POSTMARK_SERVER_TOKEN,
    "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", ""),
}
if os.environ.get("POSTMARK_API_URL"):
    ANYMAIL["POSTMARK_API_URL"] = os.environ["POSTMARK_API_URL"]
ANYMAIL["REQUESTS_TIMEOUT"] = float(os.environ.get("ANYMAIL_REQUESTS_TIMEOUT", "10"))
# anymail accepts unauthenticated tracking webhooks when the secret is empty: refuse to run like that.
if POSTMARK_SERVER_TOKEN and not ANYMAIL["WEBHOOK_SECRET"] and not (DEBUG or TESTING):
    raise ImproperlyConfigured("Set ANYMAIL_WEBHOOK_SECRET (user:password) for the Postmark tracking webhook.")
if POSTMARK_SERVER_TOKEN:
    EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
elif TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
elif DEBUG:
    # Local runs and `make demo`: each message is written to its own file in this folder, so the job
    # consumer's emails don't flood the terminal (the demo prints the path).
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH") or str(BASE_DIR / "var" / "demo-emails")
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ToteTaxi <bookings@totetaxi.com>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
TWILIO_API_BASE = os.environ.get("TWILIO_API_BASE", "")
TWILIO_TIMEOUT = float(os.environ.get("TWILIO_TIMEOUT", "10"))
# The public https origin Twilio calls back (signatures cover the full URL, so behind a proxy it must match).
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")

# --- Stripe / Onfleet (API_CONTRACT.md "Configuration the outside world sets") ------------------------
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRETS = env_list("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
STRIPE_CURRENCY = "usd"
ONFLEET_API_KEY = os.environ.get("ONFLEET_API_KEY", "")
ONFLEET_WEBHOOK_SECRETS = env_list("ONFLEET_WEBHOOK_SECRET")  # hex; comma-separated during a rotation
ONFLEET_API_BASE = os.environ.get("ONFLEET_API_BASE", "")
ONFLEET_MEDIA_BASE = os.environ.get("ONFLEET_MEDIA_BASE", "")  # where completion photos are fetched from
ONFLEET_TIMEOUT = float(os.environ.get("ONFLEET_TIMEOUT", "20"))
ONFLEET_RETRY_BACKOFF = 0.5  # seconds before the 2nd try of a 5xx/timeout, doubling after (tests use 0)
# Without ONFLEET_API_KEY legs are dispatched in our database only; production refuses that unless this is set.
ONFLEET_LOCAL_DISPATCH = env_bool("ONFLEET_LOCAL_DISPATCH", default=False)
# Who is emailed when a delivery leg fails (comma-separated); empty: the dashboard and the booking's flag only.
DISPATCH_ALERT_EMAILS = env_list("DISPATCH_ALERT_EMAILS")

# --- Business settings --------------------------------------------------------------------------------
TOTETAXI = {
    "DEFAULT_DAILY_CAPACITY": env_int("TOTETAXI_DAILY_CAPACITY", 10),
    "BOOKING_HORIZON_DAYS": env_int("TOTETAXI_BOOKING_HORIZON_DAYS", 120),
    # Bookings for tomorrow close at this New York hour today (no same-day bookings, ever).
    "SAME_DAY_CUTOFF_HOUR": env_int("TOTETAXI_CUTOFF_HOUR", 17),
    "MIN_LEAD_DAYS": env_int("TOTETAXI_MIN_LEAD_DAYS", 1),
    "HOLD_MINUTES": env_int("TOTETAXI_HOLD_MINUTES", 30),
    "QUOTE_MINUTES": env_int("TOTETAXI_QUOTE_MINUTES", 30),
    # A booking taken on the phone holds its slot longer: the customer pays later, through the emailed link.
    "PHONE_HOLD_MINUTES": env_int("TOTETAXI_PHONE_HOLD_MINUTES", 24 * 60),
    "COI_FEE": Decimal(os.environ.get("TOTETAXI_COI_FEE", "50.00")),
    # Staff overriding the change policy (a fee waived, a custom refund) above this many dollars: admins only.
    "CHANGE_OVERRIDE_ADMIN_ABOVE": Decimal(os.environ.get("TOTETAXI_CHANGE_OVERRIDE_ADMIN_ABOVE", "200")),
    "RATE_LIMIT_POSTS_PER_MINUTE": env_int("TOTETAXI_RATE_LIMIT", 30),
    # Both reach customers in every email and SMS: production must set them (no fictional 555 number, no
    # localhost links).
    "PUBLIC_SITE_URL": env_required("PUBLIC_SITE_URL", demo_default="http://localhost:3000"),
    "SUPPORT_PHONE": env_required("TOTETAXI_SUPPORT_PHONE", demo_default="(631) 555-0142"),
    "SUPPORT_EMAIL": os.environ.get("TOTETAXI_SUPPORT_EMAIL", "support@totetaxi.com"),
}

# --- Logging: structured JSON lines on stdout ---------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": sys.stdout, "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "huey": {"level": "INFO"},
        "axes": {"level": "WARNING"},
    },
}

# === Production: request ids, jobs, readiness (issue 13) =============================================
# Every request gets an id (X-Request-ID), printed in each JSON log line and carried into the jobs it enqueues.
MIDDLEWARE.insert(0, "core.common.request_id.RequestIdMiddleware")
LOGGING["filters"] = {"request_id": {"()": "core.common.request_id.RequestIdLogFilter"}}
LOGGING["handlers"]["stdout"]["filters"] = ["request_id"]
LOGGING["formatters"]["json"]["fmt"] = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
HUEY["huey_class"] = "core.common.jobs.TotetaxiRedisHuey" if REDIS_URL else "core.common.jobs.TotetaxiSqliteHuey"
# Readiness (/api/v1/health/ready/) fails when a queued job has waited longer than this for a consumer.
HEALTH_QUEUE_MAX_WAIT_SECONDS = env_int("HEALTH_QUEUE_MAX_WAIT_SECONDS", 300)
# Staff two-factor authentication (core.accounts.two_factor): django-otp's TOTP and static (recovery) devices.
# Before ops_console, whose admin unregisters django-otp's device admins.
_core = INSTALLED_APPS.index("core")
INSTALLED_APPS[_core:_core] = ["django_otp", "django_otp.plugins.otp_totp", "django_otp.plugins.otp_static"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "django_otp.middleware.OTPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
                  "ops_console.two_factor.TwoFactorMiddleware")
# Admin and Finance staff always need a second factor; this extends the rule to every staff member.
TWO_FACTOR_REQUIRED_FOR_ALL_STAFF = env_bool("TWO_FACTOR_REQUIRED_FOR_ALL_STAFF", default=False)
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "ToteTaxi Ops")
# Idle console sessions end CONSOLE_IDLE_MINUTES after the last page (ops_console.sessions pushes the expiry
# ahead at most once a minute).
SESSION_COOKIE_AGE = env_int("CONSOLE_IDLE_MINUTES", 30) * 60
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "ops_console.sessions.IdleSessionMiddleware")
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Content-Security-Policy (django-csp) on every response, console and API. As strict as Unfold allows: its
# Alpine components evaluate expressions ('unsafe-eval', FIELD_NOTES) and its pages carry inline styles and a
# <style> block ('unsafe-inline' for styles only); scripts only from our own origin; data: images are the
# SVG icons its CSS embeds.
from csp.constants import NONE, SELF, UNSAFE_EVAL, UNSAFE_INLINE  # noqa: E402

MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "csp.middleware.CSPMiddleware")
INSTALLED_APPS.append("csp")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, UNSAFE_EVAL],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"] + env_list("CSP_IMG_SRC"),  # + the S3 bucket's origin for document previews
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [SELF],  # Unfold's related-object popups frame our own pages
    },
}
# Per attempt; with the client's 2 retries a hanging Stripe costs a request at most ~3× this, well inside
# gunicorn's 30 s worker timeout.
STRIPE_TIMEOUT = float(os.environ.get("STRIPE_TIMEOUT", "8"))
# Sentry only when SENTRY_DSN is set (core.common.sentry scrubs tokens, card data and emails).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    from core.common.sentry import init_sentry

    init_sentry(dsn=SENTRY_DSN, environment=ENVIRONMENT,
                release=os.environ.get("SENTRY_RELEASE") or os.environ.get("FLY_IMAGE_REF") or None,
                traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")))
# === end production block ============================================================================

# --- Unfold: the ops console --------------------------------------------------------------------------
UNFOLD = {
    "SITE_TITLE": "ToteTaxi Ops",
    "SITE_HEADER": "ToteTaxi Ops",
    "SITE_SUBHEADER": "Operations console",
    "SITE_SYMBOL": "local_shipping",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "ENVIRONMENT": "ops_console.site.environment_callback",
    "DASHBOARD_CALLBACK": "ops_console.dashboard.dashboard_callback",
    "COLORS": {
        "primary": {
            "50": "oklch(97.7% .014 308.299)",
            "100": "oklch(94.6% .033 307.174)",
            "200": "oklch(90.2% .063 306.703)",
            "300": "oklch(82.7% .119 306.383)",
            "400": "oklch(71.4% .203 305.504)",
            "500": "oklch(62.7% .265 303.9)",
            "600": "oklch(55.8% .288 302.321)",
            "700": "oklch(49.6% .265 301.924)",
            "800": "oklch(43.8% .218 303.724)",
            "900": "oklch(38.1% .176 304.987)",
            "950": "oklch(29.1% .149 302.717)",
        },
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
    },
    # Ctrl/Cmd+K: our own bounded search over bookings and customers (Unfold's search_models would load every
    # match of every model; at 1M bookings that is the whole table).
    "COMMAND": {
        "search_models": False,
        "search_callback": "ops_console.site.command_search_callback",
        "show_history": True,
    },
}
UNFOLD["SIDEBAR"]["navigation"] = [
    {
        "title": _("Today"),
        "items": [{"title": _("Dashboard"), "icon": "dashboard", "link": reverse_lazy("admin:index"),
                   "permission": lambda request: request.user.is_staff}],
    },
    {
        "title": _("Bookings"),
        "collapsible": False,
        "items": [
            {
                "title": _("Bookings"),
                "icon": "event",
                "link": reverse_lazy("admin:core_booking_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_booking"),
            },
            {
                "title": _("Quotes"),
                "icon": "request_quote",
                "link": reverse_lazy("admin:core_quote_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_quote"),
            },
            {
                "title": _("Dispatch board"),
                "icon": "route",
                "link": reverse_lazy("admin:core_deliverytask_board"),
                "permission": lambda request: request.user.has_perm("core.view_deliverytask"),
            },
        ],
    },
    {
        "title": _("Customers"),
        "items": [
            {
                "title": _("Customers"),
                "icon": "group",
                "link": reverse_lazy("admin:core_customerprofile_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_customerprofile"),
            },
            {
                "title": _("Addresses"),
                "icon": "home_pin",
                "link": reverse_lazy("admin:core_address_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_address"),
            },
        ],
    },
    {
        "title": _("Payments & Refunds"),
        "items": [
            {
                "title": _("Payments"),
                "icon": "payments",
                "link": reverse_lazy("admin:core_payment_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_payment"),
            },
            {
                "title": _("Refunds"),
                "icon": "undo",
                "link": reverse_lazy("admin:core_refund_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_refund"),
            },
            {
                "title": _("Payment audit"),
                "icon": "receipt_long",
                "link": reverse_lazy("admin:core_paymentaudit_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_paymentaudit"),
            },
            {
                "title": _("Reconciliation"),
                "icon": "rule",
                "link": reverse_lazy("admin:core_reconciliationmismatch_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_reconciliationmismatch"),
            },
            {
                "title": _("Daily metrics"),
                "icon": "monitoring",
                "link": reverse_lazy("admin:core_dailymetrics_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_dailymetrics"),
            },
        ],
    },
    {
        "title": _("Communications"),
        "items": [
            {
                "title": _("Notifications"),
                "icon": "mail",
                "link": reverse_lazy("admin:core_notification_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_notification"),
            },
            {
                "title": _("Email templates"),
                "icon": "draft",
                "link": reverse_lazy("admin:core_emailtemplate_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_emailtemplate"),
            },
            {
                "title": _("Suppressions"),
                "icon": "block",
                "link": reverse_lazy("admin:core_suppression_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_suppression"),
            },
        ],
    },
    {
        "title": _("Catalog & Pricing"),
        "items": [
            {
                "title": _("Mini Move packages"),
                "icon": "inventory_2",
                "link": reverse_lazy("admin:core_minimovepackage_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_minimovepackage"),
            },
            {
                "title": _("Specialty items"),
                "icon": "fitness_center",
                "link": reverse_lazy("admin:core_specialtyitem_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_specialtyitem"),
            },
            {
                "title": _("Standard delivery rate"),
                "icon": "local_shipping",
                "link": reverse_lazy("admin:core_standarddeliveryrate_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_standarddeliveryrate"),
            },
            {
                "title": _("Surcharge rules"),
                "icon": "trending_up",
                "link": reverse_lazy("admin:core_surchargerule_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_surchargerule"),
            },
            {
                "title": _("Change policy"),
                "icon": "policy",
                "link": reverse_lazy("admin:core_changepolicy_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_changepolicy"),
            },
            {
                "title": _("Price simulator"),
                "icon": "calculate",
                "link": reverse_lazy("admin:core_price_simulator"),
                "permission": lambda request: request.user.has_perm("core.view_surchargerule"),
            },
        ],
    },
    {
        "title": _("Van Schedule"),
        "items": [
            {
                "title": _("Van schedule"),
                "icon": "calendar_month",
                "link": reverse_lazy("admin:core_vanschedule_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_vanschedule"),
            },
        ],
    },
    {
        "title": _("Staff & Access"),
        "items": [
            {
                "title": _("Users"),
                "icon": "person",
                "link": reverse_lazy("admin:core_user_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_user"),
            },
            {
                "title": _("Staff profiles"),
                "icon": "badge",
                "link": reverse_lazy("admin:core_staffprofile_changelist"),
                "permission": lambda request: request.user.has_perm("core.view_staffprofile"),
            },
            {
                "title": _("Groups"),
                "icon": "shield_person",
                "link": reverse_lazy("admin:auth_group_changelist"),
                "permission": lambda request: request.user.has_perm("auth.view_group"),
            },
            {
                "title": _("Login lockouts"),
                "icon": "lock_person",
                "link": reverse_lazy("admin:axes_accessattempt_changelist"),
                "permission": lambda request: request.user.has_perm("axes.view_accessattempt"),
            },
        ],
    },
]

# --- Documents (issue 11): the COI review desk, documents and buildings, for the roles that may view them ------
UNFOLD["SIDEBAR"]["navigation"].insert(2, {
    "title": _("Documents & COIs"),
    "items": [
        {"title": _("COI review desk"), "icon": "verified_user", "link": reverse_lazy("admin:core_coi_changelist"),
         "permission": lambda request: request.user.has_perm("core.view_coi")},
        {"title": _("Documents"), "icon": "description", "link": reverse_lazy("admin:core_document_changelist"),
         "permission": lambda request: request.user.has_perm("core.view_document")},
        {"title": _("Buildings"), "icon": "apartment", "link": reverse_lazy("admin:core_building_changelist"),
         "permission": lambda request: request.user.has_perm("core.view_building")},
    ],
})

# --- Reports (issue 12): optional read-only reporting database, file links --------------------------------
# REPORTING_DATABASE_URL (e.g. a streaming replica) adds the "reporting" alias the report selectors read from
# (core.reporting.reports.base.report_db); on PostgreSQL its sessions are read-only, so nothing can write
# through it, and the router keeps migrations off it. Tests mirror it onto the test database.
REPORTING_DATABASE_URL = os.environ.get("REPORTING_DATABASE_URL", "")
if REPORTING_DATABASE_URL:
    DATABASES["reporting"] = dj_database_url.parse(REPORTING_DATABASE_URL,
                                                   conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    if DATABASES["reporting"]["ENGINE"] != "django.db.backends.sqlite3":
        DATABASES["reporting"]["OPTIONS"] = {"options": "-c default_transaction_read_only=on"}
    DATABASES["reporting"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["core.reporting.reports.router.ReportingRouter"]
REPORTS_LINK_MAX_AGE = env_int("REPORTS_LINK_MAX_AGE", 7 * 24 * 3600)  # seconds a scheduled report's link works
# Base of the links in report emails: this service's public origin unless the console lives elsewhere; never a
# localhost placeholder in production (check --deploy warns when there is none).
REPORTS_CONSOLE_URL = (os.environ.get("REPORTS_CONSOLE_URL") or PUBLIC_BASE_URL
                       or ("http://localhost:8000" if DEBUG or TESTING else ""))
UNFOLD["SIDEBAR"]["navigation"].insert(3, {
    "title": _("Reports"),
    "items": [
        {"title": _("Run a report"), "icon": "analytics", "link": reverse_lazy("admin:core_report_run"),
         "permission": lambda request: any(request.user.has_perm(f"core.run_{kind}_report")
                                           for kind in ("revenue", "operational", "customer", "custom"))},
        {"title": _("Month close"), "icon": "calendar_month", "link": reverse_lazy("admin:core_report_month_close"),
         "permission": lambda request: request.user.has_perm("core.export_month_close")},
        {"title": _("Generated reports"), "icon": "folder_open", "link": reverse_lazy("admin:core_report_changelist"),
         "permission": lambda request: request.user.has_perm("core.view_report")},
        {"title": _("Scheduled reports"), "icon": "schedule_send",
         "link": reverse_lazy("admin:core_reportschedule_changelist"),
         "permission": lambda request: request.user.has_perm("core.view_reportschedule")},
    ],
})
# --- end of reports settings ------------------------------------------------------------------------------

# === Production: console additions (issue 13) ========================================================
UNFOLD["SIDEBAR"]["navigation"][-1]["items"].append({
    "title": _("Two-factor authentication"),
    "icon": "phonelink_lock",
    "link": reverse_lazy("ops_console_2fa_manage"),
    "permission": lambda request: request.user.is_staff,
})
# === end production console block ====================================================================
