"""breezeway.settings read from the environment, each case in a subprocess of its own.

The subprocess gets a controlled environment (nothing inherited but PATH) and does not read
the project's .env file, so a developer's .env cannot change the outcome.
"""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.support.scratch import ROOT

PROBE = """
import json
import re

import environ

environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)  # the environment only

import django
from django.conf import settings

db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "ENGINE": db["ENGINE"],
    "NAME": str(db["NAME"]),
    "OPTIONS": db.get("OPTIONS", {}),
    "DATABASE_SCHEMA": settings.DATABASE_SCHEMA,
    "DEDUP_LOCK_TIMEOUT": settings.DEDUP_LOCK_TIMEOUT,
    "DEDUP_WORK_MEM": settings.DEDUP_WORK_MEM,
    "DEDUP_STRATEGY": settings.DEDUP_STRATEGY,
    "SYNC": {
        k: getattr(settings, k) for k in dir(settings) if k.startswith(("SYNC_", "BREEZEWAY_"))
    },
    "django": django.get_version(),
}))
"""

IMPROPERLY_CONFIGURED = "django.core.exceptions.ImproperlyConfigured: "
POSTGRES_URL = "postgres://mirror@db.example.com:5432/breezeway"


def run_settings(**env: str) -> subprocess.CompletedProcess:
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "breezeway.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def load(**env: str) -> dict:
    """The settings for this environment; fails the test if they do not load."""
    proc = run_settings(**env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def config_error(**env: str) -> str:
    """The ImproperlyConfigured message the settings raise for this environment."""
    proc = run_settings(**env)
    assert proc.returncode != 0, f"settings loaded: {proc.stdout}"
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(IMPROPERLY_CONFIGURED), proc.stderr
    return last.removeprefix(IMPROPERLY_CONFIGURED)


# --- SECRET_KEY and DEBUG -------------------------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [{}, {"DEBUG": "false"}, {"DEBUG": "0"}, {"DEBUG": "no"}, {"SECRET_KEY": ""}],
    ids=["nothing", "debug-false", "debug-0", "debug-no", "empty-key"],
)
def test_secret_key_is_required_when_debug_is_off(env: dict) -> None:
    message = config_error(**env)
    assert "SECRET_KEY is not set" in message
    assert "DEBUG=true" in message  # says how to run locally without one


@pytest.mark.parametrize("debug", ["true", "True", "1", "yes", "on"])
def test_debug_works_without_a_secret_key(debug: str) -> None:
    settings = load(DEBUG=debug)
    assert settings["DEBUG"] is True
    assert settings["SECRET_KEY"]  # a development key, never empty
    assert settings["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1"]


def test_secret_key_from_the_environment() -> None:
    settings = load(SECRET_KEY="s3cret-from-env")
    assert settings["SECRET_KEY"] == "s3cret-from-env"
    assert settings["DEBUG"] is False
    assert settings["ALLOWED_HOSTS"] == []


# --- DATABASE_URL and DATABASE_SCHEMA -------------------------------------------------------


