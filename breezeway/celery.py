"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "breezeway.settings")

app = Celery("breezeway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def close_stale_connections(task: object) -> None:
    """In a worker, drop database connections that died or aged out since the last task.
    (Not in-process: there the caller's connection, maybe inside a transaction, is in use.)"""
    if not getattr(getattr(task, "request", None), "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()
