"""Django settings, every one read from the environment (see .env.example)."""

import math
import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from breezeway.envnumbers import finite_float

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_float(name: str, default: float) -> float:
    """A finite float setting; anything else names the variable in the error.

    (django-environ's env.float() drops stray characters, reading "5s" as 5 and "1e3" as 13.)
    """
    raw = env.str(name, default="").strip()
    return finite_float(name, raw) if raw else default


def env_int(name: str, default: int, minimum: int = 0) -> int:
    """A whole-number setting of at least `minimum`; anything else names the variable."""
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_flag(name: str, default: bool) -> bool:
    """A true/false setting; anything else names the variable (django-environ's env.bool()
    reads a typo such as "ture" as false, which would quietly turn a protection off)."""
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: use true or false.")


def env_url(name: str, default: str) -> str:
    """An http(s) URL setting, without a trailing slash."""
    value = env.str(name, default=default).strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
        raise ImproperlyConfigured(f"{name}={value!r} is not an http(s) URL.")
    return value


def env_seconds_list(name: str, default: str) -> list[int]:
    """Whole seconds separated by commas (retry delays); anything else names the variable."""
    raw = env.str(name, default=default)
    if not re.fullmatch(r"\s*(\d+\s*(,\s*\d+\s*)*)?", raw):
        raise ImproperlyConfigured(
            f"{name}={raw!r}: give seconds separated by commas, e.g. {default}."
        )
    return [int(v) for v in raw.split(",") if v.strip()]


def postgres_memory_kb(name: str, value: str) -> int:
    """A PostgreSQL memory setting such as 256MB, in kB, within what PostgreSQL accepts."""
    match = re.fullmatch(r"(\d+)\s*(kB|MB|GB)", value)
    if not match:
        raise ImproperlyConfigured(f"{name}={value!r} must look like 64MB or 1GB.")
    kb = int(match[1]) * {"kB": 1, "MB": 1024, "GB": 1024 * 1024}[match[2]]
    if not 64 <= kb <= 2147483647:
        raise ImproperlyConfigured(f"{name}={value!r} must be between 64kB and 2147483647kB.")
    return kb


# A .env file in the project root is read when present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (or in .env), "
            "or set DEBUG=true for local development only."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
elif not DEBUG and (SECRET_KEY == "change-me" or SECRET_KEY.startswith("django-insecure-")):
    # A key copied from an example or a startproject template is public; the WSGI entry point
    # (breezeway/wsgi.py) also refuses any key Django's deploy check calls weak.
    raise ImproperlyConfigured(
        "SECRET_KEY is a placeholder or a generated development key; generate one with: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"] if DEBUG else [])

# --- HTTPS, cookies, the proxy in front -------------------------------------------------------
# Secure by default when DEBUG is off (manage.py check --deploy finds nothing to warn about);
# each can be changed by the variable of the same name, e.g. SECURE_SSL_REDIRECT=false behind
# a proxy that redirects to https itself.
SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers and probes call /healthz over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_flag("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_flag("CSRF_COOKIE_SECURE", not DEBUG)
# Behind a proxy that terminates TLS: the header it sets and the value meaning https, e.g.
# HTTP_X_FORWARDED_PROTO,https. Set it only when the proxy always sets (or strips) that header,
# or a client could claim https; without it, SECURE_SSL_REDIRECT would redirect forever.
_proxy_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_header and (len(_proxy_header) != 2 or not _proxy_header[0].startswith("HTTP_")):
    raise ImproperlyConfigured(
        f"SECURE_PROXY_SSL_HEADER={','.join(_proxy_header)!r}: give the header as Django sees "
        "it and the value meaning https, e.g. HTTP_X_FORWARDED_PROTO,https."
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_header) if _proxy_header else None
# Origins (scheme://host[:port]) allowed to POST, e.g. https://mirror.example.com when the
# proxy's public name is not in ALLOWED_HOSTS as the browser sees it.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Error pages (DEBUG) and error reports hide credential URLs as well as secret-named settings.
DEFAULT_EXCEPTION_REPORTER_FILTER = "breezeway.security.SecretsExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "breezeway.security.SecretsExceptionReporter"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "breezeway.apps.BreezewayConfig",
    "dedup.apps.DedupConfig",
    "etl.apps.EtlConfig",
    "ops.apps.OpsConfig",
    # The legacy-data generator's make_legacy_db command (a fixture: no models, no migrations).
    "legacy_fixture.apps.LegacyFixtureConfig",
    "django_celery_beat",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight after the security headers, before sessions and the database.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns axes' lockout of a login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "breezeway.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

WSGI_APPLICATION = "breezeway.wsgi.application"

# --- Database -------------------------------------------------------------------------------
# Zero-setup default: a SQLite file under var/. Production and tests use PostgreSQL.
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'breezeway.sqlite3'}"
    )
}

