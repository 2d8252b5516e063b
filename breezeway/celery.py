"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "breezeway.settings")

app = Celery("breezeway")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_stale_connections(task: object = None, **_: object) -> None:
    """Around every task in a worker, as Django does around every request: drop the database
    connections that died or outlived DATABASE_CONN_MAX_AGE, and keep the others (Celery's own
    fixup is told not to close them: CELERY_DB_REUSE_MAX). Not in-process: there the caller's
    connection, maybe inside a transaction, is in use."""
    if task is not None and not getattr(getattr(task, "request", None), "is_eager", False):
        from django.db import close_old_connections

        close_old_connections()
