"""Django app configuration of the sync."""

from django.apps import AppConfig


class EtlConfig(AppConfig):
    name = "etl"
    verbose_name = "Breezeway sync"
    default_auto_field = "django.db.models.BigAutoField"
