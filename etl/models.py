"""Bookkeeping of the sync: runs, rejected records, shared API tokens and paces, webhook events."""

from django.db import models
from django.utils import timezone

from breezeway.models import Region
from breezeway.models.bases import DbNow


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
    throttled = models.IntegerField(default=0)  # HTTP 429s met (etl.ratelimit lowers the rate)
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


class RatePace(models.Model):
    """A credential's shared request schedule when no Redis broker holds it (etl.ratelimit):
    changed under its row lock by every worker that calls the API with that credential."""

    # A digest of the client id (etl.ratelimit.pace_key), never the id itself: regions sharing
    # a credential share its row.
    credential = models.CharField(primary_key=True, max_length=64)
    next_slot = models.FloatField(db_default=0.0)  # seconds since the epoch (database clock)
    cut_rate = models.FloatField(db_default=0.0)  # requests/s set by the last 429; 0: none
    cut_at = models.FloatField(db_default=0.0)
    throttled = models.BigIntegerField(db_default=0)  # 429s reported
    updated_at = models.DateTimeField(db_default=DbNow())

    class Meta:
        db_table = "etl_rate_paces"

    def __str__(self) -> str:
        return f"request pace of credential {self.credential[:8]}"


class WebhookEvent(models.Model):
    """One webhook delivery from Breezeway, stored before it is acknowledged and processed by a
    Celery task afterwards; the same delivery twice (same digest) is one row."""

    class Kind(models.TextChoices):
        TASKS = "tasks"
        PROPERTY_STATUS = "property-status"

    class Status(models.TextChoices):
        PENDING = "pending"  # stored, queued (or waiting for a retry)
        PROCESSED = "processed"  # its row is stored (or the handshake recorded)
        SUPERSEDED = "superseded"  # older than what the mirror holds: left unapplied
        NOT_DELETED = "not_deleted"  # a delete the API refuted (GET /task/{id} answered 200)
        IGNORED = "ignored"  # an event type nothing handles: kept, not applied
        FAILED = "failed"  # unusable, or retries ran out: `error` says why

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="webhook_events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    event_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now)
    # The event's own time (a task's updated_at, a status change's time), when it says one.
    event_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(null=True, blank=True)  # the body as JSON, made storable
    # The body's bytes, kept only when `payload` could not hold them exactly (NUL, invalid
    # Unicode, not JSON at all).
    raw_body = models.BinaryField(null=True, blank=True)
    digest = models.CharField(max_length=64)  # SHA-256 of the body's canonical JSON (or bytes)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.IntegerField(default=0)
    # When a pending event's next try is due (its retry's countdown); the requeue sweep leaves
    # it alone until then.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    # What processing did: rows written per table, rejected child items, the lag in seconds.
    outcome = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "etl_webhook_events"
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "kind", "digest"], name="etl_webhook_event_once"
            ),
        ]
        indexes = [
            models.Index(fields=["region", "-received_at"], name="etl_webhooks_latest"),
            models.Index(
                fields=["status", "received_at"],
                name="etl_webhooks_pending",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        what = self.event_type or self.kind
        return f"{what} {self.object_id or ''} for {self.region_id}".replace("  ", " ")

    @property
    def lag_seconds(self) -> float | None:
        """Seconds from receipt to the row being stored, for processed events."""
        if self.processed_at is None or self.status != self.Status.PROCESSED:
            return None
        return (self.processed_at - self.received_at).total_seconds()
