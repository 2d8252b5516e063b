"""/healthz: 200 when the database and the broker answer, 503 naming what does not."""

import pytest

from breezeway.celery import app
from tests.celery.conftest import reset_connections
from tests.support.broker import BROKER


@pytest.fixture
def broker_url(settings):
    saved = app.conf.broker_url

    def use(url: str) -> None:
        settings.CELERY_BROKER_URL = url
        app.conf.broker_url = url
        reset_connections()

    yield use
    app.conf.broker_url = saved
    reset_connections()


def test_healthy_without_a_broker(client, db, broker_url) -> None:
    broker_url("")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["broker"].startswith("not configured")


def test_healthy_with_redis(client, db, broker_url) -> None:
    broker_url(BROKER)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["broker"] == "ok"


def test_a_broker_that_does_not_answer_is_reported(client, db, broker_url) -> None:
    broker_url("redis://:secret-password@127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["broker"].startswith("error")
    assert "secret-password" not in response.content.decode()