def test_default_database_is_sqlite_under_var() -> None:
    settings = load(SECRET_KEY="k")
    assert settings["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["NAME"] == str(ROOT / "var" / "breezeway.sqlite3")
    assert settings["DATABASE_SCHEMA"] == "public"
    assert "options" not in settings["OPTIONS"]  # search_path is PostgreSQL's


def test_schema_is_not_applied_to_sqlite() -> None:
    settings = load(SECRET_KEY="k", DATABASE_SCHEMA="breezeway")
    assert settings["ENGINE"] == "django.db.backends.sqlite3"
    assert "options" not in settings["OPTIONS"]


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_database_schema_sets_the_postgresql_search_path(scheme: str) -> None:
    url = POSTGRES_URL.replace("postgres", scheme, 1)
    settings = load(SECRET_KEY="k", DATABASE_URL=url, DATABASE_SCHEMA="breezeway")
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert settings["NAME"] == "breezeway"
    assert settings["OPTIONS"]["options"] == "-c search_path=breezeway"


def test_default_schema_is_public() -> None:
    settings = load(SECRET_KEY="k", DATABASE_URL=POSTGRES_URL)
    assert settings["DATABASE_SCHEMA"] == "public"
    assert settings["OPTIONS"]["options"] == "-c search_path=public"


def test_search_path_keeps_options_from_the_url() -> None:
    settings = load(
        SECRET_KEY="k", DATABASE_URL=f"{POSTGRES_URL}?sslmode=require", DATABASE_SCHEMA="bw_2"
    )
    assert settings["OPTIONS"] == {"sslmode": "require", "options": "-c search_path=bw_2"}


@pytest.mark.parametrize("schema", ["_private", "a" * 63, "bw_2024"])
def test_valid_schema_names(schema: str) -> None:
    assert load(SECRET_KEY="k", DATABASE_SCHEMA=schema)["DATABASE_SCHEMA"] == schema


@pytest.mark.parametrize(
    "schema",
    ["Bad-Name", "Breezeway", "1schema", "a" * 64, "bw;drop", "bw schema", ""],
)
def test_invalid_schema_names(schema: str) -> None:
    message = config_error(SECRET_KEY="k", DATABASE_URL=POSTGRES_URL, DATABASE_SCHEMA=schema)
    assert f"DATABASE_SCHEMA={schema!r} is not a valid schema name" in message


# --- DEDUP_LOCK_TIMEOUT and DEDUP_WORK_MEM --------------------------------------------------


def test_dedup_defaults() -> None:
    settings = load(SECRET_KEY="k")
    assert settings["DEDUP_LOCK_TIMEOUT"] == 5.0
    assert settings["DEDUP_WORK_MEM"] == "256MB"
    assert settings["DEDUP_STRATEGY"] == "auto"


@pytest.mark.parametrize(
    ("raw", "value"), [("2.5", 2.5), ("30", 30.0), (" 1 ", 1.0), ("1e3", 1000.0), ("", 5.0)]
)
def test_dedup_lock_timeout_values(raw: str, value: float) -> None:
    assert load(SECRET_KEY="k", DEDUP_LOCK_TIMEOUT=raw)["DEDUP_LOCK_TIMEOUT"] == value


@pytest.mark.parametrize(
    "raw",
    [
        "0",
        "-1",
        "-0.5",
        "abc",
        "nan",
        "2.5.1",
        "5s",
        "0.0001",
    ],
)
def test_bad_dedup_lock_timeout(raw: str) -> None:
    assert "DEDUP_LOCK_TIMEOUT" in config_error(SECRET_KEY="k", DEDUP_LOCK_TIMEOUT=raw)


def test_dedup_lock_timeout_in_exponent_notation() -> None:
    proc = run_settings(SECRET_KEY="k", DEDUP_LOCK_TIMEOUT="1e3")
    if proc.returncode == 0:  # either read as Python reads it, or refused with a clear message
        assert json.loads(proc.stdout)["DEDUP_LOCK_TIMEOUT"] == 1000.0
    else:
        assert "DEDUP_LOCK_TIMEOUT" in config_error(SECRET_KEY="k", DEDUP_LOCK_TIMEOUT="1e3")


@pytest.mark.parametrize("raw", ["64MB", "1GB", "512kB", "64 MB"])
def test_dedup_work_mem_values(raw: str) -> None:
    assert load(SECRET_KEY="k", DEDUP_WORK_MEM=raw)["DEDUP_WORK_MEM"] == raw


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "64",
        "64mb",
        "1TB",
        "-64MB",
        "64MB;",
        "",
        "0MB",
        "4096GB",
    ],
)
def test_bad_dedup_work_mem(raw: str) -> None:
    assert "DEDUP_WORK_MEM" in config_error(SECRET_KEY="k", DEDUP_WORK_MEM=raw)


@pytest.mark.parametrize("strategy", ["auto", "truncate", "delete"])
def test_dedup_strategy_values(strategy: str) -> None:
    assert load(SECRET_KEY="k", DEDUP_STRATEGY=strategy)["DEDUP_STRATEGY"] == strategy


@pytest.mark.parametrize("strategy", ["fast", "Auto", ""])
def test_bad_dedup_strategy(strategy: str) -> None:
    assert "DEDUP_STRATEGY" in config_error(SECRET_KEY="k", DEDUP_STRATEGY=strategy)


