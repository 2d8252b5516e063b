"""Run bookkeeping of the sync: runs, rejected records, and the shared API token store."""

from django.db import models
from django.utils import timezone

from breezeway.models import Region


class SyncRun(models.Model):
    """One sync of one entity of one region."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCESS = "success"
        PARTIAL = "partial"  # some pages or child calls failed after retries; the rest loaded
        FAILED = "failed"
        SKIPPED = "skipped"  # another sync of the same region and entity, or the remediation

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="sync_runs")
    entity = models.CharField(max_length=32)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    # How task children were chosen (new/changed/window, or full sweep); empty for others.
    child_policy = models.CharField(max_length=32, blank=True, default="")
    fetched = models.IntegerField(default=0)
    inserted = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    deleted = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    api_calls = models.IntegerField(default=0)
    retries = models.IntegerField(default=0)
    # Per-table counts (children included) and phase timings.
    details = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "etl_sync_runs"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["region", "entity", "-started_at"], name="etl_runs_latest")]

    def __str__(self) -> str:
        started = timezone.localtime(self.started_at)
        return f"{self.entity} sync of {self.region_id} at {started:%Y-%m-%d %H:%M %Z}"

    @property
    def rows_written(self) -> int:
        return self.inserted + self.updated + self.deleted


class RejectedRecord(models.Model):
    """An API record (or child item) the sync could not store, kept verbatim with the reason:
    one row per (region, entity, record id, payload), however many runs saw it."""

    # The last run that saw it.
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="rejected_records")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    entity = models.CharField(max_length=64)
    record_id = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField()
    payload = models.JSONField(null=True)
    # BLAKE2b of the payload as kept: the same bad record seen again is counted, not re-added.
    payload_digest = models.CharField(max_length=32)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    times_seen = models.IntegerField(default=1)

    class Meta:
        db_table = "etl_rejected_records"
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "entity", "record_id", "payload_digest"],
                name="etl_rejected_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.record_id or '(no id)'}: {self.reason[:60]}"


class ApiToken(models.Model):
    """The current API tokens of a region, shared by every worker process.

    Renewal happens under a row lock (SELECT ... FOR UPDATE), so concurrent workers never
    trip the one-call-a-minute auth limit nor invalidate each other's rotated refresh token.
    """

    region = models.OneToOneField(
        Region, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    access_token = models.TextField(blank=True, default="")
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = models.TextField(blank=True, default="")
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    obtained = models.IntegerField(default=0)  # how many times tokens were obtained or refreshed
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "etl_api_tokens"

    def __str__(self) -> str:
        return f"API token of {self.region_id}"

    def __repr__(self) -> str:
        return f"<ApiToken {self.region_id} expires {self.access_expires_at}>"
