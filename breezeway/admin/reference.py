"""Admin of a region's reference records: people, the supply catalogue, task tag definitions."""

from django.contrib import admin

from breezeway.admin.base import MirrorAdmin
from breezeway.models import Person, Supply, Tag


@admin.register(Person)
class PersonAdmin(MirrorAdmin):
    list_display = ("person_id", "person_name", "region_code", "active", "accept_decline_tasks")
    list_display_links = ("person_id", "person_name")
    list_filter = ("region", "active")
    search_fields = ("person_name", "person_id__exact")
    search_help_text = "Name (contains) or person id (exact)."


@admin.register(Supply)
class SupplyAdmin(MirrorAdmin):
    list_display = (
        "supply_id",
        "supply_name",
        "region_code",
        "unit_cost",
        "stock_count",
        "stock_status_name",
        "low_stock_alert",
    )
    list_display_links = ("supply_id", "supply_name")
    list_filter = ("region", "low_stock_alert")
    search_fields = ("supply_name", "supply_id__exact", "internal_id__exact")
    search_help_text = "Name (contains), or supply id or internal id (exact)."


@admin.register(Tag)
class TagAdmin(MirrorAdmin):
    list_display = ("tag_id", "tag_name", "region_code", "tag_description")
    list_display_links = ("tag_id", "tag_name")
    search_fields = ("tag_name", "tag_id__exact")
    search_help_text = "Name (contains) or tag id (exact)."
