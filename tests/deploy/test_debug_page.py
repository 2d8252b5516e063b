"""With DEBUG on, the error page shows no credential: settings, the request's environment
(runserver puts the whole process environment there) and the traceback's variables."""

import pytest
from django.test import Client, override_settings

from breezeway.security import mask_url_passwords
from tests.deploy.urls import BROKER_PASSWORD, CLIENT_SECRET, DB_PASSWORD

# What runserver's request.META holds besides the headers: os.environ, e.g. in make run.
PROCESS_ENVIRONMENT = {
    "DATABASE_URL": f"postgres://mirror:{DB_PASSWORD}@db.internal:5432/breezeway",
    "CELERY_BROKER_URL": f"redis://:{BROKER_PASSWORD}@redis.internal:6379/0",
    "BREEZEWAY_US_EAST_CLIENT_ID": "client-id-us-east",
    "BREEZEWAY_US_EAST_CLIENT_SECRET": CLIENT_SECRET,
}


@pytest.fixture
def error_page(db) -> str:
    with override_settings(
        DEBUG=True,
        ROOT_URLCONF="tests.deploy.urls",
        CELERY_BROKER_URL=PROCESS_ENVIRONMENT["CELERY_BROKER_URL"],
        REPLICA_DATABASES={"replica": {"HOST": "replica.internal", "PASSWORD": DB_PASSWORD}},
    ):
        response = Client(raise_request_exception=False).get("/boom", **PROCESS_ENVIRONMENT)
    assert response.status_code == 500
    html = response.content.decode()
    assert "the replica is unreachable" in html  # Django's debug page, not a plain 500
    return html


def test_the_debug_page_hides_passwords_and_client_secrets(error_page: str) -> None:
    for secret in (DB_PASSWORD, BROKER_PASSWORD, CLIENT_SECRET):
        assert secret not in error_page


def test_the_debug_page_keeps_what_is_not_secret(error_page: str) -> None:
    # Only the password goes: the page must still say which database and broker were used.
    assert "postgres://mirror:********************@db.internal:5432/breezeway" in error_page
    assert "redis://:********************@redis.internal:6379/0" in error_page
    assert "client-id-us-east" in error_page
    assert "replica_url" in error_page  # the traceback's variables are still listed


@override_settings(DEBUG=True, ROOT_URLCONF="tests.deploy.urls")
def test_exception_messages_quoting_a_credential_url_are_masked(db) -> None:
    response = Client(raise_request_exception=False).get("/boom-quoting-the-url")
    html = response.content.decode()
    assert response.status_code == 500 and "is unreachable" in html
    assert BROKER_PASSWORD not in html
    assert "the broker at redis://:********************@redis.internal:6379/0" in html
    assert "Error connecting to redis://:********************@redis.internal" in html  # cause


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgres://u:pw@db:5432/x", "postgres://u:***@db:5432/x"),
        ("redis://:pw@redis:6379/0", "redis://:***@redis:6379/0"),
        ("smtp+tls://mail%40x.org:p%2Fw@smtp:587", "smtp+tls://mail%40x.org:***@smtp:587"),
        ("postgres://u:p@ss@db/x", "postgres://u:***@db/x"),  # an unescaped @ in the password
        ("{'a': 'amqp://u:pw@h', 'b': 'x@y'}", "{'a': 'amqp://u:***@h', 'b': 'x@y'}"),
        ("https://example.com:8443/path@x", "https://example.com:8443/path@x"),  # a port
        ("user@example.com https://h/", "user@example.com https://h/"),
    ],
)
def test_url_passwords_are_masked(text: str, masked: str) -> None:
    assert mask_url_passwords(text, "***") == masked
