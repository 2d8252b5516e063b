"""The Redis the tests use as Celery broker (and rate-limit store): TEST_BROKER_URL."""

import os

BROKER = os.environ.get("TEST_BROKER_URL", "redis://127.0.0.1:6379/9")
