"""Reference records of a region: people (staff), the supply catalogue, task tag definitions."""

from django.db import models

from breezeway.keys import NaturalKey
from breezeway.models.bases import DbNow, Synced
from breezeway.models.regions import Region


class Person(Synced):
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, db_column="region_code", db_index=False
    )
    person_id = models.CharField(max_length=64)
    person_name = models.TextField(null=True, blank=True)
    active = models.BooleanField(null=True, blank=True)
    accept_decline_tasks = models.BooleanField(null=True, blank=True)
    availability = models.JSONField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "people"
        verbose_name_plural = "people"
        constraints = [NaturalKey(fields=["person_id", "region"], name="uq_people_natural_key")]

    def __str__(self) -> str:
        return f"{self.person_name or 'person'} #{self.person_id} [{self.region_id}]"


class Supply(Synced):
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, db_column="region_code", db_index=False
    )
    supply_id = models.CharField(max_length=64)
    company_id = models.CharField(max_length=64, null=True, blank=True)
    supply_name = models.TextField(null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    size = models.TextField(null=True, blank=True)
    internal_id = models.TextField(null=True, blank=True)
    unit_cost = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    stock_count = models.IntegerField(null=True, blank=True)
    low_stock_alert = models.BooleanField(null=True, blank=True)
    low_stock_count = models.IntegerField(null=True, blank=True)
    supply_category_id = models.CharField(max_length=64, null=True, blank=True)
    stock_status_code = models.CharField(max_length=64, null=True, blank=True)
    stock_status_name = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "supplies"
        verbose_name_plural = "supplies"
        constraints = [NaturalKey(fields=["supply_id", "region"], name="uq_supplies_natural_key")]

    def __str__(self) -> str:
        return f"{self.supply_name or 'supply'} #{self.supply_id} [{self.region_id}]"


class Tag(Synced):
    """A task tag definition (`GET /task/tags`)."""

    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, db_column="region_code", db_index=False
    )
    tag_id = models.CharField(max_length=64)
    tag_name = models.TextField(null=True, blank=True)
    tag_description = models.TextField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "tags"
        constraints = [NaturalKey(fields=["tag_id", "region"], name="uq_tags_natural_key")]

    def __str__(self) -> str:
        return f"{self.tag_name or 'tag'} #{self.tag_id} [{self.region_id}]"
