"""Test settings: the project's settings on the PostgreSQL named by TEST_DATABASE_URL."""

import os

DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/breezeway"

os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("DATABASE_SCHEMA", "public")

from breezeway.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A test database of this session's own: two sessions on one server (two checkouts, a developer
# and CI) must not create and drop each other's database in the middle of a run.
DATABASES["default"]["TEST"] = {"NAME": f"test_breezeway_{os.getpid()}"}  # noqa: F405
