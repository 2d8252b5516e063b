"""The admin of the sync: regions (credentials, freshness, webhooks, "Sync now"), runs, rejected
records and webhook events (importing the modules registers the models)."""

from etl.admin import regions, runs, webhooks

__all__ = ["regions", "runs", "webhooks"]
