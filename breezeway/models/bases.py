"""Abstract bases shared by the mirror's models (Synced, SoftDeleted, ListingTracked) and
the DbNow database default."""

from typing import Any

from django.db import models
from django.db.models.functions import Now


class DbNow(Now):
    """`now()` as a database default, exactly as the legacy schema declares it.

    Django's Now() renders STATEMENT_TIMESTAMP() on PostgreSQL; the legacy tables say now(),
    and a fresh database should carry the same default as an adopted one.
    """

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple:
        return "now()", []


class Synced(models.Model):
    """A row the sync writes: it keeps the hash of the content it was last written with.

    The loader compares a record's hash with this column and skips the write when they are
    equal, so a rerun over unchanged data writes nothing. NULL (legacy rows) never matches.
    """

    content_hash = models.CharField(max_length=32, null=True, blank=True, editable=False)

    class Meta:
        abstract = True


class SoftDeleted(models.Model):
    """A parent record the sync removes only on evidence, by stamping `deleted_at`."""

    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class ListingTracked(SoftDeleted):
    """A parent deleted after enough complete listings in a row no longer contained it."""

    # Reset to 0 when the record is listed again; written only when it changes.
    missing_listings = models.SmallIntegerField(db_default=0, editable=False)

    class Meta:
        abstract = True
