"""Properties and their photos."""

from django.db import models

from breezeway.keys import NaturalKey
from breezeway.models.bases import DbNow, ListingTracked, Synced
from breezeway.models.regions import Region
from breezeway.natural_keys import LEGACY_DERIVED_KEYS


class Property(Synced, ListingTracked):
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_column="region_code", db_index=False
    )
    property_id = models.CharField(max_length=64)
    company_id = models.IntegerField(null=True, blank=True)
    property_name = models.TextField(null=True, blank=True)
    property_status = models.CharField(max_length=64, null=True, blank=True)
    property_display = models.TextField(null=True, blank=True)
    property_address1 = models.TextField(null=True, blank=True)
    property_address2 = models.TextField(null=True, blank=True)
    property_city = models.CharField(max_length=128, null=True, blank=True)
    property_state = models.CharField(max_length=64, null=True, blank=True)
    property_zipcode = models.CharField(max_length=32, null=True, blank=True)
    property_country = models.CharField(max_length=64, null=True, blank=True)
    property_building = models.CharField(max_length=128, null=True, blank=True)
    latitude_numeric = models.DecimalField(max_digits=10, decimal_places=7, null=True, blank=True)
    longitude_numeric = models.DecimalField(max_digits=10, decimal_places=7, null=True, blank=True)
    reference_company_id = models.CharField(max_length=64, null=True, blank=True)
    reference_property_id = models.CharField(max_length=128, null=True, blank=True)
    reference_external_property_id = models.CharField(max_length=128, null=True, blank=True)
    wifi_name = models.CharField(max_length=255, null=True, blank=True)
    wifi_password = models.CharField(max_length=255, null=True, blank=True)
    property_notes_general = models.TextField(null=True, blank=True)
    property_notes_access = models.TextField(null=True, blank=True)
    property_notes_guest_access = models.TextField(null=True, blank=True)
    property_notes_direction = models.TextField(null=True, blank=True)
    property_notes_trash_info = models.TextField(null=True, blank=True)
    property_notes_wifi = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=DbNow())
    updated_at = models.DateTimeField(db_default=DbNow())
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())
    # The operational status (clean, dirty, occupied...): the API lists none, only the
    # property-status webhook sends it. Set by the newest event (by its time), never by the sync.
    operational_status = models.CharField(max_length=64, null=True, blank=True, editable=False)
    operational_sub_statuses = models.JSONField(null=True, blank=True, editable=False)
    operational_status_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "properties"
        verbose_name_plural = "properties"
        constraints = [
            NaturalKey(fields=["property_id", "region"], name="unique_property_region"),
        ]

    def __str__(self) -> str:
        return f"{self.property_name or 'property'} #{self.property_id} [{self.region_id}]"


class PropertyPhoto(Synced):
    property = models.ForeignKey(
        Property,
        on_delete=models.CASCADE,
        db_column="property_pk",
        db_index=False,
        related_name="photos",
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, db_column="region_code", db_index=False, related_name="+"
    )
    photo_id = models.CharField(max_length=64, null=True, blank=True)
    # Derived key (breezeway.natural_keys.photo_key): the photo id, else a hash of the URL.
    photo_key = models.CharField(max_length=64)
    url = models.TextField(null=True, blank=True)
    original_url = models.TextField(null=True, blank=True)
    caption = models.TextField(null=True, blank=True)
    is_default = models.BooleanField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "property_photos"
        indexes = [models.Index(fields=["property"], name="idx_property_photos_property_pk")]
        constraints = [
            NaturalKey(
                fields=["property", "photo_key"],
                name="uq_property_photos_natural_key",
                derived=LEGACY_DERIVED_KEYS["property_photos"],
            )
        ]

    def __str__(self) -> str:
        return f"photo {self.photo_id} of property #{self.property_id}"
