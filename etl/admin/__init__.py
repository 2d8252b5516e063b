"""The admin of the sync: regions (credentials, freshness, "Sync now"), runs and rejected
records (importing the modules registers the models)."""

from etl.admin import regions, runs

__all__ = ["regions", "runs"]
