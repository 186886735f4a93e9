"""Settings for xmplatform, read from the environment.

With nothing set the platform runs embedded: SQLite in the project folder, Celery tasks
in-process (eager), e-mail to the console and DEBUG on. Setting DATABASE_URL and REDIS_URL
switches to the production path (PostgreSQL, Redis broker and cache); DEBUG then defaults off
and SECRET_KEY becomes mandatory. Bad values fail at start-up with a message saying what to fix.
"""

import datetime as dt
import os
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from xmplatform.checks import secret_key_checked
from xmplatform.core.ratelimit import parse_rate
from xmplatform.sso.conf import sign_in_settings

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

EMBEDDED = not env.str("DATABASE_URL", default="") and not env.str("REDIS_URL", default="")
DEBUG = env.bool("DEBUG", default=EMBEDDED)

_DEV_SECRET_KEY = "embedded-development-key-never-use-in-production-" + "x" * 16  # noqa: S105
# With DEBUG off: set, at least 50 characters, and never the embedded key (xmplatform.checks).
SECRET_KEY = secret_key_checked(
    env.str("SECRET_KEY", default=""), debug=DEBUG, development_key=_DEV_SECRET_KEY
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "xmplatform.core",
    "audiences",
    "journeys",
    "surveys",
    "metrics",
    "metrics.drivers",
    "metrics.comments",
    "xmplatform.api",
    "xmplatform.ops",
    "xmplatform.workspace",
    "xmplatform.sso",
]

