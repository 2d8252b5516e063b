"""App config for duplicate analysis and remediation."""

from django.apps import AppConfig


class DedupConfig(AppConfig):
    name = "dedup"
    verbose_name = "Duplicates"
    default_auto_field = "django.db.models.BigAutoField"
