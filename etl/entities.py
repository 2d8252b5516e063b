"""What each synced entity is: its endpoint, its mapping from API records to rows, its children."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from django.db import models

from breezeway import models as m
from breezeway.natural_keys import (
    assignee_key,
    cost_key,
    first_present,
    guest_key,
    photo_key,
    requirement_key,
    usage_key,
)
from etl.records import Rejected, record_id
from etl.values import (
    RecordError,
    boolean,
    clock_time,
    coordinate,
    day,
    decimal,
    ident,
    integer,
    items,
    json_value,
    money,
    nested,
    required_ident,
    text,
    timestamp,
)


@dataclass
class Lookups:
    """Primary keys of already-loaded rows that records point at: entity -> Breezeway id -> pk."""

    region: str
    pks: dict[str, dict[str, int]] = field(default_factory=dict)

    def pk(self, entity: str, breezeway_id: Any) -> int | None:
        """The primary key of the entity's row with this Breezeway id (text), if loaded."""
        return self.pks.get(entity, {}).get(breezeway_id)


@dataclass
class Parsed:
    """One API record as rows: the parent's columns and each known child set."""

    id: str
    row: dict[str, Any]
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass(frozen=True)
class ChildSpec:
    name: str  # the name in Parsed.children and in run details
    model: type[models.Model]
    parent_field: str  # the ForeignKey to the parent ("property", "task", ...)
    parse_item: Callable[[dict, Lookups], dict[str, Any]]
    source: str | None = None  # the record's array field; None: fetched by its own endpoint
    # A derived key whose identical id-less lines are told apart by an occurrence number.
    numbered_key: str | None = None
    endpoint: str | None = None  # the child set's own path ("{}": the parent's id), if any


@dataclass(frozen=True)
class Reference:
    """A row's link to a parent entity: the ForeignKey `field`, resolved from the Breezeway id
    the row keeps in `id_field`. It stays NULL while the parent is missing, and is filled in
    when the parent arrives (etl.load.repair_links)."""

    field: str
    id_field: str
    entity: str
    # The API lists no such row once its parent is gone: deleted with the parent.
    deleted_with_parent: bool = False


@dataclass(frozen=True)
class DateWindow:
    """A listing limited to recent records, except on a full sweep."""

    param: str  # the API's filter parameter ("checkout_date_ge")
    field: str  # the model field it filters ("checkout_date")
    days_back_setting: str  # the setting saying how many days back a limited listing reaches
    # The filter value that lists every record: without a filter the API lists only some.
    everything: str


@dataclass(frozen=True)
class ChangedSince:
    """The listing's filter by update time (reference §7.1), which makes a run that is not a
    full sweep incremental: only what changed since the last successful listing, minus
    SYNC_INCREMENTAL_OVERLAP_MINUTES, whatever its other dates. It proves nothing about the
    records it does not show: such a run deletes nothing (the full sweep's listing does)."""

    param: str  # "updated_at_ge"

    def params(self, since: datetime) -> dict[str, str]:
        return {self.param: since.isoformat()}


@dataclass(frozen=True)
class PerParentListing:
    """Records the API lists per parent record only (tasks: GET /task?home_id=...).

    A known record a complete list no longer shows is asked for by id (path/<id>): only a 404
    deletes it. Child sets with an endpoint are fetched by policy: every one on a full sweep,
    else for new and changed records and those whose `window_field` date is near today.
    """

    entity: str  # the parent entity ("properties")
    param: str  # the listing's parameter naming the parent ("home_id")
    field: str  # the column keeping the parent's Breezeway id ("home_id")
    window_field: str  # the record's date that keeps its children refreshed near today
    # The job (SyncRun.entity) asking for every record no list shows, under the entity's locks.
    reconcile_job: str