MIDDLEWARE = [
    # First: a database that cannot be reached answers a translated 503 page with Retry-After
    # (xmplatform/core/unavailable.py), whichever layer inside met it.
    "xmplatform.core.unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # /healthz and /metrics, ahead of host validation (probes address a process by its IP).
    "xmplatform.ops.middleware.OpsEndpointsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Two-step verification: a password log-in is finished by a code (xmplatform.sso.twostep).
    "django_otp.middleware.OTPMiddleware",
    "xmplatform.sso.twostep.TwoStepMiddleware",
    # The reader's time zone from the browser's `xm_tz` cookie (xmplatform/core/viewer_zone.py).
    "xmplatform.core.viewer_zone.ViewerTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "xmplatform.csp.PolicyMiddleware",
    # Last: turns a log-in refused for too many failures into the lockout page (xmplatform.login).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "xmplatform.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "xmplatform.wsgi.application"

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_engine = DATABASES["default"]["ENGINE"]
if _engine not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
    raise ImproperlyConfigured(
        f"DATABASE_URL selects {_engine!r}; xmplatform supports postgres://… and sqlite:///… only."
    )
if _engine == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery --------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Rate limits (hosted pages, DRF throttles) count here with atomic INCRs. Short socket
    # timeouts: a stalled Redis slows a page by a second at most (the limiter then lets it by).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="xm"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://localhost/"  # a host named, so kombu logs no warning
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# No task keeps a result unless asked (`apply_async(ignore_result=False)`): publishing then
# never touches the result backend, whose reconnects (20 retries) would hold a web request
# for as long as Redis is down.
CELERY_TASK_IGNORE_RESULT = True
# Publishing from a web request must not block on a broker that is down: a short connect
# timeout and one quick retry, then the caller's fallback (the outbox sweep) takes over.
# Without the retry limits kombu re-connects a pooled connection whose broker went away for
# up to broker_connection_timeout, 2 s apart: 6 s per request. Workers and beat reconnect by
# their own loops, which these options do not shorten.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 1,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_DEFAULT_QUEUE = "default"
# Cross-app side effects: event name -> handlers (xmplatform/flows.py, read by the outbox relay).
OUTBOX_HANDLERS = "xmplatform.flows.HANDLERS"

# --- E-mail ------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
# An e-mail service's HTTP API instead of SMTP: EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend
# and that service's ANYMAIL_* variables (e.g. ANYMAIL_POSTMARK_SERVER_TOKEN), read by anymail.
if env.str("EMAIL_BACKEND", default=""):
    EMAIL_BACKEND = env.str("EMAIL_BACKEND")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="xmplatform <surveys@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Survey channels and sending ----------------------------------------------------------
# SMS: "console" (stdout), "file" (JSON lines in SURVEY_SMS_FILE) or "twilio".
SURVEY_SMS_PROVIDER = env.str("SURVEY_SMS_PROVIDER", default="console")
SURVEY_SMS_FILE = env.str("SURVEY_SMS_FILE", default="")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com")
if SURVEY_SMS_PROVIDER not in ("console", "file", "twilio"):
    raise ImproperlyConfigured(
        f"SURVEY_SMS_PROVIDER={SURVEY_SMS_PROVIDER!r}: use console, file or twilio."
    )
if SURVEY_SMS_PROVIDER == "file" and not SURVEY_SMS_FILE:
    raise ImproperlyConfigured("SURVEY_SMS_PROVIDER=file needs SURVEY_SMS_FILE, a file path.")
if SURVEY_SMS_PROVIDER == "twilio" and not (
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM
):
    raise ImproperlyConfigured(
        "SURVEY_SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM."
    )
# WhatsApp: off unless a provider is named ("" leaves it off: not offered, not accepted),
# "twilio" (Twilio's WhatsApp API from TWILIO_WHATSAPP_FROM, with the account above) or
# "console" (development). Optional approved Content templates (HX…) for the first message.
SURVEY_WHATSAPP_PROVIDER = env.str("SURVEY_WHATSAPP_PROVIDER", default="")
TWILIO_WHATSAPP_FROM = env.str("TWILIO_WHATSAPP_FROM", default="")
TWILIO_WHATSAPP_CONTENT_SID = env.str("TWILIO_WHATSAPP_CONTENT_SID", default="")
TWILIO_WHATSAPP_REMINDER_CONTENT_SID = env.str("TWILIO_WHATSAPP_REMINDER_CONTENT_SID", default="")
if SURVEY_WHATSAPP_PROVIDER not in ("", "console", "twilio"):
    raise ImproperlyConfigured(
        f"SURVEY_WHATSAPP_PROVIDER={SURVEY_WHATSAPP_PROVIDER!r}: use twilio, console or nothing."
    )
if SURVEY_WHATSAPP_PROVIDER == "twilio" and not (
    TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM
):
    raise ImproperlyConfigured(
        "SURVEY_WHATSAPP_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
        "TWILIO_WHATSAPP_FROM (the WhatsApp sender, e.g. +14155238886)."
    )
# All workers together send at most this many messages a second (0: no global cap).
SURVEY_SENDS_PER_SECOND = env.int("SURVEY_SENDS_PER_SECOND", default=0)

# --- Auth, i18n, time --------------------------------------------------------------------
# Staff get model permissions from their audience grants' roles (audiences.access), on top of
# whatever groups and per-user permissions give them.
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user and address before any password is checked.
    "xmplatform.login.LoginAttemptsBackend",
    "django.contrib.auth.backends.ModelBackend",
    "audiences.access.AudienceRoleBackend",
]
# Sign-in (xmplatform/sso, README "Sign-in"): OIDC_RP_CLIENT_ID switches single sign-on on (with
# OIDC_RP_CLIENT_SECRET and OIDC_OP_DISCOVERY_ENDPOINT or the OIDC_OP_*_ENDPOINTs; OIDC_GRANTS_CLAIM
# and OIDC_GROUP_GRANTS map the provider's groups to audience grants); XM_2FA=off|optional|required
# asks password accounts for an authenticator app's code.
_sign_in = sign_in_settings(env)
vars().update(_sign_in)
if _sign_in["SSO_ENABLED"]:
    AUTHENTICATION_BACKENDS.append("xmplatform.sso.backend.SignInBackend")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("tr", _("Turkish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date and time format per language (7 Dec 2026, 14:05 / 7 Aralık 2026 14:05).
FORMAT_MODULE_PATH = ["xmplatform.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# The currency of purchase values (touchpoint events' `value`), shown beside spend figures
# (ISO 4217 code, e.g. TRY, EUR).
XM_CURRENCY = env.str("XM_CURRENCY", default="TRY").strip().upper()
if not (len(XM_CURRENCY) == 3 and XM_CURRENCY.isalpha()):
    raise ImproperlyConfigured("XM_CURRENCY must be a three-letter ISO 4217 code, e.g. TRY or EUR.")

# --- Static files ------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Uploads -----------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
PEOPLE_CSV_MAX_BYTES = env.int("PEOPLE_CSV_MAX_BYTES", default=50 * 1024 * 1024)

# --- Key-driver analysis (metrics.drivers) ------------------------------------------------
# Fewer responses than this give a reason, never importances; touchpoints count when the
# respondent experienced them within this many days before answering; bootstrap rounds.
DRIVERS_MIN_RESPONSES = env.int("DRIVERS_MIN_RESPONSES", default=30)
DRIVERS_TOUCHPOINT_DAYS = env.int("DRIVERS_TOUCHPOINT_DAYS", default=30)
DRIVERS_BOOTSTRAP_ROUNDS = env.int("DRIVERS_BOOTSTRAP_ROUNDS", default=200)
if DRIVERS_MIN_RESPONSES < 10 or DRIVERS_TOUCHPOINT_DAYS < 1 or DRIVERS_BOOTSTRAP_ROUNDS < 20:
    raise ImproperlyConfigured(
        "DRIVERS_MIN_RESPONSES must be at least 10, DRIVERS_TOUCHPOINT_DAYS at least 1 and "
        "DRIVERS_BOOTSTRAP_ROUNDS at least 20."
    )

# --- Webhooks: exponential backoff after a failed delivery (base, 2×base, 4×base…) ---------
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)

# Receivers on loopback, private, link-local and other internal addresses are refused at save
# and at every delivery (xmplatform.api.destinations); 1 allows them, for on-premise receivers.
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)

# --- Security (production defaults; the embedded default relaxes them) -------------------
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "surveys.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
# Load balancers probe over plain HTTP; a redirect cannot protect the metrics token, already
# sent with the request it would redirect (scrape over HTTPS or a private network).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# Proxies in front of the web processes that append to X-Forwarded-For (1 behind one nginx or
# load balancer). Rate limits and DRF throttles key on the address they report.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

# --- Admin log-in attempts (django-axes, see xmplatform/login.py) ---------------------------
# LOGIN_FAILURE_LIMIT failed log-ins for one user name from one address lock that pair out for
# LOGIN_LOCKOUT_MINUTES after the last attempt; a successful log-in clears the count. Addresses
# are the ones the rate limits see (NUM_PROXIES). Only failures are stored (no access log).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "xmplatform.login.client_address"
AXES_LOCKOUT_CALLABLE = "xmplatform.login.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no start-up banner; lockouts are still logged
AXES_ENABLE_ADMIN = False  # `manage.py axes_reset_username <name>` unlocks before the time is up
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME <= dt.timedelta(0):
    raise ImproperlyConfigured(
        "LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES must be at least 1 "
        "(failed log-ins before a lockout, and minutes it lasts)."
    )

# Content-Security-Policy (django-csp): scripts and styles from our own static files only, no
# inline script or style, no framing. The admin also allows inline style attributes (its
# widgets set them); its scripts stay as strict (see xmplatform/csp.py). A page that reads
# request.csp_nonce (the hosted pages' brand colours, surveys.hosted.branding) may have <style>
# elements with that nonce; on the others the nonce is left out of the header.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
CSP_RELAXED_STYLE_PREFIXES = ("/admin/",)

# --- Rate limits on the hosted survey pages (counted in the cache, see xmplatform/ratelimit.py)
# Per client address over all hosted pages, per invitation token (or public link and address),
# and unknown links per address (guessing). "off" switches one off.
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
HOSTED_RATE_LIMITS = {
    scope: parse_rate(env.str(name, default=default), setting=name)
    for scope, name, default in (
        ("ip", "HOSTED_RATE_LIMIT_PER_IP", "600/m"),
        ("link", "HOSTED_RATE_LIMIT_PER_LINK", "60/m"),
        ("miss", "HOSTED_RATE_LIMIT_MISSES", "60/h"),
    )
}

# --- REST framework ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Throttles count in the default cache (Redis in production) and see client addresses
    # the way the hosted pages' rate limits do.
    "NUM_PROXIES": NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "xmplatform API",
    "DESCRIPTION": "People, touchpoint events, invitations, responses and scores.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page serves Swagger UI from our own static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets share the field name "kind" (audiences, distribution rules): named here.
    "ENUM_NAME_OVERRIDES": {
        "AudienceKindEnum": "audiences.models.AudienceKind",
        "RuleKindEnum": "surveys.models.RuleKind",
    },
}

