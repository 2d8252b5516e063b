"""Security pieces the settings and the WSGI entry point use: secrets kept off error pages, the
admin's lockout page, and the rule a production secret key must meet."""

import re
from datetime import timedelta
from pprint import pformat
from typing import Any

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# The password of a URL with credentials: postgres://user:PASSWORD@host, redis://:PASSWORD@host;
# up to the last @ before the host, so that an unescaped @ in a password does not end it early.
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s/]+(?=@)", re.I)

GENERATE_KEY_HINT = (
    'generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
)


def mask_url_passwords(text: str, substitute: str = "********************") -> str:
    """`text` with the password of every scheme://user:password@ URL in it replaced."""
    return URL_PASSWORD.sub(lambda m: m["head"] + substitute, text)


def insecure_secret_key_reason(key: str) -> str | None:
    """Why Django's deploy check (security.W009) would call this key weak, or None."""
    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"it starts with {SECRET_KEY_INSECURE_PREFIX!r} (a generated development key)"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has fewer than {SECRET_KEY_MIN_LENGTH} characters"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return f"it has fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct characters"
    return None


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter (settings and META named like PASSWORD, SECRET, KEY, TOKEN are hidden),
    plus the passwords of credential URLs anywhere in settings, META (which holds the whole
    process environment under runserver) and traceback variables: DATABASE_URL,
    CELERY_BROKER_URL and the like are named innocently but carry a password."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        # type(), not isinstance(): lazy objects pass for str but are not one until evaluated.
        if issubclass(type(cleansed), str):
            return mask_url_passwords(cleansed, self.cleansed_substitute)
        return cleansed

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._cleanse_variable(value)) for name, value in variables]

    def _cleanse_variable(self, value: Any) -> Any:
        # Local variable names are left alone (hiding every `key` would blind the page); their
        # strings and the dicts and lists in them get the settings' treatment.
        if issubclass(type(value), str):
            return mask_url_passwords(value, self.cleansed_substitute)
        if type(value) in (dict, list, tuple):
            try:
                return self.cleanse_setting("", value)
            except RecursionError:  # a structure that contains itself
                return mask_url_passwords(repr(value), self.cleansed_substitute)
        # Any other object (an exception, a client, a pool) may name a URL in its repr.
        try:
            shown = pformat(value)
        except Exception:  # the page reports a failing repr itself
            return value
        masked = mask_url_passwords(shown, self.cleansed_substitute)
        return value if masked == shown else Shown(masked)


class Shown:
    """Stands in for a traceback variable: prints as its masked repr."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class SecretsExceptionReporter(ExceptionReporter):
    """Django's error page and error e-mail, with credential URLs masked in the exception
    messages as well (a driver's or broker's error may quote the URL it failed to reach)."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        for key in ("exception_value", "exception_notes"):
            if key in data:
                data[key] = mask_url_passwords(str(data[key]))
        for frame in data.get("frames", []):
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = mask_url_passwords(str(frame["exc_cause"]))
        return data


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """django-axes' answer to a locked-out login: the admin login page, saying why and for how
    long, with status 429 (Too Many Requests)."""
    from axes.helpers import get_client_username, get_cool_off
    from django.contrib import admin
    from django.contrib.auth.forms import AuthenticationForm

    cool_off = get_cool_off(request) or timedelta(0)
    message = "Too many failed login attempts for this username from your address. "
    if cool_off:
        minutes = max(1, round(cool_off.total_seconds() / 60))
        message += (
            f"Logins are refused for {minutes} minute{'s' if minutes != 1 else ''}; "
            "try again then, or ask an administrator to unlock it."
        )
    else:
        message += "Ask an administrator to unlock it."
    username = get_client_username(request, credentials) or ""
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "app_path": request.get_full_path(),
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": request.POST.get("next", "") or request.GET.get("next", ""),
        "lockout_message": message,
    }
    # Rendered here: axes' middleware answers after the stage that renders TemplateResponses.
    return render(request, "admin/login_locked_out.html", context, status=429)