@dataclass(frozen=True)
class PushedEvents:
    """Webhook events Breezeway pushes about an entity's records (reference §13.1).

    The record sits under `object_key`; `event_prefix` marks the event types about it (each
    loads the record as the sync would, except `deleted_events`, which ask the API first).
    `event_only_keys` are keys the event adds to the listed record (its company, a status
    object the list does not carry): left out, so a record pushed and then listed hashes the
    same and the hourly sync has nothing to rewrite.
    """

    kind: str  # the receiver's URL segment and WebhookEvent.kind ("tasks")
    object_key: str
    event_prefix: str
    deleted_events: tuple[str, ...]
    event_only_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntitySpec:
    name: str  # the `--entity` name
    model: type[models.Model]
    id_field: str  # the column holding the Breezeway id
    path: str
    parse_row: Callable[[dict, Lookups], dict[str, Any]]
    children: tuple[ChildSpec, ...] = ()
    # The primary keys a record resolves through Lookups: part of its content hash, so a row
    # is rewritten when what it points at appears or changes even if its payload did not.
    links: Callable[[dict, Lookups], list[Any]] | None = None
    # The entities whose rows its records point at (Lookups): loaded before it, and never
    # being written by another run while it loads.
    reads: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    # How it is listed: whole (filtered by `window` unless sweeping), or per parent record.
    window: DateWindow | None = None
    listed_per: PerParentListing | None = None
    changed_since: ChangedSince | None = None  # listed incrementally between full sweeps
    # Its complete listings are evidence: a row missing from enough of them is deleted.
    listing_proves_deletion: bool = False
    pushed: PushedEvents | None = None  # its webhook events, if Breezeway sends any

    @property
    def sweeps(self) -> bool:
        """Whether a run can be a full sweep (the window lifted, every child set fetched)."""
        return self.window is not None or self.listed_per is not None


# --- the checks every row passes -------------------------------------------------------------


@cache
def _max_lengths(model: type[models.Model]) -> dict[str, int]:
    return {
        f.attname: f.max_length
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField) and f.max_length
    }


def fit(model: type[models.Model], row: dict[str, Any]) -> dict[str, Any]:
    """Reject a row whose text would not fit its column (so one record cannot fail a batch)."""
    for name, limit in _max_lengths(model).items():
        value = row.get(name)
        if isinstance(value, str) and len(value) > limit:
            raise RecordError(f"{name} has {len(value)} characters, more than {limit}")
    return row


# What a parser may raise on a value of a shape nobody foresaw (a bug's symptom, or a value
# beyond a limit): it costs the record or item it came from, with the reason, never the batch.
UNFORESEEN = (ValueError, TypeError, AttributeError, KeyError, ArithmeticError, RecursionError)


def unforeseen(exc: Exception) -> RecordError:
    return RecordError(f"unreadable value ({type(exc).__name__}: {str(exc)[:200]})")


def parse(spec: EntitySpec, record: Any, lookups: Lookups) -> Parsed:
    """The record's rows, its bad child items set aside; RecordError if the record is bad."""
    try:
        return _parse(spec, record, lookups)
    except RecordError:
        raise
    except UNFORESEEN as exc:
        raise unforeseen(exc) from exc


def _parse(spec: EntitySpec, record: Any, lookups: Lookups) -> Parsed:
    breezeway_id = record_id(record)
    row = fit(spec.model, spec.parse_row(record, lookups))
    row[spec.id_field] = breezeway_id
    row["region_id"] = lookups.region
    parsed = Parsed(breezeway_id, row)
    for child in spec.children:
        if child.source is not None:
            rows, rejected = parse_children(child, items(record, child.source), lookups)
            parsed.children[child.name] = rows
            for item, reason in rejected:
                parsed.rejected.append(
                    Rejected(f"{spec.name}.{child.name}", breezeway_id, reason, item)
                )
    return parsed


def parse_children(
    child: ChildSpec, payload: list[Any], lookups: Lookups
) -> tuple[list[dict[str, Any]], list[tuple[Any, str]]]:
    """A child set's rows, and the items that could not be used with the reason."""
    rows: list[dict[str, Any]] = []
    rejected: list[tuple[Any, str]] = []
    for item in payload:
        try:
            if not isinstance(item, dict):
                raise RecordError(f"the item is {type(item).__name__}, expected an object")
            row = fit(child.model, child.parse_item(item, lookups))
        except RecordError as exc:
            rejected.append((item, str(exc)))
            continue
        except UNFORESEEN as exc:
            rejected.append((item, str(unforeseen(exc))))
            continue
        row["region_id"] = lookups.region
        rows.append(row)
    if child.numbered_key:
        number_repeated_lines(rows, child.numbered_key)
    return rows, rejected


