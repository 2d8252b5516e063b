"""The data browsing admin, one module per aggregate (importing them registers the models)."""

from breezeway.admin import properties, reference, regions, reservations, tasks

__all__ = ["properties", "reference", "regions", "reservations", "tasks"]
