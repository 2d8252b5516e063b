"""The API token store in the database, shared by every worker process of every host."""

import threading
from collections.abc import Callable

from django.db import connection, transaction

from etl.client import Token, utcnow
from etl.models import ApiToken


class DatabaseTokenStore:
    """A region's tokens in `etl_api_tokens`; renewal serialised by a row lock."""

    def __init__(self, region_code: str) -> None:
        self.region_code = region_code

    def load(self) -> Token | None:
        try:
            row = ApiToken.objects.filter(region_id=self.region_code).first()
        finally:
            _close_if_worker_thread()
        return _token(row) if row else None

    def renew(self, stale: str | None, renew: Callable[[Token | None], Token]) -> Token:
        try:
            with transaction.atomic():
                row, _ = ApiToken.objects.get_or_create(region_id=self.region_code)
                # Waits here while another process renews; then sees its result.
                row = ApiToken.objects.select_for_update().get(pk=row.pk)
                stored = _token(row) if row.access_token else None
                if stored and stored.fresh(utcnow()) and stored.access_token != stale:
                    return stored
                token = renew(stored)
                row.access_token = token.access_token
                row.access_expires_at = token.access_expires_at
                row.refresh_token = token.refresh_token
                row.refresh_expires_at = token.refresh_expires_at
                row.obtained += 1
                row.save()
                return token
        finally:
            _close_if_worker_thread()


def _token(row: ApiToken) -> Token:
    return Token(
        access_token=row.access_token,
        access_expires_at=row.access_expires_at or utcnow(),
        refresh_token=row.refresh_token,
        refresh_expires_at=row.refresh_expires_at,
        obtained_at=row.updated_at,
    )


# The name prefix of the extractor's fetch threads (etl.extract).
FETCH_THREAD_PREFIX = "bw-fetch"


def _close_if_worker_thread() -> None:
    # Django opens one connection per thread; a fetch thread must not leave its own open.
    # Only those: another thread (a web server's request thread running "Sync now") owns
    # its connection, maybe inside a transaction.
    if threading.current_thread().name.startswith(FETCH_THREAD_PREFIX):
        connection.close()