def number_repeated_lines(rows: list[dict[str, Any]], key: str) -> None:
    """Give the n-th identical id-less line the occurrence n in its derived key ('h:…:n')."""
    seen: Counter[str] = Counter()
    for row in rows:
        value = row[key]
        if value.startswith("h:"):
            base = value.rsplit(":", 1)[0]
            row[key] = f"{base}:{seen[base]}"
            seen[base] += 1


def _who(record: dict, name: str) -> tuple[str | None, str | None]:
    person = nested(record, name)
    return ident(person.get("id"), f"{name}.id"), text(person.get("name"), f"{name}.name")


# --- properties ------------------------------------------------------------------------------


def property_row(r: dict, lookups: Lookups) -> dict[str, Any]:
    notes = nested(r, "notes")
    return {
        "company_id": integer(r.get("company_id"), "company_id"),
        "property_name": text(r.get("name"), "name"),
        "property_status": text(r.get("status"), "status"),
        "property_display": text(r.get("display"), "display"),
        "property_address1": text(r.get("address1"), "address1"),
        "property_address2": text(r.get("address2"), "address2"),
        "property_city": text(r.get("city"), "city"),
        "property_state": text(r.get("state"), "state"),
        "property_zipcode": text(r.get("zipcode"), "zipcode"),
        "property_country": text(r.get("country"), "country"),
        "property_building": text(r.get("building"), "building"),
        "latitude_numeric": coordinate(r.get("latitude"), "latitude"),
        "longitude_numeric": coordinate(r.get("longitude"), "longitude"),
        "reference_company_id": ident(r.get("reference_company_id"), "reference_company_id"),
        "reference_property_id": text(r.get("reference_property_id"), "reference_property_id"),
        "reference_external_property_id": text(
            r.get("reference_external_property_id"), "reference_external_property_id"
        ),
        "wifi_name": text(r.get("wifi_name"), "wifi_name"),
        "wifi_password": text(r.get("wifi_password"), "wifi_password"),
        "property_notes_general": text(notes.get("about"), "notes.about"),
        "property_notes_access": text(notes.get("access"), "notes.access"),
        "property_notes_guest_access": text(notes.get("guest_access"), "notes.guest_access"),
        "property_notes_direction": text(notes.get("direction"), "notes.direction"),
        "property_notes_trash_info": text(notes.get("trash_info"), "notes.trash_info"),
        "property_notes_wifi": text(notes.get("wifi"), "notes.wifi"),
    }


def photo_columns(p: dict) -> dict[str, Any]:
    """What property and task photos share: the id, the derived key, the URL, the caption."""
    photo_id = ident(p.get("id"), "photos[].id")
    key = photo_key(photo_id, p.get("url"))
    if not key:
        raise RecordError("the photo has neither an id nor a URL")
    return {
        "photo_id": photo_id,
        "photo_key": key,
        "url": text(p.get("url"), "url"),
        "caption": text(p.get("caption"), "caption"),
    }


def property_photo_row(p: dict, lookups: Lookups) -> dict[str, Any]:
    return {
        **photo_columns(p),
        "original_url": text(p.get("original_url"), "original_url"),
        "is_default": boolean(p.get("default"), "default"),
    }


# --- reservations ----------------------------------------------------------------------------