# --- sync -------------------------------------------------------------------------------------


def test_sync_defaults() -> None:
    sync = load(SECRET_KEY="k")["SYNC"]
    assert sync["BREEZEWAY_API_URL"] == "https://api.breezeway.io/public/inventory/v1"
    assert sync["BREEZEWAY_AUTH_URL"] == "https://api.breezeway.io/public/auth/v1"
    assert (sync["SYNC_PAGE_SIZE"], sync["SYNC_CONCURRENCY"]) == (100, 8)
    assert sync["SYNC_RETRY_AFTER_CAP"] == 120.0
    assert (sync["SYNC_CHILD_WINDOW_DAYS_BACK"], sync["SYNC_CHILD_WINDOW_DAYS_AHEAD"]) == (0, 0)
    assert sync["SYNC_FULL_SWEEP_HOURS"] == 24.0


def test_sync_values_and_urls() -> None:
    sync = load(
        SECRET_KEY="k",
        SYNC_CONCURRENCY="3",
        BREEZEWAY_API_URL="http://127.0.0.1:8765/public/inventory/v1/",
    )["SYNC"]
    assert sync["SYNC_CONCURRENCY"] == 3
    assert sync["BREEZEWAY_API_URL"] == "http://127.0.0.1:8765/public/inventory/v1"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("SYNC_CONCURRENCY", "0"),
        ("SYNC_CONCURRENCY", "eight"),
        ("SYNC_PAGE_SIZE", "1.5"),
        ("SYNC_RETRY_AFTER_CAP", "-1"),
        ("SYNC_HTTP_TIMEOUT", "0"),
        ("SYNC_FULL_SWEEP_HOURS", "daily"),
        ("BREEZEWAY_API_URL", "api.breezeway.io"),
        ("BREEZEWAY_AUTH_URL", "ftp://x/y"),
        ("SYNC_TASK_RETRY_DELAYS", "1m,5m"),
    ],
)
def test_bad_sync_settings_name_the_variable(name: str, raw: str) -> None:
    assert name in config_error(SECRET_KEY="k", **{name: raw})


def test_celery_defaults_keep_redelivery_after_the_hard_limit() -> None:
    proc = run_settings(SECRET_KEY="k")
    assert proc.returncode == 0, proc.stderr
    probe = (
        "from django.conf import settings as s; "
        "print(s.CELERY_TASK_TIME_LIMIT, s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], "
        "s.CELERY_TASK_ACKS_LATE, s.CELERY_TASK_REJECT_ON_WORKER_LOST)"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + probe],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "breezeway.settings",
            "SECRET_KEY": "k",
        },
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    hard, visibility = int(out[0]), int(out[1])
    assert visibility > hard and out[2:] == ["True", "True"]


@pytest.mark.parametrize(
    "env",
    [
        {"SYNC_TASK_SOFT_TIME_LIMIT": "100", "SYNC_TASK_TIME_LIMIT": "100"},
        {
            "SYNC_TASK_TIME_LIMIT": "100",
            "SYNC_TASK_SOFT_TIME_LIMIT": "50",
            "CELERY_VISIBILITY_TIMEOUT": "90",
        },
    ],
)
def test_celery_limits_that_would_redeliver_running_tasks_are_refused(env: dict) -> None:
    message = config_error(SECRET_KEY="k", **env)
    assert "SYNC_TASK_TIME_LIMIT" in message or "CELERY_VISIBILITY_TIMEOUT" in message


