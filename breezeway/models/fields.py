"""Field helpers shared by the mirror's models (legacy column defaults)."""

from typing import Any

from django.db.models.functions import Now


class DbNow(Now):
    """`now()` as a database default, exactly as the legacy schema declares it.

    Django's Now() renders STATEMENT_TIMESTAMP() on PostgreSQL; the legacy tables say now(),
    and a fresh database should carry the same default as an adopted one.
    """

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple:
        return "now()", []