def reservation_row(r: dict, lookups: Lookups) -> dict[str, Any]:
    property_id = ident(r.get("property_id"), "property_id")
    return {
        "breezeway_property_id": property_id,
        "property_id": lookups.pk("properties", property_id),
        "reservation_status": text(r.get("status"), "status"),
        "access_code": text(r.get("access_code"), "access_code"),
        "checkin_date": day(r.get("checkin_date"), "checkin_date"),
        "checkin_time": clock_time(r.get("checkin_time"), "checkin_time"),
        "checkin_early": boolean(r.get("checkin_early"), "checkin_early"),
        "checkout_date": day(r.get("checkout_date"), "checkout_date"),
        "checkout_time": clock_time(r.get("checkout_time"), "checkout_time"),
        "checkout_late": boolean(r.get("checkout_late"), "checkout_late"),
        "reservation_note": text(r.get("note"), "note"),
        "guide_url": text(r.get("guide_url"), "guide_url"),
        "reference_reservation_id": text(
            r.get("reference_reservation_id"), "reference_reservation_id"
        ),
        "reference_property_id": text(r.get("reference_property_id"), "reference_property_id"),
        "reference_external_property_id": text(
            r.get("reference_external_property_id"), "reference_external_property_id"
        ),
        "adults": integer(r.get("adults"), "adults"),
        "children": integer(r.get("children"), "children"),
        "pets": integer(r.get("pets"), "pets"),
        "source": text(r.get("source"), "source"),
    }


def _strings(values: list, field: str) -> list[str]:
    return [s for s in (text(v, field) for v in values) if s is not None and s.strip()]


def guest_row(g: dict, lookups: Lookups) -> dict[str, Any]:
    emails = _strings(items(g, "emails"), "emails[]")
    phones = _strings(items(g, "phone_numbers"), "phone_numbers[]")
    first = text(g.get("first_name"), "first_name") or ""
    last = text(g.get("last_name"), "last_name") or ""
    name = " ".join(part.strip() for part in (first, last) if part.strip()) or None
    email = first_present(emails)
    return {
        "guest_key": guest_key(email, name),
        "guest_name": name,
        "guest_email": email,
        "guest_phone": first_present(phones),
        "guest_emails": emails,
        "guest_phone_numbers": phones,
    }


# --- tasks -----------------------------------------------------------------------------------


def task_row(r: dict, lookups: Lookups) -> dict[str, Any]:
    home_id = ident(r.get("home_id"), "home_id")
    status_obj = nested(r, "type_task_status")
    status = r.get("status")
    if isinstance(status, dict):  # an object {code, name} in webhook payloads
        status = status.get("code") or status.get("name")
    linked = nested(r, "linked_reservation")
    linked_id = ident(linked.get("id"), "linked_reservation.id")
    created_by_id, created_by_name = _who(r, "created_by")
    finished_by_id, finished_by_name = _who(r, "finished_by")
    requested_by_id, requested_by_name = _who(r, "requested_by")
    subdepartment_id, subdepartment_name = _who(r, "subdepartment")
    return {
        "home_id": home_id,
        "property_id": lookups.pk("properties", home_id),
        "reservation_id": lookups.pk("reservations", linked_id),
        "task_name": text(r.get("name"), "name"),
        "task_description": text(r.get("description"), "description"),
        "task_status": text(status, "status"),
        "task_status_code": text(status_obj.get("code"), "type_task_status.code"),
        "task_status_name": text(status_obj.get("name"), "type_task_status.name"),
        "task_status_stage": text(status_obj.get("stage"), "type_task_status.stage"),
        "type_department": text(r.get("type_department"), "type_department"),
        "type_priority": text(r.get("type_priority"), "type_priority"),
        "scheduled_date": day(r.get("scheduled_date"), "scheduled_date"),
        "scheduled_time": clock_time(r.get("scheduled_time"), "scheduled_time"),
        "started_at": timestamp(r.get("started_at"), "started_at"),
        "finished_at": timestamp(r.get("finished_at"), "finished_at"),
        "paused": boolean(r.get("paused"), "paused"),
        "template_task_id": ident(r.get("template_id"), "template_id"),
        "template_name": text(nested(r, "template").get("name"), "template.name"),
        "report_url": text(r.get("report_url"), "report_url"),
        "reference_property_id": text(r.get("reference_property_id"), "reference_property_id"),
        "bill_to": text(r.get("bill_to"), "bill_to"),
        "rate_type": text(r.get("rate_type"), "rate_type"),
        "rate_paid": money(r.get("rate_paid"), "rate_paid"),
        "total_cost": money(r.get("total_cost"), "total_cost"),
        "total_time": text(r.get("total_time"), "total_time"),
        "estimated_time": text(r.get("estimated_time"), "estimated_time"),
        "estimated_rate": money(r.get("estimated_rate"), "estimated_rate"),
        "billable": boolean(r.get("billable"), "billable"),
        "itemized_cost": boolean(r.get("itemized_cost"), "itemized_cost"),
        "task_series_id": ident(r.get("task_series_id"), "task_series_id"),
        "parent_task_id": ident(r.get("parent_task_id"), "parent_task_id"),
        "created_by_id": created_by_id,
        "created_by_name": created_by_name,
        "finished_by_id": finished_by_id,
        "finished_by_name": finished_by_name,
        "requested_by_id": requested_by_id,
        "requested_by_name": requested_by_name,
        "subdepartment_id": subdepartment_id,
        "subdepartment_name": subdepartment_name,
        "summary_note": text(nested(r, "summary").get("note"), "summary.note"),
        "linked_reservation_id": linked_id,
        "linked_reservation_external_id": text(
            linked.get("external_reservation_id"), "linked_reservation.external_reservation_id"
        ),
        "created_at": timestamp(r.get("created_at"), "created_at"),
        "updated_at": timestamp(r.get("updated_at"), "updated_at"),
    }


