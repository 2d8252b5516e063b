"""Admin of reservations and their guests."""

from django.contrib import admin
from django.contrib.admin import DateFieldListFilter

from breezeway.admin.base import MirrorAdmin, ReadOnlyInline, admin_link, changelist_link
from breezeway.admin.filters import DeletedFilter, values_filter
from breezeway.models import Reservation, ReservationGuest, Task


class ReservationGuestInline(ReadOnlyInline):
    model = ReservationGuest
    fields = (
        "guest_name",
        "guest_email",
        "guest_phone",
        "guest_emails",
        "guest_phone_numbers",
        "last_sync_time",
    )


@admin.register(Reservation)
class ReservationAdmin(MirrorAdmin):
    list_display = (
        "reservation_id",
        "region_code",
        "property_link",
        "reservation_status",
        "checkin_date",
        "checkout_date",
        "reference_reservation_id",
        "source",
        "deleted",
    )
    list_select_related = ("property",)
    list_filter = (
        "region",
        DeletedFilter,
        values_filter("reservation_status", "status"),
        ("checkin_date", DateFieldListFilter),
        ("checkout_date", DateFieldListFilter),
    )
    search_fields = (
        "reservation_id__exact",
        "reference_reservation_id__exact",
        "breezeway_property_id__exact",
    )
    search_help_text = "Reservation id, reference reservation id or property id (exact)."
    raw_id_fields = ("property",)
    readonly_fields = ("related",)
    inlines = (ReservationGuestInline,)

    @admin.display(description="property", ordering="property")
    def property_link(self, obj: Reservation) -> str:
        return admin_link(obj.property)

    @admin.display(description="related records")
    def related(self, obj: Reservation) -> str:
        # No count: tasks are not indexed by reservation, and the link's page counts cheaply.
        return changelist_link(Task, "tasks of this reservation", reservation__id__exact=obj.pk)


@admin.register(ReservationGuest)
class ReservationGuestAdmin(MirrorAdmin):
    list_display = (
        "id",
        "guest_name",
        "guest_email",
        "guest_phone",
        "reservation_link",
        "region_code",
    )
    list_display_links = ("id", "guest_name")
    list_select_related = ("reservation",)
    search_fields = ("guest_name", "guest_email", "reservation__reservation_id__exact")
    search_help_text = "Guest name or email (contains), or reservation id (exact)."
    raw_id_fields = ("reservation",)
    sortable_by = ("id",)  # a big child table: only the indexed id sorts cheaply

    @admin.display(description="reservation")
    def reservation_link(self, obj: ReservationGuest) -> str:
        return admin_link(obj.reservation)
