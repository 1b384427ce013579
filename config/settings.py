"""Stockroom settings: one module, driven by the environment.

Every variable is documented in README.md. With nothing set, Stockroom runs on
the embedded default: SQLite, an in-process cache, eagerly-run tasks and
console email, so a newcomer needs nothing installed.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from config.db.green import is_green
from config.platform.secret_key import development_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random value, or set "
            "DEBUG=true to run with a development key made for this checkout (.secret_key)."
        )
    # Random, made once for this checkout, git-ignored (config/platform/secret_key.py).
    SECRET_KEY = development_secret_key(BASE_DIR / ".secret_key")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CURRENCY = env.str("CURRENCY", default="USD")
# Unpaid orders expire this many minutes after they are placed (0: never).
ORDER_PAYMENT_MINUTES = env.int("ORDER_PAYMENT_MINUTES", default=60)
if ORDER_PAYMENT_MINUTES < 0:
    raise ImproperlyConfigured(f"ORDER_PAYMENT_MINUTES must be 0 (never) or more, not {ORDER_PAYMENT_MINUTES}.")
# How often beat looks for unpaid orders due to expire (the contract: within a minute).
ORDER_EXPIRY_CHECK_SECONDS = env.float("ORDER_EXPIRY_CHECK_SECONDS", default=30.0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "django_prometheus",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "notifications",
    "users",
    "inventory",
    "orders",
]

# Sessions, auth and messages are the admin's: config.platform.middleware runs
# Django's own for every path but the API's.
MIDDLEWARE = [
    "config.platform.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "config.platform.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.platform.middleware.AuthenticationMiddleware",
    "config.platform.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.api.cache_control.NoStoreWhenAuthenticatedMiddleware",
    "config.platform.ratelimit.RateLimitHeadersMiddleware",
    "config.platform.observability.RequestLogMiddleware",
    "config.platform.observability.RequestMetricsMiddleware",
]

ROOT_URLCONF = "config.urls"
# The API's paths end in a slash as documented; a path without one is a 404 in
# the error envelope, not a redirect that drops a POST body.
APPEND_SLASH = False
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

# --- Database --------------------------------------------------------------
# Under gevent (gunicorn.conf.py's worker) each greenlet has its own
# Django connections: they come from a pool and go back after each request.
GREEN = is_green()
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions serialise writers up front instead of failing with
    # "database is locked" halfway through; WAL lets readers run beside them.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;", "timeout": 20}
    )
elif env.bool("DATABASE_POOL", default=GREEN):
    # psycopg's pool inside each process; CONN_MAX_AGE must then be 0. The
    # default under gevent, where every greenlet (one per client connection)
    # would otherwise open a connection of its own.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN", default=2),
        "max_size": env.int("DATABASE_POOL_MAX", default=10),
        # While the database is down a request waits this long for a
        # connection, then fails (500): fail fast rather than pile up.
        "timeout": 3,
        # psycopg retries a lost connection with backoff (1, 2, 4, 8, 16 s…):
        # after an outage of 20 s its next try came 10 s after the database
        # was back. Giving up after 5 s lets the next request try at once.
        "reconnect_timeout": 5,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if GREEN else 60)
    # A reused connection is checked before each request's first query, so a
    # database restart costs no failed request (config/db/postgresql does it
    # without a round trip).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that needs no round trip (config/db/postgresql).
    DATABASES["default"]["ENGINE"] = "config.db.postgresql"
    # A database that does not answer fails a request (or /readyz) in seconds.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Parameters bound by the server, and a statement run this many times on
    # a connection prepared there (parsed and planned once): about a quarter
    # of PostgreSQL's CPU per order. 0 turns preparing off (e.g. behind
    # PgBouncer in transaction mode without max_prepared_statements).
    _prepare_after = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    DATABASES["default"]["OPTIONS"].update({"server_side_binding": True, "prepare_threshold": _prepare_after or None})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
                **({"PARSER_CLASS": "config.db.green.RedisParser"} if GREEN else {}),
            },
            "KEY_PREFIX": "stockroom",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Rate limits (config/platform/ratelimit.py: GCRA, in Redis when REDIS_URL is set) ---
RATE_LIMIT_AUTH = env.str("RATE_LIMIT_AUTH", default="20/min")  # per client IP, register + token
RATE_LIMIT_ORDERS = env.str("RATE_LIMIT_ORDERS", default="60/min")  # per user, order creation
RATE_LIMIT_ANON = env.str("RATE_LIMIT_ANON", default="600/min")  # per client IP, anonymous
RATE_LIMIT_USER = env.str("RATE_LIMIT_USER", default="3000/min")  # per user, signed in
# Proxies whose X-Forwarded-For we believe (addresses or CIDR ranges); empty:
# the client is REMOTE_ADDR.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Failed sign-ins to the admin (users/signin_limits.py): per account from one
# client address and per client address, counted over the lockout, which then
# refuses that account from that address (or that address) for as long.
ADMIN_LOGIN_FAILURES_PER_ACCOUNT = env.int("ADMIN_LOGIN_FAILURES_PER_ACCOUNT", default=5)
ADMIN_LOGIN_FAILURES_PER_IP = env.int("ADMIN_LOGIN_FAILURES_PER_IP", default=20)
ADMIN_LOGIN_LOCKOUT_MINUTES = env.float("ADMIN_LOGIN_LOCKOUT_MINUTES", default=15.0)

# --- Users and auth --------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# --- REST framework, errors and schema --------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "config.api.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["config.api.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.api.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["config.platform.ratelimit.AnonThrottle", "config.platform.ratelimit.UserThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

DRF_STANDARDIZED_ERRORS = {
    "EXCEPTION_HANDLER_CLASS": "config.api.errors_handler.ExceptionHandler",
    "EXCEPTION_FORMATTER_CLASS": "config.api.errors_handler.ExceptionFormatter",
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "405", "413", "415", "429", "500"],
    "ERROR_SCHEMAS": {
        "401": "config.api.schema.AuthErrorResponseSerializer",
        "413": "config.api.schema.ErrorResponse413Serializer",  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Stockroom API",
    "DESCRIPTION": "Order management: users, inventory with a stock ledger, orders and coupons.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # The sidecar's ReDoc bundle, served by config.api.redoc without the logo it fetches from a CDN.
    "REDOC_DIST": "/api/redoc",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "drf_standardized_errors.openapi_serializers.ErrorCode401Enum.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "OrderStatusEnum": "orders.models.OrderStatus.choices",
    },
    "POSTPROCESSING_HOOKS": ["drf_standardized_errors.openapi_hooks.postprocess_schema_enums"],
}

# --- Background tasks and email ---------------------------------------------
_broker = env.str("CELERY_BROKER_URL", default="")
# Unset: tasks run in-process, eagerly. Celery still opens the in-memory
# transport for its publish signals; naming a host spares kombu's warning.
CELERY_BROKER_URL = _broker or "memory://localhost/"
CELERY_TASK_ALWAYS_EAGER = not _broker
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="stockroom")
# Webhook deliveries have a queue of their own, so a slow receiver never
# queues email behind it. `celery -A config worker` consumes both (every
# queue declared here); `-Q` picks one, for a worker per queue.
CELERY_WEBHOOK_QUEUE = env.str("CELERY_WEBHOOK_QUEUE", default=f"{CELERY_TASK_DEFAULT_QUEUE}-webhooks")
# Each with an exchange of its own name (the default queue's, as Celery makes it).
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name) for name in (CELERY_TASK_DEFAULT_QUEUE, CELERY_WEBHOOK_QUEUE)
)
CELERY_TASK_ROUTES = ("config.celery.route_task",)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the worker logs through settings.LOGGING too
# A publish never waits long on a broker that is down or hung: the outbox
# dispatcher delivers what could not be published.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker and beat reconnect to a broker that went away for as long as it
# takes (Celery's default gives up after 100 tries, under an hour).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 0,
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
    # No publisher confirms: a publish the broker lost is published again by
    # the outbox dispatcher, so waiting for the broker's ack (a round trip per
    # order) would buy nothing.
    "confirm_publish": False,
}

# The email outbox (notifications.services): how often the dispatcher looks for due
# emails, how long a published email may wait before it is published again,
# how long a worker's claim on an email lasts (longer than a send can take:
# a worker that dies mid-send delays that email by this much), the backoff
# on failures (never given up, but a permanent refusal of the recipient),
# how often the mail server is checked while emails wait for it, and how
# long sent emails are kept.
OUTBOX_DISPATCH_SECONDS = env.float("OUTBOX_DISPATCH_SECONDS", default=5.0)
OUTBOX_REDISPATCH_SECONDS = env.int("OUTBOX_REDISPATCH_SECONDS", default=30)
OUTBOX_LEASE_SECONDS = env.float("OUTBOX_LEASE_SECONDS", default=120.0)
OUTBOX_RETRY_BASE_SECONDS = env.float("OUTBOX_RETRY_BASE_SECONDS", default=5.0)
OUTBOX_RETRY_CAP_SECONDS = env.float("OUTBOX_RETRY_CAP_SECONDS", default=3600.0)
OUTBOX_REVIVE_SECONDS = env.float("OUTBOX_REVIVE_SECONDS", default=20.0)
OUTBOX_KEEP_SENT_DAYS = env.int("OUTBOX_KEEP_SENT_DAYS", default=30)
# Webhooks (notifications.webhooks): a delivery's attempt is bounded by
# WEBHOOK_TIMEOUT_SECONDS (connect, send, the answer); failures are retried
# with backoff and jitter for WEBHOOK_RETRY_HOURS, then the delivery fails;
# an endpoint failing that long is set inactive; at most WEBHOOK_MAX_IN_FLIGHT
# attempts to one endpoint at once; deliveries are kept WEBHOOK_KEEP_DAYS.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env.bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_DISPATCH_SECONDS = env.float("WEBHOOK_DISPATCH_SECONDS", default=5.0)
WEBHOOK_REDISPATCH_SECONDS = env.int("WEBHOOK_REDISPATCH_SECONDS", default=30)
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=60.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_CAP_SECONDS = env.float("WEBHOOK_RETRY_CAP_SECONDS", default=3600.0)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=72.0)
WEBHOOK_DISABLE_AFTER_HOURS = env.float("WEBHOOK_DISABLE_AFTER_HOURS", default=72.0)
WEBHOOK_MAX_IN_FLIGHT = env.int("WEBHOOK_MAX_IN_FLIGHT", default=2)
WEBHOOK_BUSY_WAIT_SECONDS = env.float("WEBHOOK_BUSY_WAIT_SECONDS", default=2.0)
WEBHOOK_KEEP_DAYS = env.int("WEBHOOK_KEEP_DAYS", default=30)

CELERY_BEAT_SCHEDULE = {
    "webhooks-dispatch": {"task": "notifications.tasks.webhooks_dispatch_task", "schedule": WEBHOOK_DISPATCH_SECONDS},
    "webhooks-purge": {"task": "notifications.tasks.webhooks_purge_task", "schedule": 86400.0},
    "outbox-dispatch": {"task": "notifications.tasks.outbox_dispatch_task", "schedule": OUTBOX_DISPATCH_SECONDS},
    "outbox-revive": {"task": "notifications.tasks.outbox_revive_task", "schedule": OUTBOX_REVIVE_SECONDS},
    "outbox-purge-sent": {"task": "notifications.tasks.outbox_purge_sent_task", "schedule": 86400.0},
    "purge-idempotency-keys": {"task": "orders.tasks.idempotency_keys_purge_task", "schedule": 3600.0},
    "expire-unpaid-orders": {"task": "orders.tasks.orders_expire_due_task", "schedule": ORDER_EXPIRY_CHECK_SECONDS},
    # simplejwt's flushexpiredtokens: refresh tokens past their expiry, and their blacklist rows
    "flush-expired-tokens": {"task": "users.tasks.jwt_flush_expired_task", "schedule": 86400.0},
}

EMAIL_HOST = env.str("EMAIL_HOST", default="")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
    EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Stockroom <noreply@stockroom.local>")

# --- Internationalisation, static files ------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# Where `collectstatic` puts the files WhiteNoise serves.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))

# Static files (admin, API docs) are served by WhiteNoise, compressed and with
# hashed names from `collectstatic` in production.
_manifest = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _manifest
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security (production defaults; `manage.py check --deploy` is clean) ------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and scrapers talk to the process itself, over plain HTTP (contract).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if _proxy_header := env.str("SECURE_PROXY_SSL_HEADER", default=""):
    # e.g. "HTTP_X_FORWARDED_PROTO,https" behind a TLS-terminating proxy
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_header.split(",", 1))
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])  # closed by default
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1_048_576)

# --- Observability -----------------------------------------------------------
# Who may read /metrics (addresses or CIDR ranges).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
READINESS_TIMEOUT_SECONDS = env.float("READINESS_TIMEOUT_SECONDS", default=2.0)
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"structured": {"()": "config.platform.observability.formatter", "fmt": LOG_FORMAT}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The app writes one structured line per request; Django's own would repeat it.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}
