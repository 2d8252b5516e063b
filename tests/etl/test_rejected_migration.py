"""etl 0003/0004 on a database that already kept a row per rejection per run."""

from tests.support.scratch import ScratchDatabase


def test_existing_rejections_are_grouped_by_payload(scratch_db: ScratchDatabase) -> None:
    scratch_db.manage("migrate", "etl", "0002")
    with scratch_db.connect() as conn:
        conn.execute(
            "INSERT INTO regions (region_code, region_name, company_id) VALUES ('sim1', 'S', 1)"
        )
        run = conn.execute(
            "INSERT INTO etl_sync_runs (region_id, entity, started_at, status, child_policy, "
            "fetched, inserted, updated, unchanged, deleted, rejected, api_calls, retries, "
            "details, error) VALUES ('sim1', 'tasks', now(), 'success', '', 0, 0, 0, 0, 0, "
            "0, 0, 0, '{}', '') RETURNING id"
        ).fetchone()[0]
        # Six runs' worth: the same two bad payloads three times each, and one other.
        for day, (record_id, payload) in enumerate(
            [("7", '{"id": 7}'), ("8", '{"id": 8, "x": 1}')] * 3 + [("7", '{"id": 7, "y": 2}')]
        ):
            conn.execute(
                "INSERT INTO etl_rejected_records (run_id, region_id, entity, record_id, reason, "
                "payload, created_at) VALUES (%s, 'sim1', 'tasks', %s, 'bad', %s, "
                "timestamp '2026-01-01' + %s * interval '1 day')",
                [run, record_id, payload, day],
            )
    scratch_db.manage("migrate", "etl")
    with scratch_db.connect() as conn:
        rows = conn.execute(
            "SELECT record_id, times_seen, first_seen_at::date, last_seen_at::date "
            "FROM etl_rejected_records ORDER BY record_id, times_seen"
        ).fetchall()
    assert [(r[0], r[1], str(r[2]), str(r[3])) for r in rows] == [
        ("7", 1, "2026-01-07", "2026-01-07"),
        ("7", 3, "2026-01-01", "2026-01-05"),
        ("8", 3, "2026-01-02", "2026-01-06"),
    ]