DATABASE_SCHEMA = env.str("DATABASE_SCHEMA", default="public")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", DATABASE_SCHEMA):
    raise ImproperlyConfigured(
        f"DATABASE_SCHEMA={DATABASE_SCHEMA!r} is not a valid schema name: use lower-case "
        "letters, digits and underscores, starting with a letter or underscore."
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    options = DATABASES["default"].setdefault("OPTIONS", {})
    # Every table (ours and Django's) lives in the chosen schema; breezeway.db_schema checks
    # on connect that it exists, because PostgreSQL would otherwise fail later and obscurely.
    options["options"] = f"-c search_path={DATABASE_SCHEMA}"
# Seconds a process keeps its PostgreSQL session between requests and tasks (0: a new one
# each time). A new session costs the server a process and authentication, about 5 ms of its
# CPU: more than storing a webhook event. Checked before reuse, so a restarted database costs
# one reconnect, not an error.
DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = DATABASE_CONN_MAX_AGE
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Remediation ------------------------------------------------------------------------------
# How long the remediation waits for a table or advisory lock before giving up (seconds).
DEDUP_LOCK_TIMEOUT = env_float("DEDUP_LOCK_TIMEOUT", 5.0)
if DEDUP_LOCK_TIMEOUT < 0.001:  # PostgreSQL counts milliseconds, and 0 would mean "no limit"
    raise ImproperlyConfigured(
        f"DEDUP_LOCK_TIMEOUT={DEDUP_LOCK_TIMEOUT!r} must be a positive number of seconds."
    )

# Memory for the remediation's hash aggregates (PostgreSQL work_mem, set for its transaction).
DEDUP_WORK_MEM = env.str("DEDUP_WORK_MEM", default="256MB")
DEDUP_WORK_MEM_KB = postgres_memory_kb("DEDUP_WORK_MEM", DEDUP_WORK_MEM)

# auto: truncate and re-insert the survivors when duplicates are the majority, else delete the
# losers in place; truncate or delete force one way (PostgreSQL; SQLite always deletes).
DEDUP_STRATEGY = env.str("DEDUP_STRATEGY", default="auto")
if DEDUP_STRATEGY not in ("auto", "truncate", "delete"):
    raise ImproperlyConfigured(f"DEDUP_STRATEGY={DEDUP_STRATEGY!r}: use auto, truncate or delete.")

# --- Sync (etl) -------------------------------------------------------------------------------
# Each active region syncs when BREEZEWAY_<CODE>_CLIENT_ID and _CLIENT_SECRET are set.
BREEZEWAY_API_URL = env_url("BREEZEWAY_API_URL", "https://api.breezeway.io/public/inventory/v1")
BREEZEWAY_AUTH_URL = env_url("BREEZEWAY_AUTH_URL", "https://api.breezeway.io/public/auth/v1")
SYNC_PAGE_SIZE = env_int("SYNC_PAGE_SIZE", 100, minimum=1)
# Requests in flight at once for per-property task lists and per-task child calls.
SYNC_CONCURRENCY = env_int("SYNC_CONCURRENCY", 8, minimum=1)
SYNC_RETRY_AFTER_CAP = env_float("SYNC_RETRY_AFTER_CAP", 120.0)
SYNC_MAX_ATTEMPTS = env_int("SYNC_MAX_ATTEMPTS", 5, minimum=1)
SYNC_RETRY_BASE_DELAY = env_float("SYNC_RETRY_BASE_DELAY", 0.5)
SYNC_HTTP_TIMEOUT = env_float("SYNC_HTTP_TIMEOUT", 30.0)
# Data requests per second per region (per API credential), all workers of all hosts together
# (etl.ratelimit); BREEZEWAY_<CODE>_RATE_LIMIT sets one region's. 0: no limit. A 429 halves the
# rate in force, which climbs back over SYNC_RATE_LIMIT_RECOVERY_SECONDS without one.
SYNC_RATE_LIMIT = env_float("SYNC_RATE_LIMIT", 20.0)
SYNC_RATE_LIMIT_RECOVERY_SECONDS = env_float("SYNC_RATE_LIMIT_RECOVERY_SECONDS", 60.0)
# Task children are fetched for new and changed tasks, tasks scheduled in this window (days
# around today; 0 and 0: today's), and for every task on a full sweep every
# SYNC_FULL_SWEEP_HOURS. Changed tasks carry their child changes (their updated_at moves), so
# the window only hedges for the tasks being worked today (README "The API client").
SYNC_CHILD_WINDOW_DAYS_BACK = env_int("SYNC_CHILD_WINDOW_DAYS_BACK", 0)
SYNC_CHILD_WINDOW_DAYS_AHEAD = env_int("SYNC_CHILD_WINDOW_DAYS_AHEAD", 0)
SYNC_FULL_SWEEP_HOURS = env_float("SYNC_FULL_SWEEP_HOURS", 24.0)
# Hourly reservation listings cover checkouts from this many days back; full sweeps list all.
SYNC_RESERVATION_DAYS_BACK = env_int("SYNC_RESERVATION_DAYS_BACK", 35)
# Between full sweeps, reservations are listed by update time: what changed since the last
# successful listing of the region, this many minutes earlier (clock skew between Breezeway
# and us, a change committed while the last listing read). Tasks are listed in full.
SYNC_INCREMENTAL_OVERLAP_MINUTES = env_int("SYNC_INCREMENTAL_OVERLAP_MINUTES", 10)
SYNC_BATCH_SIZE = env_int("SYNC_BATCH_SIZE", 1000, minimum=1)
# Seconds a sync waits for another run of its region to finish writing what it reads (a
# reservations sync for a properties sync) or reading what it writes; then it is skipped.
SYNC_LOCK_WAIT = env_float("SYNC_LOCK_WAIT", 900.0)
for _name in (
    "SYNC_RETRY_AFTER_CAP",
    "SYNC_RETRY_BASE_DELAY",
    "SYNC_FULL_SWEEP_HOURS",
    "SYNC_LOCK_WAIT",
    "SYNC_RATE_LIMIT",
    "SYNC_RATE_LIMIT_RECOVERY_SECONDS",
):
    if globals()[_name] < 0:
        raise ImproperlyConfigured(f"{_name} must not be negative.")
if SYNC_HTTP_TIMEOUT <= 0:
    raise ImproperlyConfigured("SYNC_HTTP_TIMEOUT must be a positive number of seconds.")

# --- Alerts -----------------------------------------------------------------------------------
# Alerts (ops.alerts) go by e-mail to ADMINS and, if set, as a JSON POST to a chat webhook.


def admins_from_env(name: str) -> list[tuple[str, str]]:
    """ADMINS from "Jane Doe <jane@example.com>, ops@example.com" (names may be quoted)."""
    from email.utils import getaddresses

    raw = env.str(name, default="").strip()
    admins = [(n.strip(), a.strip()) for n, a in getaddresses([raw]) if n.strip() or a.strip()]
    # getaddresses splits an unquoted "Doe, Jane <j@x>" into two entries, one without an address.
    bad = [n or a for n, a in admins if not re.fullmatch(r"[^@\s<>,]+@[^@\s<>,]+", a)]
    if bad:
        raise ImproperlyConfigured(
            f"{name}: {', '.join(bad)!s} is not an e-mail address; write Name <a@b.c>, "
            'separated by commas (quote a name holding a comma: "Doe, Jane" <j@x.c>).'
        )
    return admins


ADMINS = admins_from_env("ADMINS")
# How mail leaves: consolemail:// (stdout), smtp://user:password@host:25,
# smtp+tls://...:587 (STARTTLS) or smtp+ssl://...:465, as django-environ reads it.
_email = env.email_url("EMAIL_URL", default="consolemail://")
globals().update(
    {k: v for k, v in _email.items() if k.startswith("EMAIL_") and v not in (None, "")}
)
SERVER_EMAIL = env.str("SERVER_EMAIL", default="breezeway@localhost")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=SERVER_EMAIL)
# A space is added after it (a trailing space in a .env file does not survive editors).
EMAIL_SUBJECT_PREFIX = env.str("EMAIL_SUBJECT_PREFIX", default="[Breezeway]").strip()
EMAIL_SUBJECT_PREFIX += " " if EMAIL_SUBJECT_PREFIX else ""
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 10.0)  # an unreachable SMTP must not hang the check
# A chat webhook (Slack, Mattermost, Teams...) that receives {"text": ..., "alerts": [...]}.
ALERT_WEBHOOK_URL = env.str("ALERT_WEBHOOK_URL", default="").strip()
if ALERT_WEBHOOK_URL and not re.fullmatch(r"https?://\S+", ALERT_WEBHOOK_URL):
    # Not echoed: such URLs usually carry their secret token.
    raise ImproperlyConfigured("ALERT_WEBHOOK_URL is not an http(s) URL.")
