"""Alert state: one row per time a condition opened, so each is announced once and cleared once."""

from django.db import models
from django.db.models import Q


class Alert(models.Model):
    """A condition a person must hear about, from the check that found it until it cleared.

    The notice flags say, per channel, that the opening (or clearing) was delivered or that
    the channel was not configured then; a failed delivery leaves its flag unset, so the
    next check tries again and no check repeats a notice already given.
    """

    class Kind(models.TextChoices):
        SYNC_STALE = "sync_stale", "no recent successful sync"
        SYNC_FAILING = "sync_failing", "sync failing in a row"
        SYNC_REJECTED = "sync_rejected", "records rejected"
        DUPLICATES = "duplicates", "duplicates in a table"
        NATURAL_KEY_INDEX = "natural_key_index", "natural-key index missing or invalid"
        ROW_DROP = "row_drop", "table lost rows"
        WEBHOOKS_SILENT = "webhooks_silent", "webhooks quiet while syncs find changes"

    key = models.CharField(
        max_length=200, help_text='What is wrong where: "sync_stale:sim1:tasks".'
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    region_code = models.CharField(max_length=64, blank=True, default="")
    entity = models.CharField(max_length=64, blank=True, default="")
    table_name = models.CharField(max_length=63, blank=True, default="")
    message = models.TextField(help_text="The latest check's words for it (never a secret).")
    opened_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField()
    opened_mailed = models.BooleanField(default=False)
    opened_posted = models.BooleanField(default=False)
    cleared_mailed = models.BooleanField(default=False)
    cleared_posted = models.BooleanField(default=False)

    class Meta:
        db_table = "ops_alerts"
        ordering = ["-opened_at", "-id"]
        constraints = [
            # A condition is open at most once; when it clears and comes back, a new row opens.
            models.UniqueConstraint(
                fields=["key"], condition=Q(cleared_at__isnull=True), name="ops_alert_open_once"
            )
        ]
        indexes = [models.Index(fields=["-opened_at"], name="ops_alert_opened")]

    def __str__(self) -> str:
        return self.message

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None
