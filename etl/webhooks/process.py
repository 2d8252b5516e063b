"""Processing a stored webhook event: through the sync's loader, never older over newer."""

import logging
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from breezeway.locks import REMEDIATION_LOCK, record_lock_key
from breezeway.models import Region
from etl.client import ApiError, AuthFailed, BreezewayClient, NotFound, RetriesExhausted
from etl.credentials import CredentialsMissing
from etl.entities import PROPERTIES, PUSHED, EntitySpec, LookupsOnDemand
from etl.load import BatchLoader
from etl.models import WebhookEvent
from etl.pipeline import make_client
from etl.records import Incoming, record_id
from etl.values import RecordError, json_value, text
from etl.webhooks.events import HANDSHAKE, PROPERTY_STATUS, property_id, pushed_record

log = logging.getLogger(__name__)

Status = WebhookEvent.Status


class Transient(Exception):
    """Processing could not finish now but may later (the API, the remediation, a property
    not mirrored yet): the event is tried again."""


class Unusable(Exception):
    """The event cannot be applied, now or later: it ends `failed` with this reason."""


def process_event(event_id: int, transport: httpx.BaseTransport | None = None) -> str:
    """Apply one pending event; its final status (an event already final is left as it is).

    Raises Transient (or a database error) when it is worth another try; the caller retries.
    """
    event = WebhookEvent.objects.select_related("region").filter(pk=event_id).first()
    if event is None or event.status != Status.PENDING:
        return event.status if event else "missing"
    try:
        status, error, outcome = apply(event, transport)
    except Unusable as exc:
        status, error, outcome = Status.FAILED, str(exc), {}
    return finish(event, status, error, outcome)


def finish(event: WebhookEvent, status: str, error: str = "", outcome: dict | None = None) -> str:
    now = timezone.now()
    outcome = dict(outcome or {})
    if status == Status.PROCESSED:
        outcome["lag_seconds"] = round((now - event.received_at).total_seconds(), 3)
    WebhookEvent.objects.filter(pk=event.pk).update(
        status=status,
        error=error[:2000],
        outcome=outcome,
        processed_at=now,
        attempts=event.attempts + 1,
        next_attempt_at=None,
    )
    level = logging.WARNING if status == Status.FAILED else logging.INFO
    log.log(
        level, "webhook event %s (%s) %s%s", event.pk, event, status, f": {error}" * bool(error)
    )
    return status


def apply(event: WebhookEvent, transport: httpx.BaseTransport | None) -> tuple[str, str, dict]:
    """(status, error, outcome) of applying the event."""
    payload = event.payload
    if not isinstance(payload, dict):
        raise Unusable(event.error or "the body is not a JSON object")
    if event.event_type == HANDSHAKE:
        return Status.PROCESSED, "", {"handshake": True}
    company = payload.get("company_id")
    if event.kind == PROPERTY_STATUS:
        check_company(event.region, company)
        return apply_property_status(event, payload)
    spec = PUSHED.get(event.kind)
    if spec is None:
        raise Unusable(f"no handler for events of kind {event.kind!r}")
    pushed = spec.pushed
    if not event.event_type.startswith(pushed.event_prefix):
        return Status.IGNORED, f"event type {event.event_type!r} is not handled", {}
    record = pushed_record(event.kind, payload)
    if not isinstance(record, dict):
        raise Unusable(f"the event has no object under {pushed.object_key!r}")
    check_company(event.region, record.get("company_id", company))
    try:
        breezeway_id = record_id(record)
    except RecordError as exc:
        raise Unusable(f"{pushed.object_key}: {exc}") from None
    with api_client(event.region, transport) as client:
        if event.event_type in pushed.deleted_events:
            return confirm_deletion(event.region, spec, client, breezeway_id)
        return apply_record(event.region, spec, client, breezeway_id, record, event.event_at)


def check_company(region: Region, company: Any) -> None:
    if company is None or str(company) == str(region.company_id):
        return
    raise Unusable(
        f"the event is about company {str(company)[:32]!r}, but region {region.code} is "
        f"company {region.company_id}"
    )


class api_client:
    """The region's API client; missing credentials and API failures become Transient."""

    def __init__(self, region: Region, transport: httpx.BaseTransport | None) -> None:
        try:
            self.client = make_client(region, transport)
        except CredentialsMissing as exc:
            raise Transient(str(exc)) from None

    def __enter__(self) -> BreezewayClient:
        return self.client.__enter__()

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: Any) -> bool:
        self.client.__exit__(kind, exc, tb)
        if isinstance(exc, AuthFailed | RetriesExhausted | httpx.HTTPError):
            raise Transient(f"the API: {exc}") from exc
        if isinstance(exc, ApiError) and not isinstance(exc, NotFound):
            raise Unusable(f"the API answered: {exc}") from exc
        return False