ALERT_WEBHOOK_TIMEOUT = env_float("ALERT_WEBHOOK_TIMEOUT", 10.0)
# Hours without a successful sync before an entity of a region is called stale: per entity
# (hourly ones: an hour plus two missed runs; daily ones: a day plus two hours), "default"
# for the rest; a single number applies to every entity.
_max_age = env.str("ALERT_SYNC_MAX_AGE_HOURS", default="reservations=3,tasks=3,default=26")
try:
    if "=" in _max_age:
        ALERT_SYNC_MAX_AGE_HOURS = {
            k.strip(): float(v) for k, v in (p.split("=", 1) for p in _max_age.split(",") if p)
        }
    else:
        ALERT_SYNC_MAX_AGE_HOURS = {"default": float(_max_age)}
    if "default" not in ALERT_SYNC_MAX_AGE_HOURS:
        ALERT_SYNC_MAX_AGE_HOURS["default"] = 26.0
    if not all(0 < v < math.inf for v in ALERT_SYNC_MAX_AGE_HOURS.values()):
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(
        f"ALERT_SYNC_MAX_AGE_HOURS={_max_age!r}: give hours, e.g. 26 or tasks=3,default=26."
    ) from None
# The same (region, entity) failing this many runs in a row opens an alert (skipped runs do
# not count); a partial run counts as a failure unless ALERT_PARTIAL_IS_FAILURE is false.
ALERT_FAILURES_IN_A_ROW = env_int("ALERT_FAILURES_IN_A_ROW", 3, minimum=1)
ALERT_PARTIAL_IS_FAILURE = env.bool("ALERT_PARTIAL_IS_FAILURE", default=True)
# More records rejected than this in the latest run of a (region, entity) opens an alert.
ALERT_REJECTED_PER_RUN = env_int("ALERT_REJECTED_PER_RUN", 100)
# A table whose distinct natural keys fell by more than this fraction between two snapshots.
ALERT_ROW_DROP_FRACTION = env_float("ALERT_ROW_DROP_FRACTION", 0.5)
if not 0 < ALERT_ROW_DROP_FRACTION <= 1:
    raise ImproperlyConfigured("ALERT_ROW_DROP_FRACTION must be above 0 and at most 1.")
