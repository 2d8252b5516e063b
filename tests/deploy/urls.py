"""The project's routes plus /boom, a view that fails holding secrets (debug page tests only)."""

import secrets

from django.http import HttpRequest, HttpResponse
from django.urls import path

from breezeway.urls import urlpatterns as project_urlpatterns

# Made at run time: the error page quotes source lines, and these must appear only as values.
DB_PASSWORD = f"db-pass-{secrets.token_hex(4)}"
BROKER_PASSWORD = f"broker-pass-{secrets.token_hex(4)}"
CLIENT_SECRET = f"client-secret-{secrets.token_hex(4)}"


def boom(request: HttpRequest) -> HttpResponse:
    """Fails with credentials in its local variables, as a view using them might."""
    replica_url = f"postgres://mirror:{DB_PASSWORD}@replica.internal:5432/breezeway"  # noqa: F841
    connection_params = {"HOST": "replica.internal", "PASSWORD": DB_PASSWORD}  # noqa: F841
    raise RuntimeError("the replica is unreachable")


def boom_quoting_the_url(request: HttpRequest) -> HttpResponse:
    """Fails with an error message that quotes a credential URL, and a cause that does too."""
    url = f"redis://:{BROKER_PASSWORD}@redis.internal:6379/0"
    try:
        raise ConnectionError(f"Error connecting to {url}")
    except ConnectionError as exc:
        raise RuntimeError(f"the broker at {url} is unreachable") from exc


urlpatterns = [
    *project_urlpatterns,
    path("boom", boom),
    path("boom-quoting-the-url", boom_quoting_the_url),
]
