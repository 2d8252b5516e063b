"""The archive of rows the remediation removed, and stored duplicate statistics per table."""

from django.db import models

from dedup.figures import DuplicateFigures


class ArchivedRow(models.Model):
    """One distinct content of a natural key that lost to a more recent copy.

    Only copies that differ from the kept row (in any column but the id and sync times) are
    archived, one per distinct content, so the archive stays small; identical copies carry no
    information and are simply removed.
    """

    run_id = models.UUIDField(db_index=True, help_text="The remediation run that archived it.")
    table_name = models.CharField(max_length=63)
    natural_key = models.JSONField(help_text="The natural key of the group, column -> value.")
    row_data = models.JSONField(help_text="The removed row, every column, as JSON.")
    kept_row_id = models.BigIntegerField(help_text="Id of the row kept for this natural key.")
    copies = models.IntegerField(default=1, help_text="How many rows had exactly this content.")
    archived_at = models.DateTimeField()
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "dedup_archived_rows"
        indexes = [models.Index(fields=["table_name", "kept_row_id"], name="dedup_arch_table_kept")]

    def __str__(self) -> str:
        return f"{self.table_name} row {self.row_data.get('id')} (kept {self.kept_row_id})"


class DuplicateSnapshot(DuplicateFigures, models.Model):
    """One table's duplicate figures as one scan measured them (`dedup_report --save`, or the
    snapshot task): the admin dashboard renders these instead of counting on page load."""

    scan_id = models.UUIDField(db_index=True, help_text="Tables measured by one scan share it.")
    table_name = models.CharField(max_length=63)
    constraint_name = models.CharField(max_length=63)
    rows = models.BigIntegerField()
    distinct_keys = models.BigIntegerField()
    constraint_present = models.BooleanField()
    # Its unique index exists and is valid (an interrupted CREATE INDEX leaves it invalid).
    constraint_valid = models.BooleanField()
    table_bytes = models.BigIntegerField(null=True, blank=True)
    method = models.CharField(max_length=16, help_text="constraint (index-enforced) or scan")
    measured_at = models.DateTimeField()

    class Meta:
        db_table = "dedup_snapshots"
        ordering = ["-measured_at", "table_name"]
        get_latest_by = "measured_at"
        verbose_name = "duplicate statistics"
        verbose_name_plural = "duplicate statistics"
        indexes = [
            models.Index(fields=["table_name", "-measured_at"], name="dedup_snap_table_time")
        ]

    def __str__(self) -> str:
        return f"{self.table_name} at {self.measured_at:%Y-%m-%d %H:%M}"