for _name in ("EMAIL_TIMEOUT", "ALERT_WEBHOOK_TIMEOUT"):
    if globals()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number of seconds.")

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run in-process so the demo needs no services.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# A sync task is acknowledged when it ends, not when it starts, and a worker that dies
# mid-task gives its message back: the task runs again (safe: syncs are idempotent, and the
# advisory locks die with the dead worker's database connection).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks: do not hoard messages other workers could run
# The longest a sync task may run: soft limit (the task records a failed run and stops), then
# the hard limit (the worker kills it). One region's full sweep of 20,000 tasks takes minutes.
SYNC_TASK_SOFT_TIME_LIMIT = env_int("SYNC_TASK_SOFT_TIME_LIMIT", 3 * 3600, minimum=1)
SYNC_TASK_TIME_LIMIT = env_int("SYNC_TASK_TIME_LIMIT", SYNC_TASK_SOFT_TIME_LIMIT + 300, minimum=1)
if SYNC_TASK_TIME_LIMIT <= SYNC_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("SYNC_TASK_TIME_LIMIT must be above SYNC_TASK_SOFT_TIME_LIMIT.")
CELERY_TASK_SOFT_TIME_LIMIT = SYNC_TASK_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = SYNC_TASK_TIME_LIMIT
# Redis redelivers a message nobody acknowledged within the visibility timeout. With acks_late
# a task holds its message until it ends, so the timeout must exceed the hard time limit, or a
# second worker would start a task that is still running. (It is also how a message of a worker
# killed outright comes back.) Default: the hard limit plus 10 minutes.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int(
        "CELERY_VISIBILITY_TIMEOUT", SYNC_TASK_TIME_LIMIT + 600, minimum=1
    ),
    # Workers look for such overdue messages every 10 s (kombu scans only every 10th look by
    # default, i.e. every 100 s; the scan is one cheap ZRANGE).
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= SYNC_TASK_TIME_LIMIT:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be above SYNC_TASK_TIME_LIMIT.")
# Seconds before a sync task that failed for a transient reason (the API, the network) runs
# again: one retry per entry. Bad data is never retried.
SYNC_TASK_RETRY_DELAYS = env_seconds_list("SYNC_TASK_RETRY_DELAYS", "60,300,900")
# Webhooks (etl.webhooks): the largest body accepted (413 above), the seconds between the
# retries of an event whose processing failed transiently (then it is `failed`), and the hours
# without an event, while the hourly sync finds changes, after which a region is flagged.
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
WEBHOOK_RETRY_DELAYS = env_seconds_list("WEBHOOK_RETRY_DELAYS", "10,60,300,900,3600")
WEBHOOK_QUIET_HOURS = env_float("WEBHOOK_QUIET_HOURS", 2.0)
if WEBHOOK_QUIET_HOURS <= 0:
    raise ImproperlyConfigured(f"WEBHOOK_QUIET_HOURS={WEBHOOK_QUIET_HOURS!r} must be positive.")
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes the database connection around every task unless told to reuse
# it: keep it as DATABASE_CONN_MAX_AGE says (each task starts with close_old_connections(),
# which drops an aged or broken one). Without this, a webhook event (a 20 ms task) paid for a
# new PostgreSQL session each time.
CELERY_DB_REUSE_MAX = 100_000 if DATABASE_CONN_MAX_AGE else None
# The queue every task goes to; give each deployment (or test run) sharing a Redis its own.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="breezeway")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Schedules live in the database (django-celery-beat): staff edit or pause them in admin.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# --- Auth, i18n, static -----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): its backend must come first, to refuse a locked-out login
# before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After AXES_FAILURE_LIMIT failed logins for one username from one address, that pair is
# refused for AXES_COOLOFF_MINUTES (python manage.py axes_reset unlocks everyone at once).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_float("AXES_COOLOFF_MINUTES", 15.0))
if AXES_COOLOFF_TIME <= timedelta(0):
    raise ImproperlyConfigured("AXES_COOLOFF_MINUTES must be a positive number of minutes.")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful login forgets the failures before it
