"""App config for the mirrored Breezeway data."""

from django.apps import AppConfig


class BreezewayConfig(AppConfig):
    name = "breezeway"
    verbose_name = "Breezeway mirror"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from breezeway import db_schema  # noqa: F401  (connects the schema check signal)
