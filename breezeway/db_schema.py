"""Checks on each new PostgreSQL connection that DATABASE_SCHEMA exists."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.signals import connection_created
from django.dispatch import receiver


@receiver(connection_created)
def check_schema_exists(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Fail with a clear message when search_path names a schema that is not there."""
    schema = settings.DATABASE_SCHEMA
    if connection.vendor != "postgresql" or schema == "public":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        if cursor.fetchone() is None:
            raise ImproperlyConfigured(
                f"DATABASE_SCHEMA={schema!r} does not exist in database "
                f"{connection.settings_dict['NAME']!r}. Create it first: CREATE SCHEMA {schema};"
            )
