"""Regions: one Breezeway company each, the scope of every natural key."""

from django.db import models

from breezeway.models.fields import DbNow


class Region(models.Model):
    code = models.CharField(primary_key=True, max_length=32, db_column="region_code")
    name = models.CharField(max_length=128, db_column="region_name")
    company_id = models.IntegerField()
    is_active = models.BooleanField(db_default=True)
    created_at = models.DateTimeField(db_default=DbNow())
    updated_at = models.DateTimeField(db_default=DbNow())

    class Meta:
        db_table = "regions"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"