def writing(region: Region, entity: str, breezeway_id: str) -> None:
    """In the current transaction: refuse to write while the remediation runs, and keep two
    events of one record from being applied at once (released at commit)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock_shared(%s)", [REMEDIATION_LOCK])
        if not cursor.fetchone()[0]:
            raise Transient("the duplicate remediation is running")
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [record_lock_key(region.code, entity, breezeway_id)]
        )


def newer_stored(spec: EntitySpec, region: Region, breezeway_id: str, at: datetime | None) -> str:
    """Why the mirror's row outranks a record of `at` ('' when it does not)."""
    row = (
        spec.model.objects.filter(region=region, **{spec.id_field: breezeway_id})
        .values("updated_at", "deleted_at")
        .first()
    )
    if row is None:
        return ""
    if row["deleted_at"] is not None:
        return "the record was deleted (the API answered 404)"
    if at is not None and row["updated_at"] is not None and at < row["updated_at"]:
        return f"the mirror holds a newer version (updated_at {row['updated_at'].isoformat()})"
    return ""


def apply_record(
    region: Region,
    spec: EntitySpec,
    client: BreezewayClient,
    breezeway_id: str,
    record: dict,
    updated_at: datetime | None,
) -> tuple[str, str, dict]:
    """Load a pushed record (of `updated_at`, as the receiver read it) as the sync would, with
    the child sets its endpoints serve."""
    why = newer_stored(spec, region, breezeway_id, updated_at)
    if why:
        return Status.SUPERSEDED, why, {}
    dropped = set(spec.pushed.event_only_keys)
    incoming = Incoming({k: v for k, v in record.items() if k not in dropped})
    for child in spec.children:
        if child.endpoint:
            try:
                incoming.fetched[child.name] = client.records(child.endpoint.format(breezeway_id))
            except NotFound:
                return confirm_deletion(region, spec, client, breezeway_id)
    if updated_at is not None:
        incoming.state["children_synced_for"] = updated_at
    now = timezone.now()
    loader = BatchLoader(spec, LookupsOnDemand(region.code), now, settings.SYNC_BATCH_SIZE)
    with transaction.atomic():
        writing(region, spec.name, breezeway_id)
        why = newer_stored(spec, region, breezeway_id, updated_at)  # again, under the lock
        if why:
            return Status.SUPERSEDED, why, {}
        loader.load([incoming])
    parent = [r for r in loader.rejected if r.entity == spec.name]
    if parent:
        raise Unusable(f"the record was rejected: {parent[0].reason}")
    outcome: dict[str, Any] = {
        "tables": {name: c.as_dict() for name, c in loader.counts.items() if c.written}
    }
    if loader.rejected:
        outcome["rejected"] = [{"entity": r.entity, "reason": r.reason} for r in loader.rejected]
    return Status.PROCESSED, "", outcome


def confirm_deletion(
    region: Region, spec: EntitySpec, client: BreezewayClient, breezeway_id: str
) -> tuple[str, str, dict]:
    """Soft-delete a record the API answers 404 for (the only evidence); leave one it serves."""
    try:
        client.get(f"{spec.path}/{breezeway_id}")
    except NotFound:
        with transaction.atomic():
            writing(region, spec.name, breezeway_id)
            deleted = spec.model.objects.filter(
                region=region, deleted_at__isnull=True, **{spec.id_field: breezeway_id}
            ).update(deleted_at=timezone.now())
        return Status.PROCESSED, "", {"deleted": deleted}
    return (
        Status.NOT_DELETED,
        f"GET {spec.path}/{breezeway_id} still answers 200: the record is left as it is",
        {},
    )


def apply_property_status(event: WebhookEvent, payload: dict) -> tuple[str, str, dict]:
    """Store the operational status on the property, unless a newer one is stored."""
    try:
        breezeway_id = property_id(payload)
        status = text(payload.get("status"), "status", 64)
        sub_statuses = json_value(payload.get("sub_statuses"), "sub_statuses")
    except RecordError as exc:
        raise Unusable(str(exc)) from None
    if breezeway_id is None:
        raise Unusable("the event names no property (property_id or id)")
    at = event.event_at or event.received_at
    rows = PROPERTIES.model.objects.filter(
        region=event.region, **{PROPERTIES.id_field: breezeway_id}
    )
    with transaction.atomic():
        writing(event.region, PROPERTIES.name, breezeway_id)
        stored = rows.filter(
            Q(operational_status_at__isnull=True) | Q(operational_status_at__lte=at)
        ).update(
            operational_status=status,
            operational_sub_statuses=sub_statuses,
            operational_status_at=at,
        )
    if stored:
        return Status.PROCESSED, "", {"tables": {PROPERTIES.name: {"updated": stored}}}
    if rows.exists():
        return Status.SUPERSEDED, "the property holds a newer status", {}
    raise Transient(f"property {breezeway_id} is not in the mirror yet")
