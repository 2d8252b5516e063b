"""WSGI entry point (gunicorn breezeway.wsgi in production; runserver in development)."""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "breezeway.settings")
application = get_wsgi_application()


def refuse_a_weak_secret_key() -> None:
    """Serving without DEBUG signs sessions and CSRF tokens with SECRET_KEY: a weak one is
    refused here, at the web server's start, rather than only warned about by check --deploy.
    (Commands, workers and the demo accept any key: they sign nothing a browser holds.)"""
    from django.conf import settings

    from breezeway.security import GENERATE_KEY_HINT, insecure_secret_key_reason

    reason = None if settings.DEBUG else insecure_secret_key_reason(settings.SECRET_KEY)
    if reason:
        raise ImproperlyConfigured(
            f"SECRET_KEY is too weak to serve with: {reason}; {GENERATE_KEY_HINT}."
        )


refuse_a_weak_secret_key()
