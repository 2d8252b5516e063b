"""Test suite: pytest-django against a real PostgreSQL (TEST_DATABASE_URL)."""
