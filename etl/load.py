"""Batched upserts with change detection, and atomic replacement of each parent's child sets.

A parent row's content_hash is the hash of its whole API record (inline child arrays included)
and of the keys it resolves (etl.entities links): when both are unchanged, the record is not
even parsed. A child row's hash covers its parsed columns, so changed children are found one
by one. Only rows whose hash (or bookkeeping state) differs are sent to the database.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import Exists, OuterRef, Subquery

from breezeway.keys import natural_key_constraint
from etl.entities import ENTITIES, ChildSpec, EntitySpec, Lookups, Parsed, parse, parse_children
from etl.records import Incoming, Rejected, TableCounts, content_hash, record_id
from etl.values import RecordError


def preferred_copy(a: Incoming, b: Incoming) -> Incoming:
    """Of two copies of one record in a batch (a shifted page, a task listed and asked for by
    id), the one kept, by a rule rather than by arrival: a listed copy, then the one with more
    child sets fetched, then the later updated_at, then the larger content hash."""

    def rank(incoming: Incoming) -> tuple:
        updated = incoming.record.get("updated_at")
        return (
            bool(incoming.state.get("listed", False)),
            len(incoming.fetched),
            updated if isinstance(updated, str) else "",
        )

    rank_a, rank_b = rank(a), rank(b)
    if rank_a != rank_b:
        return a if rank_a > rank_b else b
    try:
        return a if content_hash(a.record) >= content_hash(b.record) else b
    except RecursionError:
        return a


def key_attnames(model: type[models.Model]) -> tuple[list[str], list[str]]:
    """The natural key's field names (for bulk_create) and column attributes (for rows)."""
    names = list(natural_key_constraint(model).fields)
    return names, [model._meta.get_field(name).attname for name in names]


def upsert(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    batch_size: int,
    insert_only: tuple[str, ...] = (),
) -> list:
    """INSERT ... ON CONFLICT (natural key) DO UPDATE of the rows (all with the same columns);
    `insert_only` columns are written by the INSERT and left alone by the UPDATE."""
    if not rows:
        return []
    unique_fields, unique_attnames = key_attnames(model)
    update_fields = [n for n in rows[0] if n not in unique_attnames and n not in insert_only]
    return model.objects.bulk_create(
        [model(**row) for row in rows],
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=unique_fields,
        update_fields=update_fields,
    )