def test_env_example_lists_every_variable_the_settings_read() -> None:
    settings_source = (ROOT / "breezeway" / "settings.py").read_text()
    read = set(re.findall(r'env[._a-z]*\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.M))
    assert read, "no variable found: the pattern no longer matches settings.py"
    assert read - listed == set()


# --- HTTPS, cookies, proxy, static files, login throttling ----------------------------------

SECURITY_PROBE = """
import json
import environ

environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)

from django.conf import settings as s

names = [
    "SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS", "MIDDLEWARE",
    "AUTHENTICATION_BACKENDS", "AXES_FAILURE_LIMIT", "AXES_LOCKOUT_PARAMETERS",
    "DEFAULT_EXCEPTION_REPORTER_FILTER", "STORAGES",
]
values = {n: getattr(s, n) for n in names}
values["STATIC_ROOT"] = str(s.STATIC_ROOT)
values["AXES_COOLOFF_SECONDS"] = s.AXES_COOLOFF_TIME.total_seconds()
print(json.dumps(values))
"""
STRONG_KEY = "x" * 40 + "abcdefghij"
SECURITY_FLAGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
]


def security(**env: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", SECURITY_PROBE],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "breezeway.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_secure_by_default_without_debug() -> None:
    s = security(SECRET_KEY=STRONG_KEY)
    assert all(s[name] is True for name in SECURITY_FLAGS)
    assert s["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert s["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]
    assert (s["SECURE_PROXY_SSL_HEADER"], s["CSRF_TRUSTED_ORIGINS"]) == (None, [])
    assert s["DEFAULT_EXCEPTION_REPORTER_FILTER"].endswith("SecretsExceptionReporterFilter")
    assert s["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert s["STATIC_ROOT"] == str(ROOT / "var" / "static")
    middleware = s["MIDDLEWARE"]
    assert middleware[:2] == [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
    ]
    assert "axes.middleware.AxesMiddleware" in middleware
    assert s["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"
    assert (s["AXES_FAILURE_LIMIT"], s["AXES_COOLOFF_SECONDS"]) == (5, 900)
    assert s["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"]]


def test_debug_turns_the_https_defaults_off_and_serves_plain_static_names() -> None:
    s = security(DEBUG="true")
    assert not any(s[name] for name in SECURITY_FLAGS)
    assert s["SECURE_HSTS_SECONDS"] == 0
    assert s["STORAGES"]["staticfiles"]["BACKEND"] == (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )


def test_each_protection_is_set_by_the_variable_of_its_name() -> None:
    off = {name: "false" for name in SECURITY_FLAGS}
    s = security(SECRET_KEY=STRONG_KEY, SECURE_HSTS_SECONDS="3600", **off)
    assert not any(s[name] for name in SECURITY_FLAGS)
    assert s["SECURE_HSTS_SECONDS"] == 3600
    assert security(DEBUG="true", SECURE_SSL_REDIRECT="on")["SECURE_SSL_REDIRECT"] is True


def test_proxy_origins_static_root_and_throttling_from_the_environment(tmp_path) -> None:
    s = security(
        SECRET_KEY=STRONG_KEY,
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        CSRF_TRUSTED_ORIGINS="https://mirror.example.com,https://admin.example.com",
        STATIC_ROOT=str(tmp_path),
        AXES_FAILURE_LIMIT="3",
        AXES_COOLOFF_MINUTES="0.5",
    )
    assert s["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["CSRF_TRUSTED_ORIGINS"] == ["https://mirror.example.com", "https://admin.example.com"]
    assert s["STATIC_ROOT"] == str(tmp_path)
    assert (s["AXES_FAILURE_LIMIT"], s["AXES_COOLOFF_SECONDS"]) == (3, 30)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("SECURE_SSL_REDIRECT", "ture"),
        ("SESSION_COOKIE_SECURE", "maybe"),
        ("SECURE_HSTS_SECONDS", "1y"),
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto"),
        ("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO,https,extra"),
        ("AXES_FAILURE_LIMIT", "0"),
        ("AXES_COOLOFF_MINUTES", "0"),
    ],
)
def test_bad_security_settings_name_the_variable(name: str, raw: str) -> None:
    assert name in config_error(SECRET_KEY=STRONG_KEY, **{name: raw})


@pytest.mark.parametrize("key", ["change-me", "django-insecure-" + "a1b2c3d4e5" * 5])
def test_placeholder_keys_are_refused_without_debug(key: str) -> None:
    message = config_error(SECRET_KEY=key)
    assert "placeholder" in message and "secrets.token_urlsafe(50)" in message
    assert load(SECRET_KEY=key, DEBUG="true")["DEBUG"] is True
