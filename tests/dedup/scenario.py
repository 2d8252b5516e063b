"""A small legacy database with every kind of duplicate the remediation must handle.

Rows are inserted in list order into empty tables, so row ids are 1..n per table. The
expected survivors are computed independently of the engine (`expected_survivors`), from the
rule in the issue: latest last_sync_time (NULL oldest), then highest id, per natural key.
"""

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from breezeway.natural_keys import LEGACY_DERIVED_KEYS

BASE = datetime(2025, 6, 1, tzinfo=UTC)


def at(hours: int) -> datetime:
    return BASE + timedelta(hours=hours)


def build() -> dict[str, list[dict[str, Any]]]:
    """Table -> rows (legacy columns only), in insertion order."""
    photos = []
    for run in range(1, 6):
        for k in range(10):
            photos.append(
                {
                    "property_pk": 1 + k % 2,
                    "region_code": "nash",
                    "photo_id": str(k // 2),
                    "url": f"https://cdn.example.com/p/{k}.jpg",
                    "caption": "new" if (k == 0 and run == 5) else "Living room",
                    "is_default": k == 0,
                    "last_sync_time": at(run),
                }
            )
    # Property 2, photo "0", run 1 (id 2) was synced last: it beats higher ids.
    photos[1]["last_sync_time"] = at(100)
    # Property 1, photo "1", run 5 copy has no sync time: counts as oldest.
    photos[40 + 2]["last_sync_time"] = None
    photos += [
        {
            "property_pk": 1,
            "region_code": "nash",
            "photo_id": None,
            "url": "x1",
            "last_sync_time": None,
        },
        {
            "property_pk": 1,
            "region_code": "nash",
            "photo_id": None,
            "url": "x1",
            "last_sync_time": at(1),
        },
        {
            "property_pk": 1,
            "region_code": "nash",
            "photo_id": "  ",
            "url": "x2",
            "last_sync_time": None,
        },
    ]

    nfc = unicodedata.normalize("NFC", "Zoë@Example.com")
    nfd = unicodedata.normalize("NFD", "Zoë@Example.com")
    guests: list[dict[str, Any]] = []
    for run in range(1, 6):
        # The old loader wrote one all-NULL row per guest per run.
        guests += [{"reservation_pk": 1, "region_code": "nash", "last_sync_time": at(run)}] * 2
        guests += [{"reservation_pk": 2, "region_code": "nash", "last_sync_time": at(run)}]
    guests += [
        {
            "reservation_pk": 1,
            "region_code": "nash",
            "guest_email": "A@x.com ",
            "guest_name": "Ann",
            "last_sync_time": at(1),
        },
        {
            "reservation_pk": 1,
            "region_code": "nash",
            "guest_email": "a@x.com",
            "guest_name": "Ann B",
            "last_sync_time": at(2),
        },
        {
            "reservation_pk": 1,
            "region_code": "nash",
            "guest_email": None,
            "guest_name": "  Bob  Smith",
            "last_sync_time": at(1),
        },
        {
            "reservation_pk": 1,
            "region_code": "nash",
            "guest_email": "",
            "guest_name": "bob smith",
            "guest_phone": "+1 555",
            "last_sync_time": at(2),
        },
        {"reservation_pk": 2, "region_code": "nash", "guest_email": nfd, "last_sync_time": at(1)},
        {"reservation_pk": 2, "region_code": "nash", "guest_email": nfc, "last_sync_time": at(2)},
    ]

    requirements = []
    for run in range(1, 5):
        requirements.append(
            {
                "task_pk": 1,
                "region_code": "nash",
                "section_name": "Kitchen",
                "action": ["wipe", "dry"],
                "type_requirement": "checklist",
                "last_sync_time": at(run),
            }
        )
    for run, response in ((1, "check"), (2, "check"), (3, "fail")):
        requirements.append(
            {
                "task_pk": 1,
                "region_code": "nash",
                "requirement_id": "900",
                "section_name": "Bath",
                "action": ["scrub"],
                "response": response,
                "last_sync_time": at(run),
            }
        )
    for run in range(1, 3):
        requirements.append(
            {
                "task_pk": 2,
                "region_code": "nash",
                "section_name": "Kitchen",
                "action": ["wipe", "dry"],
                "last_sync_time": at(run),
            }
        )
        requirements.append(
            {
                "task_pk": 2,
                "region_code": "nash",
                "section_name": "Kitchen",
                "action": ["wipe"],
                "last_sync_time": at(run),
            }
        )

    assignments = []
    for run in range(1, 7):
        assignments.append(
            {
                "task_pk": 1,
                "region_code": "nash",
                "assignee_id": "",
                "assignee_name": "Maria Lopez",
                "assignment_status": "accepted",
                "last_sync_time": at(run),
            }
        )
    for run in range(7, 9):
        assignments.append(
            {
                "task_pk": 1,
                "region_code": "nash",
                "assignee_id": None,
                "assignee_name": "maria  lopez",
                "assignment_status": "accepted",
                "last_sync_time": at(run),
            }
        )
    for run, status in ((1, "accepted"), (2, "accepted"), (3, "accepted"), (4, "declined")):
        assignments.append(
            {
                "task_pk": 1,
                "region_code": "nash",
                "assignee_id": "",
                "assignee_name": "Joe",
                "assignment_status": status,
                "last_sync_time": at(run),
            }
        )

    task_photos = []
    for run in range(1, 5):
        for photo in ("1", "2"):
            task_photos.append(
                {
                    "task_pk": 1,
                    "region_code": "nash",
                    "photo_id": photo,
                    "url": f"t{photo}",
                    "last_sync_time": at(run),
                }
            )
    for run in range(1, 4):
        task_photos.append(
            {
                "task_pk": 2,
                "region_code": "nash",
                "photo_id": "1",
                "url": "t1",
                "last_sync_time": at(run),
            }
        )

    return {
        "regions": [{"region_code": "nash", "region_name": "Nashville", "company_id": 1}],
        "properties": [
            {"region_code": "nash", "property_id": "100"},
            {"region_code": "nash", "property_id": "101"},
        ],
        "reservations": [
            {"region_code": "nash", "reservation_id": "r1", "property_pk": 1},
            {"region_code": "nash", "reservation_id": "r2", "property_pk": 2},
        ],
        "tasks": [
            {"region_code": "nash", "task_id": "t1", "property_pk": 1},
            {"region_code": "nash", "task_id": "t2", "property_pk": 2},
        ],
        "tags": [{"region_code": "nash", "tag_id": "7", "tag_name": "VIP"}],
        "task_tags": [{"task_pk": 1, "tag_pk": 1, "region_code": "nash"}],
        "task_comments": [
            {"task_pk": 1, "region_code": "nash", "comment_id": "c1", "comment": "ok"}
        ],
        "property_photos": photos,
        "reservation_guests": guests,
        "task_requirements": requirements,
        "task_assignments": assignments,
        "task_photos": task_photos,
    }


CHILD_TABLES = {
    "property_photos": ("property_pk",),
    "reservation_guests": ("reservation_pk",),
    "task_requirements": ("task_pk",),
    "task_assignments": ("task_pk",),
    "task_photos": ("task_pk",),
}

EXPECTED_DISTINCT = {
    "property_photos": 12,
    "reservation_guests": 5,
    "task_requirements": 4,
    "task_assignments": 2,
    "task_photos": 3,
}
EXPECTED_ARCHIVED = {
    "property_photos": 1,
    "reservation_guests": 3,
    "task_requirements": 1,
    "task_assignments": 2,
    "task_photos": 0,
}


def insert_sql(table: str, row: dict[str, Any], placeholder: str = "%s") -> tuple[str, list]:
    columns = list(row)
    values = [json.dumps(v) if isinstance(v, list) else v for v in row.values()]
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"VALUES ({', '.join([placeholder] * len(columns))})"
    )
    return sql, values


def load(conn: Any, placeholder: str = "%s") -> None:
    """Insert the scenario through a DB-API connection (psycopg or sqlite3)."""
    cur = conn.cursor()
    for table, rows in build().items():
        for row in rows:
            cur.execute(*insert_sql(table, row, placeholder))
    conn.commit()


def natural_key(table: str, row: dict[str, Any]) -> tuple:
    derived = LEGACY_DERIVED_KEYS[table]
    parent = tuple(row[c] for c in CHILD_TABLES[table])
    return (*parent, derived.rule(*(row.get(s) for s in derived.sources)))


def expected_survivors(table: str) -> dict[tuple, int]:
    """Natural key -> id of the row that must be kept."""
    best: dict[tuple, tuple] = {}
    for row_id, row in enumerate(build()[table], start=1):
        ts = row.get("last_sync_time")
        rank = (ts is not None, ts or BASE, row_id)
        key = natural_key(table, row)
        if key not in best or rank > best[key]:
            best[key] = rank
    return {key: rank[2] for key, rank in best.items()}
