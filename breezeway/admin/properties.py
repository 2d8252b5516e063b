"""Admin of properties and their photos."""

from django.contrib import admin
from django.contrib.admin import DateFieldListFilter
from django.utils.html import format_html

from breezeway.admin.base import (
    MirrorAdmin,
    ReadOnlyInline,
    admin_link,
    changelist_link,
    external_link,
)
from breezeway.admin.filters import DeletedFilter, values_filter
from breezeway.models import Property, PropertyPhoto, Reservation, Task


class PropertyPhotoInline(ReadOnlyInline):
    model = PropertyPhoto
    fields = ("photo_id", "caption", "is_default", "photo", "last_sync_time")
    readonly_fields = ("photo",)

    @admin.display(description="url")
    def photo(self, obj: PropertyPhoto) -> str:
        return external_link(obj.url)


@admin.register(Property)
class PropertyAdmin(MirrorAdmin):
    list_display = (
        "property_id",
        "property_name",
        "region_code",
        "property_status",
        "property_city",
        "reference_property_id",
        "deleted",
        "last_sync_time",
    )
    list_display_links = ("property_id", "property_name")
    list_filter = (
        "region",
        DeletedFilter,
        values_filter("property_status", "status"),
        ("last_sync_time", DateFieldListFilter),
    )
    search_fields = (
        "property_name",
        "property_id__exact",
        "reference_property_id__exact",
        "reference_external_property_id__exact",
    )
    search_help_text = "Name (contains), or Breezeway / reference property id (exact)."
    readonly_fields = ("related",)
    inlines = (PropertyPhotoInline,)

    @admin.display(description="related records")
    def related(self, obj: Property) -> str:
        # Both tables are indexed on property_pk, so these counts are cheap.
        tasks = Task.objects.filter(property=obj).count()
        reservations = Reservation.objects.filter(property=obj).count()
        return format_html(
            "{} · {}",
            changelist_link(Task, f"{tasks} task(s)", property__id__exact=obj.pk),
            changelist_link(
                Reservation, f"{reservations} reservation(s)", property__id__exact=obj.pk
            ),
        )


@admin.register(PropertyPhoto)
class PropertyPhotoAdmin(MirrorAdmin):
    list_display = ("id", "photo_id", "property_link", "region_code", "caption", "is_default")
    list_select_related = ("property",)
    list_filter = ("region", "is_default")
    search_fields = ("photo_id__exact", "property__property_id__exact", "caption")
    search_help_text = "Photo id or property id (exact), or caption (contains)."
    raw_id_fields = ("property",)
    # A big child table: sorting by anything but the indexed id would sort all of it.
    sortable_by = ("id",)
    readonly_fields = ("photo",)

    @admin.display(description="property")
    def property_link(self, obj: PropertyPhoto) -> str:
        return admin_link(obj.property)

    @admin.display(description="url")
    def photo(self, obj: PropertyPhoto) -> str:
        return external_link(obj.url)
