"""Admin logins are throttled by django-axes: after AXES_FAILURE_LIMIT failures for one
username from one address, even the right password is refused until the cool-off ends or an
administrator resets the lockout."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command
from django.db.models import F
from django.test import Client, override_settings

LOGIN = "/admin/login/"
PASSWORD = "the-right-password"


@pytest.fixture(autouse=True)
def throttling() -> Iterator[None]:
    # The suite runs with axes off (tests/settings.py); here it is what is tested.
    with override_settings(AXES_ENABLED=True):
        yield


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("ops", password=PASSWORD, is_staff=True)


def log_in(password: str, address: str = "10.0.0.1") -> tuple[int, str, bool]:
    """POST the admin login form; the status, the page and whether a session was opened."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": "ops", "password": password, "next": "/admin/"})
    return response.status_code, response.content.decode(), "_auth_user_id" in client.session


def fail_until_locked() -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        status, page, logged_in = log_in("wrong")
        assert (status, logged_in) == (200, False)
        assert "Please enter the correct username and password" in page
    # The failure that reaches the limit is answered with the lockout already.
    assert log_in("wrong")[0] == 429


def test_the_right_password_is_refused_after_too_many_failures(staff) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    fail_until_locked()
    status, page, logged_in = log_in(PASSWORD)
    assert (status, logged_in) == (429, False)
    # The admin's login page, saying what happened and for how long.
    assert 'id="lockout-message"' in page and 'id="login-form"' in page
    assert "Too many failed login attempts" in page and "15 minutes" in page


def test_the_lockout_is_per_username_and_address(staff) -> None:
    fail_until_locked()
    assert log_in(PASSWORD, address="10.0.0.2")[2]  # another address is not locked out


def test_the_right_password_is_accepted_after_the_cool_off(staff) -> None:
    fail_until_locked()
    assert log_in(PASSWORD)[0] == 429
    # Fifteen minutes later, as far as axes can tell.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    status, _, logged_in = log_in(PASSWORD)
    assert (status, logged_in) == (302, True)


def test_axes_reset_lifts_the_lockout(staff) -> None:
    fail_until_locked()
    assert log_in(PASSWORD)[0] == 429
    call_command("axes_reset", stdout=open("/dev/null", "w"))
    assert log_in(PASSWORD)[2]


def test_a_success_before_the_limit_forgets_the_failures(staff) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in("wrong")
    assert log_in(PASSWORD)[2]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in("wrong")
    assert log_in(PASSWORD)[2]  # 8 failures in all, never 5 in a row