def assignment_row(a: dict, lookups: Lookups) -> dict[str, Any]:
    assignee_id = ident(a.get("assignee_id"), "assignee_id")
    name = text(a.get("name"), "name")
    key = assignee_key(assignee_id, name)
    if not key:
        raise RecordError("the assignment has neither an assignee_id nor a name")
    return {
        "assignee_id": assignee_id,
        "assignee_key": key,
        "assignee_name": name,
        "assignment_status": text(a.get("status"), "status"),
    }


def task_photo_row(p: dict, lookups: Lookups) -> dict[str, Any]:
    return {**photo_columns(p), "uploaded_at": timestamp(p.get("uploaded_at"), "uploaded_at")}


def task_tag_row(t: dict, lookups: Lookups) -> dict[str, Any]:
    tag_id = ident(t.get("id"), "task_tags[].id")
    if tag_id is None:
        raise RecordError("the task tag has no id")
    tag_pk = lookups.pk("tags", tag_id)
    if tag_pk is None:
        raise RecordError(f"tag {tag_id} is not among the region's task tag definitions")
    return {"tag_id": tag_pk}


def task_supply_row(s: dict, lookups: Lookups) -> dict[str, Any]:
    usage_id = ident(s.get("id"), "supplies[].id")
    supply_id = ident(s.get("supply_id"), "supply_id")
    name = text(s.get("name"), "name")
    return {
        "usage_id": usage_id,
        "usage_key": usage_key(usage_id, supply_id, name),
        "supply_id": supply_id,
        "name": name,
        "description": text(s.get("description"), "description"),
        "size": text(s.get("size"), "size"),
        "quantity": decimal(s.get("quantity"), "quantity", places=4),
        "unit_cost": money(s.get("unit_cost"), "unit_cost"),
        "total_price": money(s.get("total_price"), "total_price"),
        "bill_to": text(s.get("bill_to"), "bill_to"),
        "billable": boolean(s.get("billable"), "billable"),
        "markup_pricing_type": text(s.get("markup_pricing_type"), "markup_pricing_type"),
        "markup_rate": decimal(s.get("markup_rate"), "markup_rate", places=4),
    }


def task_cost_row(c: dict, lookups: Lookups) -> dict[str, Any]:
    cost_id = ident(c.get("id"), "costs[].id")
    kind = nested(c, "type_cost")
    created_at = timestamp(c.get("created_at"), "created_at")
    description = text(c.get("description"), "description")
    code = text(kind.get("code"), "type_cost.code")
    return {
        "cost_id": cost_id,
        "cost_key": cost_key(
            cost_id, created_at.isoformat() if created_at else None, code, description
        ),
        "cost": money(c.get("cost"), "cost"),
        "description": description,
        "bill_to": text(c.get("bill_to"), "bill_to"),
        "type_cost_id": ident(kind.get("id"), "type_cost.id"),
        "type_cost_code": code,
        "type_cost_name": text(kind.get("name"), "type_cost.name"),
        "created_at": created_at,
        "updated_at": timestamp(c.get("updated_at"), "updated_at"),
    }


