"""The Django project, and the app of the mirrored Breezeway data."""

from breezeway.celery import app as celery_app

__all__ = ["celery_app"]