class BatchLoader:
    """Loads batches of API records of one entity and region, counting per table."""

    def __init__(self, spec: EntitySpec, lookups: Lookups, now: datetime, batch_size: int) -> None:
        self.spec = spec
        self.lookups = lookups
        self.now = now
        self.batch_size = batch_size
        self.counts: dict[str, TableCounts] = {spec.name: TableCounts()}
        for child in spec.children:
            self.counts[f"{spec.name}.{child.name}"] = TableCounts()
        self.rejected: list[Rejected] = []
        # The mirror row's own timestamps (legacy DEFAULT now()) are sent explicitly: a row
        # with a database default makes Django build one VALUES (...) per row instead of its
        # UNNEST arrays, several times slower on large batches.
        self._stamps = [
            f.attname
            for f in spec.model._meta.concrete_fields
            if f.attname in ("created_at", "updated_at") and f.has_db_default()
        ]
        self._insert_only = tuple(name for name in self._stamps if name == "created_at")
        self._defaults = {
            f.attname: (0 if f.attname == "missing_listings" else None)
            for f in spec.model._meta.concrete_fields
            if f.attname in ("deleted_at", "missing_listings")
        }

    def reject(self, entity: str, record: Any, reason: str) -> None:
        # The id as the record claims it, even an unusable one: staff look the record up by it.
        claimed = record.get("id") if isinstance(record, dict) else None
        claimed = "" if claimed is None else str(claimed)[:64]
        self.rejected.append(Rejected(entity, claimed, reason, record))

    def load(self, batch: Iterable[Incoming]) -> dict[str, int]:
        """Write the batch in one transaction; return the primary key of each record's row."""
        records: dict[str, Incoming] = {}
        for incoming in batch:
            try:
                breezeway_id = record_id(incoming.record)
            except RecordError as exc:
                self.reject(self.spec.name, incoming.record, str(exc))
                continue
            other = records.get(breezeway_id)
            if other is None or preferred_copy(incoming, other) is incoming:
                records[breezeway_id] = incoming
        if not records:
            return {}
        with transaction.atomic():
            pks, parsed = self._load_parents(records)
            for child in self.spec.children:
                sets = self._child_sets(child, records, parsed, pks)
                if sets:
                    self._replace_children(child, sets)
        return pks

    def _hash(self, record: dict) -> str:
        links = None
        if self.spec.links is not None:
            try:
                links = self.spec.links(record, self.lookups)
            except (AttributeError, TypeError):
                links = None  # a malformed record: parse() will say what is wrong
        try:
            return content_hash([record, links])
        except RecursionError:
            raise RecordError("the record is nested too deeply to store") from None

    def _load_parents(
        self, records: dict[str, Incoming]
    ) -> tuple[dict[str, int], dict[str, Parsed]]:
        model, id_field = self.spec.model, self.spec.id_field
        extra = sorted({name for r in records.values() for name in r.state})
        columns = [id_field, "pk", "content_hash", *self._defaults, *extra]
        stored = {
            row[0]: dict(zip(columns, row, strict=True))
            for row in model.objects.filter(
                region_id=self.lookups.region, **{f"{id_field}__in": list(records)}
            ).values_list(*columns)
        }
        counts = self.counts[self.spec.name]
        pks: dict[str, int] = {}
        parsed_records: dict[str, Parsed] = {}
        # One bulk_create per set of bookkeeping columns, so none is overwritten by a default.
        writes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for breezeway_id, incoming in list(records.items()):
            try:
                digest = self._hash(incoming.record)
            except RecordError as exc:
                self.reject(self.spec.name, incoming.record, str(exc))
                del records[breezeway_id]
                continue
            wanted = {**self._defaults, **incoming.state}
            old = stored.get(breezeway_id)
            if old is not None:
                pks[breezeway_id] = old["pk"]
                if old["content_hash"] == digest and all(
                    old[name] == value for name, value in wanted.items()
                ):
                    counts.unchanged += 1
                    continue
            try:
                parsed = parse(self.spec, incoming.record, self.lookups)
            except RecordError as exc:
                self.reject(self.spec.name, incoming.record, str(exc))
                pks.pop(breezeway_id, None)
                continue
            if old is None:
                counts.inserted += 1
            else:
                counts.updated += 1
            self.rejected.extend(parsed.rejected)
            parsed_records[breezeway_id] = parsed
            row = {**parsed.row, **wanted, "content_hash": digest, "last_sync_time": self.now}
            row.update(dict.fromkeys(self._stamps, self.now))
            writes.setdefault(tuple(sorted(wanted)), []).append(row)
        for rows in writes.values():
            for obj in upsert(model, rows, self.batch_size, insert_only=self._insert_only):
                pks[getattr(obj, id_field)] = obj.pk
        return pks, parsed_records

    def _child_sets(
        self,
        child: ChildSpec,
        records: dict[str, Incoming],
        parsed: dict[str, Parsed],
        pks: dict[str, int],
    ) -> dict[int, list[dict[str, Any]]]:
        """Parent pk -> the child rows it has now, for every parent whose set is known."""
        sets: dict[int, list[dict[str, Any]]] = {}
        if child.source is not None:  # inline: known for the parents that were parsed
            for breezeway_id, p in parsed.items():
                sets[pks[breezeway_id]] = p.children[child.name]
            return sets
        entity = f"{self.spec.name}.{child.name}"
        for breezeway_id, incoming in records.items():
            if child.name not in incoming.fetched or breezeway_id not in pks:
                continue
            rows, rejected = parse_children(child, incoming.fetched[child.name], self.lookups)
            for item, reason in rejected:
                self.rejected.append(Rejected(entity, breezeway_id, reason, item))
            sets[pks[breezeway_id]] = rows
        return sets

    def _replace_children(self, child: ChildSpec, sets: dict[int, list[dict[str, Any]]]) -> None:
        """Upsert each parent's children that are new or changed; delete those it lost."""
        model = child.model
        fk = model._meta.get_field(child.parent_field).attname
        _, key = key_attnames(model)
        stored = {
            tuple(row[1:-1]): (row[0], row[-1])
            for row in model.objects.filter(**{f"{fk}__in": list(sets)}).values_list(
                "pk", *key, "content_hash"
            )
        }
        desired: dict[tuple, dict[str, Any]] = {}
        for parent_pk, rows in sets.items():
            for row in rows:
                row = {**row, fk: parent_pk}
                identity = tuple(row[name] for name in key)
                desired.pop(identity, None)  # the same child twice in one payload: last wins
                desired[identity] = row
        counts = self.counts[f"{self.spec.name}.{child.name}"]
        writes = []
        for identity, row in desired.items():
            digest = content_hash(row)
            old = stored.get(identity)
            if old is not None and old[1] == digest:
                counts.unchanged += 1
                continue
            if old is None:
                counts.inserted += 1
            else:
                counts.updated += 1
            writes.append({**row, "content_hash": digest, "last_sync_time": self.now})
        upsert(model, writes, self.batch_size)
        gone = [pk for identity, (pk, _) in stored.items() if identity not in desired]
        for start in range(0, len(gone), self.batch_size):
            model.objects.filter(pk__in=gone[start : start + self.batch_size]).delete()
        counts.deleted += len(gone)


def repair_links(region_code: str, parent: str) -> dict[str, int]:
    """Fill the links to `parent` that are NULL only because the parent was missing when the
    row was loaded (a row outside later listings would otherwise stay unlinked); returns the
    rows linked per (entity.field). Their content hash still holds the old link, so the next
    listing of such a row rewrites it once."""
    parent_spec = ENTITIES[parent]
    repaired: dict[str, int] = {}
    for spec in ENTITIES.values():
        for ref in spec.references:
            if ref.entity != parent:
                continue
            match = parent_spec.model.objects.filter(
                region_id=region_code, **{parent_spec.id_field: OuterRef(ref.id_field)}
            )
            count = (
                spec.model.objects.filter(
                    region_id=region_code,
                    **{f"{ref.field}__isnull": True, f"{ref.id_field}__isnull": False},
                )
                .filter(Exists(match))
                .update(**{ref.field: Subquery(match.values("pk")[:1])})
            )
            if count:
                repaired[f"{spec.name}.{ref.field}"] = count
    return repaired
