"""Reservations and their guests."""

from django.db import models

from breezeway.keys import NaturalKey
from breezeway.models.bases import DbNow, ListingTracked, Synced
from breezeway.models.properties import Property
from breezeway.models.regions import Region
from breezeway.natural_keys import LEGACY_DERIVED_KEYS


class Reservation(Synced, ListingTracked):
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_column="region_code", db_index=False
    )
    reservation_id = models.CharField(max_length=64)
    # The Breezeway property id as sent by the API; `property` is the resolved row.
    breezeway_property_id = models.CharField(
        max_length=64, null=True, blank=True, db_column="property_id"
    )
    property = models.ForeignKey(
        Property,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="property_pk",
        db_index=False,
        related_name="reservations",
    )
    reservation_status = models.CharField(max_length=64, null=True, blank=True)
    access_code = models.CharField(max_length=128, null=True, blank=True)
    checkin_date = models.DateField(null=True, blank=True)
    checkin_time = models.TimeField(null=True, blank=True)
    checkin_early = models.BooleanField(null=True, blank=True)
    checkout_date = models.DateField(null=True, blank=True)
    checkout_time = models.TimeField(null=True, blank=True)
    checkout_late = models.BooleanField(null=True, blank=True)
    reservation_note = models.TextField(null=True, blank=True)
    guide_url = models.TextField(null=True, blank=True)
    reference_reservation_id = models.CharField(max_length=128, null=True, blank=True)
    reference_property_id = models.CharField(max_length=128, null=True, blank=True)
    reference_external_property_id = models.CharField(max_length=128, null=True, blank=True)
    adults = models.IntegerField(null=True, blank=True)
    children = models.IntegerField(null=True, blank=True)
    pets = models.IntegerField(null=True, blank=True)
    source = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(db_default=DbNow())
    updated_at = models.DateTimeField(db_default=DbNow())
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "reservations"
        indexes = [models.Index(fields=["property"], name="idx_reservations_property_pk")]
        constraints = [
            NaturalKey(fields=["reservation_id", "region"], name="unique_reservation_region"),
        ]

    def __str__(self) -> str:
        return f"reservation #{self.reservation_id} [{self.region_id}]"


class ReservationGuest(Synced):
    reservation = models.ForeignKey(
        Reservation,
        on_delete=models.CASCADE,
        db_column="reservation_pk",
        db_index=False,
        related_name="guests",
    )
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, db_column="region_code", db_index=False, related_name="+"
    )
    # Derived key (breezeway.natural_keys.guest_key): the API sends guests without an id.
    guest_key = models.CharField(max_length=255)
    guest_name = models.TextField(null=True, blank=True)
    # The first email and phone number; all of them are kept in the JSON columns.
    guest_email = models.TextField(null=True, blank=True)
    guest_phone = models.CharField(max_length=64, null=True, blank=True)
    guest_emails = models.JSONField(null=True, blank=True)
    guest_phone_numbers = models.JSONField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "reservation_guests"
        indexes = [
            models.Index(fields=["reservation"], name="idx_reservation_guests_reservation_pk")
        ]
        constraints = [
            NaturalKey(
                fields=["reservation", "guest_key"],
                name="uq_reservation_guests_natural_key",
                derived=LEGACY_DERIVED_KEYS["reservation_guests"],
            )
        ]

    def __str__(self) -> str:
        return self.guest_name or self.guest_email or "guest"
