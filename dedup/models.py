"""Archive of rows the remediation removed although they differed from the row it kept."""

from django.db import models


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
