"""The data browsing admin, one module per aggregate (importing them registers the models)."""

from breezeway.admin import properties, reference, reservations, tasks

# The regions' admin shows their syncs, so it lives with the sync (etl.admin.regions).
__all__ = ["properties", "reference", "reservations", "tasks"]
