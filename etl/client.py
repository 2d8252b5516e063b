"""The Breezeway API client: shared tokens, retries with back-off, pagination (httpx)."""

import functools
import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from etl.credentials import Credentials
from etl.ratelimit import Limiter
from etl.values import storable, suspect

log = logging.getLogger(__name__)

# Renew the access token when less than this is left (the legacy client's margin).
RENEW_MARGIN = timedelta(minutes=5)
# Lifetimes assumed when the token response does not say (reference §2.2).
DEFAULT_ACCESS_LIFETIME = timedelta(seconds=86400)
DEFAULT_REFRESH_LIFETIME = timedelta(days=30)
DEFAULT_RETRY_AFTER = 60.0  # seconds, when a 429 carries no usable Retry-After


class ApiError(Exception):
    """The API answered something the client cannot use (after retries where they apply)."""

    def __init__(self, message: str, status: int | None = None, path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.path = path


class NotFound(ApiError):
    """404: for GET /task/{id}, the task was deleted in Breezeway."""


class Unprocessable(ApiError):
    """422: a permanently bad request, e.g. the task list of a "bad property"."""


class AuthFailed(ApiError):
    """Tokens could not be obtained, or the API refused a freshly renewed token."""


class RetriesExhausted(ApiError):
    """A transient failure (429, 5xx, timeout) outlived every retry."""


class Unparseable(ApiError):
    """A 200 whose body no JSON parser can read (nesting beyond any limit): asking again
    would only get the same body, so it is not retried."""


# Notes kept per client on values made storable (the run records the first of them).
CLEANED_NOTES_KEPT = 200


@dataclass
class Token:
    access_token: str
    access_expires_at: datetime
    refresh_token: str = ""
    refresh_expires_at: datetime | None = None
    obtained_at: datetime | None = None

    def fresh(self, now: datetime) -> bool:
        # Renew RENEW_MARGIN before expiry, or a tenth of the lifetime for short-lived tokens
        # (else a token living less than the margin would be renewed before every request).
        margin = RENEW_MARGIN
        if self.obtained_at is not None:
            margin = min(margin, (self.access_expires_at - self.obtained_at) / 10)
        return bool(self.access_token) and self.access_expires_at - margin > now

    def refreshable(self, now: datetime) -> bool:
        return bool(self.refresh_token) and (
            self.refresh_expires_at is None or self.refresh_expires_at - RENEW_MARGIN > now
        )

    def __repr__(self) -> str:
        return f"Token(access=***, expires={self.access_expires_at.isoformat()})"


class TokenStore(Protocol):
    """Where a region's tokens live, shared by every process that syncs it."""

    def load(self) -> Token | None: ...

    def renew(self, stale: str | None, renew: Callable[[Token | None], Token]) -> Token:
        """Under a lock every process respects: return the stored token if it is fresh and
        not `stale` (another worker renewed it meanwhile), else store and return renew(stored).
        """
        ...


@dataclass(frozen=True)
class ClientSettings:
    api_url: str
    auth_url: str
    page_size: int = 100
    max_attempts: int = 5
    retry_base_delay: float = 0.5
    retry_after_cap: float = 120.0
    timeout: float = 30.0
    max_connections: int = 10

    @classmethod
    def from_django(cls) -> "ClientSettings":
        from django.conf import settings

        return cls(
            api_url=settings.BREEZEWAY_API_URL,
            auth_url=settings.BREEZEWAY_AUTH_URL,
            page_size=settings.SYNC_PAGE_SIZE,
            max_attempts=settings.SYNC_MAX_ATTEMPTS,
            retry_base_delay=settings.SYNC_RETRY_BASE_DELAY,
            retry_after_cap=settings.SYNC_RETRY_AFTER_CAP,
            timeout=settings.SYNC_HTTP_TIMEOUT,
            max_connections=settings.SYNC_CONCURRENCY + 2,
        )


def utcnow() -> datetime:
    return datetime.now(UTC)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After in seconds (integer or HTTP date), else a seconds number in the body."""
    value = response.headers.get("retry-after", "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
            except (TypeError, ValueError):
                pass
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        for key in ("retry_after", "retry_after_seconds", "seconds_until_reset"):
            if isinstance(body.get(key), int | float):
                return max(0.0, float(body[key]))
    return None


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate store every client verifies with, loaded once per process: building
    it (httpx's default, per client) took half the worker's time per webhook event."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


class BreezewayClient:
    """One region's view of the API. Thread-safe: worker threads share one instance."""

    def __init__(
        self,
        credentials: Credentials,
        tokens: TokenStore,
        settings: ClientSettings,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limiter: Limiter | None = None,
    ) -> None:
        self._credentials = credentials
        self.limiter = limiter  # None: no rate limit of our own (429s are still waited out)
        self._tokens = tokens
        self.settings = settings
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=settings.timeout,
            transport=transport,
            verify=tls_context(),
            headers={"accept": "application/json"},
            limits=httpx.Limits(max_connections=settings.max_connections),
        )
        self._token: Token | None = None
        self._token_lock = threading.Lock()
        # Once the credentials are refused, every later call fails at once: retrying the
        # auth endpoint (one call a minute) per request would only stall the run.
        self._auth_failure: AuthFailed | None = None
        self._count_lock = threading.Lock()
        self._random = random.Random()
        self.calls = 0  # data requests sent, retries included
        self.retries = 0
        self.throttled = 0  # 429s received on data requests
        self.auth_calls = 0
        self.cleaned = 0  # values made storable (etl.values.storable)
        self.cleaned_notes: list[str] = []

    def close(self) -> None:
        self._http.close()
        if self.limiter is not None:
            self.limiter.close()

    def __enter__(self) -> "BreezewayClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- tokens ------------------------------------------------------------------------------

    def access_token(self, stale: str | None = None) -> str:
        """A fresh access token: the one in memory, the stored one, or a renewed one."""
        with self._token_lock:
            if self._auth_failure is not None:
                raise self._auth_failure
            now = utcnow()
            if self._token and self._token.fresh(now) and self._token.access_token != stale:
                return self._token.access_token
            stored = self._tokens.load()
            if stored and stored.fresh(now) and stored.access_token != stale:
                self._token = stored
            else:
                try:
                    self._token = self._tokens.renew(stale, self._renew)
                except AuthFailed as exc:
                    self._auth_failure = exc
                    raise
            return self._token.access_token

    def _renew(self, stored: Token | None) -> Token:
        """Refresh with the stored refresh token when it is valid, else obtain new tokens."""
        if stored and stored.refreshable(utcnow()):
            try:
                return self._auth_call(
                    "/refresh", headers={"Authorization": f"JWT {stored.refresh_token}"}
                )
            except AuthFailed as exc:
                # The refresh token was revoked or rotated away: fall back to credentials.
                log.info("token refresh refused (%s); obtaining new tokens", exc)
        return self._auth_call(
            "/",
            json={
                "client_id": self._credentials.client_id,
                "client_secret": self._credentials.client_secret,
            },
        )

    def _auth_call(self, path: str, **kwargs: Any) -> Token:
        url = self.settings.auth_url + path
        for attempt in range(1, self.settings.max_attempts + 1):
            self.auth_calls += 1
            try:
                response = self._http.post(url, **kwargs)
            except httpx.TransportError as exc:
                delay, problem = self._backoff(attempt), f"{type(exc).__name__}"
            else:
                if response.status_code == 200:
                    return self._parse_token(response)
                if response.status_code in (400, 401, 403):
                    raise AuthFailed(
                        f"authentication refused ({response.status_code})",
                        response.status_code,
                        path,
                    )
                if response.status_code == 429:
                    wait = retry_after_seconds(response)
                    delay = DEFAULT_RETRY_AFTER if wait is None else wait
                    delay = min(delay, self.settings.retry_after_cap)
                else:
                    delay = self._backoff(attempt)
                problem = f"HTTP {response.status_code}"
            if attempt == self.settings.max_attempts:
                raise AuthFailed(f"authentication failed after {attempt} attempts: {problem}")
            log.warning("auth call %s: %s; retrying in %.1fs", path, problem, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _parse_token(response: httpx.Response) -> Token:
        try:
            body = response.json()
            access = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise AuthFailed("the auth response has no access_token", 200) from None
        now = utcnow()
        lifetime = body.get("expires_in")
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            access_lifetime = DEFAULT_ACCESS_LIFETIME
        else:
            access_lifetime = timedelta(seconds=lifetime)
        return Token(
            access_token=str(access),
            access_expires_at=now + access_lifetime,
            refresh_token=str(body.get("refresh_token") or ""),
            refresh_expires_at=now + DEFAULT_REFRESH_LIFETIME,
            obtained_at=now,
        )

    # --- data requests -----------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential back-off with jitter: base x 2^(attempt-1), scaled by 0.5 to 1."""
        delay = self.settings.retry_base_delay * 2 ** (attempt - 1)
        return min(delay * (0.5 + self._random.random() / 2), self.settings.retry_after_cap)

    def _count(self, retry: bool) -> None:
        with self._count_lock:
            self.calls += 1
            if retry:
                self.retries += 1

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET an inventory path and return its JSON, retrying what is transient."""
        url = self.settings.api_url + path
        stale: str | None = None
        renewed = False
        problem = ""
        for attempt in range(1, self.settings.max_attempts + 1):
            paused = False  # the limiter holds the next request back (a 429's Retry-After)
            token = self.access_token(stale)
            reserved_at = self.limiter.acquire() if self.limiter else 0.0
            self._count(retry=attempt > 1)
            try:
                response = self._http.get(
                    url, params=params, headers={"Authorization": f"JWT {token}"}
                )
            except httpx.TransportError as exc:  # timeouts included
                problem, delay = type(exc).__name__, self._backoff(attempt)
            else:
                status = response.status_code
                if status == 200:
                    try:
                        return self._body(response, path, params)
                    except ValueError:
                        problem, delay = "a body that is not JSON", self._backoff(attempt)
                elif status == 401:
                    if renewed:
                        self._auth_failure = AuthFailed("the API refused a renewed token", 401)
                        raise self._auth_failure
                    # Expired or revoked: renew once (unless another worker already did).
                    stale, renewed = token, True
                    problem, delay = "HTTP 401", 0.0
                elif status == 404:
                    raise NotFound(f"{path}: not found", 404, path)
                elif status == 422:
                    raise Unprocessable(f"{path}: unprocessable (422)", 422, path)
                elif status == 429:
                    wait = retry_after_seconds(response)
                    delay = self._backoff(attempt) if wait is None else wait
                    delay = min(delay, self.settings.retry_after_cap)
                    problem = "HTTP 429"
                    with self._count_lock:
                        self.throttled += 1
                    if self.limiter:
                        # Every worker waits it out, and the region's rate goes down.
                        self.limiter.throttled(reserved_at, delay)
                        paused = True
                elif status >= 500:
                    problem, delay = f"HTTP {status}", self._backoff(attempt)
                else:
                    raise ApiError(f"{path}: HTTP {status}", status, path)
            if attempt == self.settings.max_attempts:
                break
            log.warning(
                "GET %s: %s (attempt %d of %d); retrying in %.2fs",
                path,
                problem,
                attempt,
                self.settings.max_attempts,
                delay,
            )
            if delay and not paused:
                self._sleep(delay)
        raise RetriesExhausted(
            f"{path}: {problem} after {self.settings.max_attempts} attempts", path=path
        )

    def _body(self, response: httpx.Response, path: str, params: dict[str, Any] | None) -> Any:
        """The parsed JSON body, with every value PostgreSQL cannot store made storable.

        Parsing is lenient where one bad value would otherwise cost a whole page: control
        characters inside strings are accepted (NUL is then removed), and invalid UTF-8 is
        replaced by U+FFFD. ValueError: not JSON; Unparseable: nested beyond the parser.
        """
        content = response.content
        notes: list[str] = []
        try:
            try:
                body = json.loads(content, strict=False)
            except UnicodeDecodeError:
                body = json.loads(content.decode("utf-8", errors="replace"), strict=False)
                notes.append("invalid UTF-8 in the response replaced by U+FFFD")
        except RecursionError:
            raise Unparseable(
                f"{path}: the response is nested too deeply to parse", 200, path
            ) from None
        if suspect(content):
            body = self._storable(body, notes)
        if notes:
            where = f"GET {path}" + (f" {params}" if params else "")
            log.warning("%s: %d value(s) made storable; first: %s", where, len(notes), notes[0])
            with self._count_lock:
                self.cleaned += len(notes)
                room = CLEANED_NOTES_KEPT - len(self.cleaned_notes)
                self.cleaned_notes.extend(f"{where}: {note}" for note in notes[: max(room, 0)])
        return body

    @staticmethod
    def _storable(body: Any, notes: list[str]) -> Any:
        """storable() record by record, so one record nested too deeply to walk is left to
        the loader (which rejects it) instead of failing the page."""
        records, envelope = body, None
        for name in ("results", "data"):
            if isinstance(body, dict) and isinstance(body.get(name), list):
                records, envelope = body[name], name
        if not isinstance(records, list):
            records = [records]
        out = []
        for index, record in enumerate(records):
            where = f"{envelope or ''}[{index}]"
            try:
                record, found = storable(record, where)
            except RecursionError:
                found = [f"{where}: nested too deeply to check"]
            notes.extend(found)
            out.append(record)
        if envelope is None:
            return out if isinstance(body, list) else out[0]
        rest, found = storable({k: v for k, v in body.items() if k != envelope})
        notes.extend(found)
        return {**rest, envelope: out}

    def records(self, path: str, params: dict[str, Any] | None = None) -> list[dict]:
        """An unpaginated child list: a bare array, or an object with a `data` array."""
        return records_of(self.get(path, params), path)

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        """Every page of a list endpoint, in order.

        Stops at `total_pages` when the envelope has it, else at an empty or short page;
        a bare array (or `data` object) is one page. A failure raises after the pages already
        yielded, so the caller knows the listing is incomplete.
        """
        limit = self.settings.page_size
        page = 1
        while True:
            body = self.get(path, {**(params or {}), "limit": limit, "page": page})
            if not (isinstance(body, dict) and "results" in body):
                yield records_of(body, path)
                return
            results = body["results"]
            if not isinstance(results, list):
                raise ApiError(f"{path}: `results` is not a list", 200, path)
            if results:
                yield results
            total_pages = body.get("total_pages")
            if isinstance(total_pages, int) and not isinstance(total_pages, bool):
                if page >= total_pages or not results:
                    return
            elif len(results) < limit:
                return
            page += 1


def records_of(body: Any, path: str) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return body["data"]
    raise ApiError(f"{path}: expected a JSON array, got {type(body).__name__}", 200, path)