def requirement_row(q: dict, lookups: Lookups) -> dict[str, Any]:
    requirement_id = ident(q.get("id"), "id")
    section = text(q.get("section_name"), "section_name")
    action = json_value(q.get("action"), "action")
    element = text(q.get("home_element_name"), "home_element_name")
    return {
        "requirement_id": requirement_id,
        "requirement_key": requirement_key(requirement_id, section, action, element),
        "section_name": section,
        "action": action,
        "response": text(q.get("response"), "response"),
        "type_requirement": text(q.get("type_requirement"), "type_requirement"),
        "photo_required": boolean(q.get("photo_required"), "photo_required"),
        "photos": json_value(q.get("photos"), "photos"),
        "note": text(q.get("note"), "note"),
        "home_element_name": element,
    }


def comment_row(c: dict, lookups: Lookups) -> dict[str, Any]:
    author_id, author_name = _who(c, "author")
    return {
        "comment_id": required_ident(c),
        "comment": text(c.get("comment"), "comment"),
        "author_id": author_id,
        "author_name": author_name,
        "created_at": timestamp(c.get("created_at"), "created_at"),
        "updated_at": timestamp(c.get("updated_at"), "updated_at"),
    }


# --- reference records -----------------------------------------------------------------------


def person_row(r: dict, lookups: Lookups) -> dict[str, Any]:
    availability = json_value(r.get("availability"), "availability")
    if availability is not None and not isinstance(availability, dict):
        raise RecordError("availability is not an object")
    return {
        "person_name": text(r.get("name"), "name"),
        "active": boolean(r.get("active"), "active"),
        "accept_decline_tasks": boolean(r.get("accept_decline_tasks"), "accept_decline_tasks"),
        "availability": availability,
    }


def supply_row(r: dict, lookups: Lookups) -> dict[str, Any]:
    status = nested(r, "type_stock_status")
    return {
        "company_id": ident(r.get("company_id"), "company_id"),
        "supply_name": text(r.get("name"), "name"),
        "description": text(r.get("description"), "description"),
        "size": text(r.get("size"), "size"),
        "internal_id": text(r.get("internal_id"), "internal_id"),
        "unit_cost": money(r.get("unit_cost"), "unit_cost"),
        "stock_count": integer(r.get("stock_count"), "stock_count"),
        "low_stock_alert": boolean(r.get("low_stock_alert"), "low_stock_alert"),
        "low_stock_count": integer(r.get("low_stock_count"), "low_stock_count"),
        "supply_category_id": ident(r.get("supply_category_id"), "supply_category_id"),
        "stock_status_code": text(status.get("code"), "type_stock_status.code"),
        "stock_status_name": text(status.get("name"), "type_stock_status.name"),
        "created_at": timestamp(r.get("created_at"), "created_at"),
        "updated_at": timestamp(r.get("updated_at"), "updated_at"),
    }


def tag_row(r: dict, lookups: Lookups) -> dict[str, Any]:
    return {
        "tag_name": text(r.get("name"), "name"),
        "tag_description": text(r.get("description"), "description"),
    }


def reservation_links(r: dict, lookups: Lookups) -> list[Any]:
    return [lookups.pk("properties", str(r.get("property_id")))]


def task_links(r: dict, lookups: Lookups) -> list[Any]:
    linked = r.get("linked_reservation") or {}
    tags = [t.get("id") for t in r.get("task_tags") or () if isinstance(t, dict)]
    return [
        lookups.pk("properties", str(r.get("home_id"))),
        lookups.pk("reservations", str(linked.get("id"))) if isinstance(linked, dict) else None,
        [lookups.pk("tags", str(tag)) for tag in tags],
    ]


# --- the entities, in load order (what a record points at loads before it) -------------------

REQUIREMENTS = ChildSpec(
    "requirements",
    m.TaskRequirement,
    "task",
    requirement_row,
    numbered_key="requirement_key",
    endpoint="/task/{}/requirements",
)
COMMENTS = ChildSpec("comments", m.TaskComment, "task", comment_row, endpoint="/task/{}/comments")