AXES_LOCKOUT_CALLABLE = "breezeway.security.lockout_response"
# No "AXES: BEGIN ..." line at the start of every command; lockouts are still logged.
AXES_VERBOSE = False

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic gathers the files WhiteNoise serves.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Without DEBUG: content-hashed names (cached for a year by browsers) and gzip copies,
    # which needs collectstatic before serving (scripts/serve.sh web runs it). With DEBUG
    # (make run), plain names found in the apps, no collectstatic.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# plain: text lines; json: one JSON object per line (for a log pipeline). Both redact URL
# passwords and bearer tokens; json adds the region, entity and run id a line is about.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "breezeway.logcontext.LogContextFilter"}},
    "formatters": {
        "plain": {
            "class": "ops.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        },
        "json": {"class": "ops.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    # Root too: the lines of libraries (and of Celery's worker and beat) share the format.
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        **{
            name: {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}
            # celery.task does not propagate (Celery sets it so) and needs its own handler.
            for name in ("breezeway", "dedup", "etl", "ops", "celery", "celery.task")
        },
        # One INFO line per API request (thousands per sync) would drown everything else.
        "httpx": {"level": "WARNING"},
    },
}
# Celery's worker and beat keep the handlers above instead of installing their own text ones.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# The bearer token Prometheus sends to scrape /metrics; empty: /metrics answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="").strip()

# The legacy schema's index names (idx_property_photos_property_pk, ...) are longer than the
# 30 characters Django allows for portability; PostgreSQL takes 63 and we must keep them.
SILENCED_SYSTEM_CHECKS = ["models.E034"]
