"""Test settings: the project's settings on the PostgreSQL named by TEST_DATABASE_URL."""

import os

DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/breezeway"

os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("DATABASE_SCHEMA", "public")
# In-process syncs run unpaced (thousands of calls a test); tests/etl/test_ratelimit.py and
# tests/celery/test_rate_limit.py set a rate where the rate is what they test.
os.environ.setdefault("SYNC_RATE_LIMIT", "0")

from breezeway.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A test database of this session's own: two sessions on one server (two checkouts, a developer
# and CI) must not create and drop each other's database in the middle of a run.
DATABASES["default"]["TEST"] = {"NAME": f"test_breezeway_{os.getpid()}"}  # noqa: F405
# A session per request or task in this process: live_server's and the threaded WSGI servers'
# threads would otherwise keep sessions on the test database, which is dropped at the end.
# (The worker, beat and gunicorn processes the tests start keep theirs, as in production.)
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# The suite renders pages without running collectstatic: plain static names, not the manifest
# storage production uses (tests/deploy serves the collected, hashed files through gunicorn).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Login throttling off, so that Client.login() works (axes needs the request, which it does not
# pass); tests/deploy turns it on where it is what is tested.
AXES_ENABLED = False
# The test client and live_server speak plain http; tests/deploy checks the https defaults.
SECURE_SSL_REDIRECT = False
# STATIC_ROOT is never collected here: look files up per request instead of warning at start.
WHITENOISE_AUTOREFRESH = True
