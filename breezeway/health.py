"""/healthz: is the database reachable, and the Celery broker (when one is configured)?"""

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

BROKER_TIMEOUT = 2.0  # seconds: a health check must answer fast, even when Redis hangs


def check_database() -> str:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:  # any failure is the answer, not an error of the view
        return f"error: {type(exc).__name__}"
    return "ok"


def check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "not configured (tasks run in-process)"
    from breezeway.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every configured dependency answers, else 503; the body says which failed.
    Error texts are reduced to their type: a connection string must never leak here."""
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(not value.startswith("error") for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
