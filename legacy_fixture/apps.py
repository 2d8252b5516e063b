"""The legacy fixture as a Django app: no models, installed only for its make_legacy_db command."""

from django.apps import AppConfig


class LegacyFixtureConfig(AppConfig):
    name = "legacy_fixture"
    verbose_name = "Legacy data fixture"