TAGS = EntitySpec("tags", m.Tag, "tag_id", "/task/tags", tag_row)
PEOPLE = EntitySpec("people", m.Person, "person_id", "/people", person_row)
SUPPLIES = EntitySpec("supplies", m.Supply, "supply_id", "/supplies", supply_row)
PROPERTIES = EntitySpec(
    "properties",
    m.Property,
    "property_id",
    "/property",
    property_row,
    children=(ChildSpec("photos", m.PropertyPhoto, "property", property_photo_row, "photos"),),
    listing_proves_deletion=True,
)
RESERVATIONS = EntitySpec(
    "reservations",
    m.Reservation,
    "reservation_id",
    "/reservation",
    reservation_row,
    children=(ChildSpec("guests", m.ReservationGuest, "reservation", guest_row, "guests"),),
    links=reservation_links,
    reads=("properties",),
    references=(
        Reference("property", "breezeway_property_id", "properties", deleted_with_parent=True),
    ),
    # Without a date filter the API lists only current stays (reference §7.1).
    window=DateWindow(
        "checkout_date_ge", "checkout_date", "SYNC_RESERVATION_DAYS_BACK", everything="1970-01-01"
    ),
    changed_since=ChangedSince("updated_at_ge"),
    listing_proves_deletion=True,
)
TASKS = EntitySpec(
    "tasks",
    m.Task,
    "task_id",
    "/task",
    task_row,
    children=(
        ChildSpec("assignments", m.TaskAssignment, "task", assignment_row, "assignments"),
        ChildSpec("photos", m.TaskPhoto, "task", task_photo_row, "photos"),
        ChildSpec("tags", m.TaskTag, "task", task_tag_row, "task_tags"),
        ChildSpec("supplies", m.TaskSupply, "task", task_supply_row, "supplies", "usage_key"),
        ChildSpec("costs", m.TaskCost, "task", task_cost_row, "costs", "cost_key"),
        REQUIREMENTS,
        COMMENTS,
    ),
    links=task_links,
    reads=("properties", "reservations", "tags"),
    references=(
        Reference("property", "home_id", "properties"),
        Reference("reservation", "linked_reservation_id", "reservations"),
    ),
    listed_per=PerParentListing(
        "properties", "home_id", "home_id", "scheduled_date", reconcile_job="task_deletions"
    ),
    pushed=PushedEvents(
        "tasks",
        object_key="task",
        event_prefix="task-",
        deleted_events=("task-deleted",),
        event_only_keys=("company_id", "status"),
    ),
)

ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec for spec in (TAGS, PEOPLE, SUPPLIES, PROPERTIES, RESERVATIONS, TASKS)
}
ENTITY_NAMES: tuple[str, ...] = tuple(ENTITIES)
# Jobs that reconcile an entity's deletions record by record, under that entity's locks.
RECONCILE_JOBS: dict[str, EntitySpec] = {
    spec.listed_per.reconcile_job: spec for spec in ENTITIES.values() if spec.listed_per
}
# Every job a sync run can be (SyncRun.entity), in the order a region run takes them.
JOBS: tuple[str, ...] = (*ENTITY_NAMES, *RECONCILE_JOBS)


# The entities whose records webhooks push, by the receiver's kind.
PUSHED: dict[str, EntitySpec] = {
    spec.pushed.kind: spec for spec in ENTITIES.values() if spec.pushed is not None
}


class LookupsOnDemand(Lookups):
    """Lookups that ask the database for each id the first time it is needed: for loading one
    record (a webhook's), whose few links do not justify reading every key of the region."""

    def pk(self, entity: str, breezeway_id: Any) -> int | None:
        known = self.pks.setdefault(entity, {})
        if breezeway_id not in known:
            spec = ENTITIES[entity]
            known[breezeway_id] = (
                spec.model.objects.filter(
                    region_id=self.region, **{spec.id_field: str(breezeway_id)[:64]}
                )
                .values_list("pk", flat=True)
                .first()
            )
        return known[breezeway_id]


def spec_of(job: str) -> EntitySpec:
    """The entity a job writes: its own, or the one whose deletions it reconciles."""
    return RECONCILE_JOBS.get(job) or ENTITIES[job]