# --- Operating: /healthz and /metrics (xmplatform/ops) ------------------------------------
# /healthz answers 503 when the longest-due outbox row has waited longer than this for the
# relay, or beat has sent no periodic task for longer than that (seconds; 0 reports the check
# without ever failing on it).
HEALTH_OUTBOX_MAX_AGE = env.int("HEALTH_OUTBOX_MAX_AGE", default=600)
HEALTH_BEAT_MAX_AGE = env.int("HEALTH_BEAT_MAX_AGE", default=600)
if HEALTH_OUTBOX_MAX_AGE < 0 or HEALTH_BEAT_MAX_AGE < 0:
    raise ImproperlyConfigured(
        "HEALTH_OUTBOX_MAX_AGE and HEALTH_BEAT_MAX_AGE are seconds, 0 or more "
        "(0: the check is reported but never fails)."
    )
# Prometheus metrics at /metrics for `Authorization: Bearer <METRICS_TOKEN>`. Unset: no
# /metrics (404) and no request or query metrics are measured.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured(
        f"METRICS_TOKEN has {len(METRICS_TOKEN)} characters; use at least 32 random ones: "
        'python -c "import secrets; print(secrets.token_urlsafe(32))"'
    )
if METRICS_TOKEN:
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]
    # The same database backend, counting queries, errors and their durations.
    DATABASES["default"]["ENGINE"] = _engine.replace(
        "django.db.backends.", "django_prometheus.db.backends."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Periodic tasks: one schedule, see xmplatform/beat.py ---------------------------------
from xmplatform.beat import BEAT_SCHEDULE as CELERY_BEAT_SCHEDULE  # noqa: E402

# Fault drills only (tests/integration): BEAT_INTERVAL_SCALE=0.0167 runs every interval entry
# 60 times as often (at least every second, expiring no sooner), so that seconds of a drill
# stand for minutes of beat. Crontab entries keep their times.
BEAT_INTERVAL_SCALE = env.float("BEAT_INTERVAL_SCALE", default=1.0)
if not 0 < BEAT_INTERVAL_SCALE <= 1:
    raise ImproperlyConfigured("BEAT_INTERVAL_SCALE must be above 0 and at most 1 (1: as written).")
if BEAT_INTERVAL_SCALE != 1:

    def _scaled(entry: dict) -> dict:
        every = max(1.0, round(entry["schedule"] * BEAT_INTERVAL_SCALE))
        options = dict(entry.get("options", {}))
        if "expires" in options:
            options["expires"] = max(every, round(options["expires"] * BEAT_INTERVAL_SCALE))
        return {**entry, "schedule": every, "options": options}

    CELERY_BEAT_SCHEDULE = {
        name: _scaled(entry) if isinstance(entry["schedule"], float) else entry
        for name, entry in CELERY_BEAT_SCHEDULE.items()
    }
