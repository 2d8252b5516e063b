"""Compare a mirrored region with the simulator's truth: every entity and every child set."""

from typing import Any

from django.db import models

from breezeway.models import Region
from etl.entities import (
    COMMENTS,
    ENTITIES,
    REQUIREMENTS,
    ChildSpec,
    EntitySpec,
    parse,
    parse_children,
)
from etl.load import key_attnames
from etl.pipeline import build_lookups
from etl.values import RecordError

# Where each entity's records sit in a simulator snapshot.
SNAPSHOT_KEYS = {
    "tags": "tags",
    "people": "people",
    "supplies": "supplies",
    "properties": "properties",
    "reservations": "reservations",
    "tasks": "tasks",
}


def synced_models() -> list[type[models.Model]]:
    """Every model the sync writes: the entities' and their children's, in ENTITIES' order."""
    found: list[type[models.Model]] = []
    for spec in ENTITIES.values():
        for model in (spec.model, *(child.model for child in spec.children)):
            if model not in found:
                found.append(model)
    return found


def _live(spec: EntitySpec, region: Region):
    rows = spec.model.objects.filter(region=region)
    if any(f.name == "deleted_at" for f in spec.model._meta.fields):
        rows = rows.filter(deleted_at__isnull=True)
    return rows


def _child_rows(child: ChildSpec, parent_pks: list[int], columns: list[str]) -> dict:
    fk = child.model._meta.get_field(child.parent_field).attname
    _, key = key_attnames(child.model)
    found: dict[int, dict[tuple, dict]] = {}
    for row in child.model.objects.filter(**{f"{fk}__in": parent_pks}).values(fk, *columns):
        found.setdefault(row[fk], {})[tuple(row[k] for k in key)] = row
    return found


def _expected_children(rows: list[dict[str, Any]], key: list[str]) -> dict[tuple, dict]:
    result: dict[tuple, dict] = {}
    for row in rows:  # the same child twice in one payload: the last copy wins
        identity = tuple(row[k] for k in key)
        result.pop(identity, None)
        result[identity] = row
    return result


def mirror_differences(region_code: str, snapshot: dict, limit: int = 20) -> list[str]:
    """What differs between the database and the snapshot; empty when they are equal.

    Tasks of "bad properties" are left out: their list answers 422 for good, so no client
    can see them (the sync skips those properties and infers nothing about their tasks).
    """
    region = Region.objects.get(code=region_code)
    lookups = build_lookups(region)
    unreachable = {str(i) for i in snapshot["bad_property_ids"]}
    problems: list[str] = []
    for name, spec in ENTITIES.items():
        expected = {}
        for record in snapshot[SNAPSHOT_KEYS[name]]:
            if name == "tasks" and str(record.get("home_id")) in unreachable:
                continue
            try:
                parsed = parse(spec, record, lookups)
            except RecordError:
                continue  # the sync rejects it too (and records why)
            if name == "tasks":
                for child, source in ((REQUIREMENTS, "requirements"), (COMMENTS, "comments")):
                    items = snapshot[source].get(parsed.id, snapshot[source].get(int(parsed.id)))
                    parsed.children[child.name] = parse_children(child, items or [], lookups)[0]
            expected[parsed.id] = parsed
        columns = sorted({column for p in expected.values() for column in p.row})
        stored = {
            row[spec.id_field]: row
            for row in _live(spec, region).values("pk", *columns, spec.id_field)
        }
        missing = sorted(set(expected) - set(stored))
        extra = sorted(set(stored) - set(expected))
        if missing:
            problems.append(f"{name}: {len(missing)} missing, e.g. {missing[:5]}")
        if extra:
            problems.append(f"{name}: {len(extra)} not in the API any more, e.g. {extra[:5]}")
        for record_id in sorted(set(expected) & set(stored)):
            want, have = expected[record_id].row, stored[record_id]
            diff = [c for c in want if want[c] != have[c]]
            if diff:
                problems.append(
                    f"{name} {record_id}: "
                    + ", ".join(f"{c}={have[c]!r} (API: {want[c]!r})" for c in diff[:3])
                )
        for child in spec.children:
            _, key = key_attnames(child.model)
            fk = child.model._meta.get_field(child.parent_field).attname
            common = sorted(set(expected) & set(stored))
            child_columns = sorted(
                {c for i in common for row in expected[i].children[child.name] for c in row}
                | set(key)
            )
            have_all = _child_rows(child, [stored[i]["pk"] for i in common], child_columns)
            for record_id in common:
                pk = stored[record_id]["pk"]
                rows = [{**row, fk: pk} for row in expected[record_id].children[child.name]]
                want = _expected_children(rows, key)
                have = have_all.get(pk, {})
                if set(want) != set(have):
                    problems.append(
                        f"{name} {record_id} {child.name}: keys differ "
                        f"(missing {sorted(set(want) - set(have))[:3]}, "
                        f"extra {sorted(set(have) - set(want))[:3]})"
                    )
                    continue
                for identity, row in want.items():
                    diff = [c for c in row if c != fk and row[c] != have[identity][c]]
                    if diff:
                        problems.append(
                            f"{name} {record_id} {child.name} {identity}: "
                            + ", ".join(
                                f"{c}={have[identity][c]!r} (API: {row[c]!r})" for c in diff[:3]
                            )
                        )
        if len(problems) >= limit:
            break
    return problems[:limit]
