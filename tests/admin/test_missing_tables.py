"""Pages of a database not migrated yet (breezeway at 0002): a notice naming the migration."""

import pytest
from django.db import connection
from django.urls import reverse

from breezeway import models as m
from breezeway.admin.schema import table_creators
from etl.models import RejectedRecord, SyncRun

# The tables a database at breezeway 0002 lacks that these pages read, and who creates them.
LATER_TABLES = {
    "etl_rejected_records": "etl.0001_initial",
    "etl_sync_runs": "etl.0001_initial",
    "task_supplies": "breezeway.0005_sync_bookkeeping",
    "task_costs": "breezeway.0005_sync_bookkeeping",
}


def test_the_creating_migration_is_read_from_the_migration_files() -> None:
    creators = table_creators()
    for table, migration in LATER_TABLES.items():
        assert creators[table] == migration
    assert creators["regions"] == "breezeway.0001_initial"
    assert creators["dedup_snapshots"] == "dedup.0002_duplicate_snapshots"
    assert creators[RejectedRecord._meta.db_table] == "etl.0001_initial"  # from the model


def drop_later_tables() -> None:
    """Drop the tables later migrations create, inside the test's transaction (rolled back)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the pending FK checks first
        cursor.execute(f"DROP TABLE {', '.join(LATER_TABLES)}")


@pytest.fixture
def before_remediation(admin_test_region) -> None:
    drop_later_tables()


@pytest.mark.parametrize(
    ("model", "table"),
    [
        (SyncRun, "etl_sync_runs"),
        (RejectedRecord, "etl_rejected_records"),
        (m.TaskSupply, "task_supplies"),
        (m.TaskCost, "task_costs"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_a_page_whose_table_is_missing_names_the_migration(
    admin_client, before_remediation, model, table
) -> None:
    opts = model._meta
    for url in (
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[1]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'id="missing-table"' in html
        assert f"The table {table} does not exist" in html
        assert f"migration {LATER_TABLES[table]} creates it" in html


def test_regions_are_listed_without_their_sync_figures(
    admin_client, before_remediation, admin_test_region
) -> None:
    response = admin_client.get(reverse("admin:breezeway_region_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert ">adm-test</a>" in html
    assert "etl_sync_runs does not exist in this database yet: migration etl.0001_initial" in html
    assert "last successful sync" not in html.lower()
    assert "sync_now" not in html  # a sync records runs: not offered yet
    page = admin_client.get(reverse("admin:breezeway_region_change", args=["adm-test"]))
    assert page.status_code == 200
    assert "migration etl.0001_initial" in page.content.decode()


def test_a_task_page_says_which_children_it_cannot_show(admin_client, make_mirror_records) -> None:
    task = make_mirror_records(1)["tasks"][0]
    drop_later_tables()
    response = admin_client.get(reverse("admin:breezeway_task_change", args=[task.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not shown: The table task_costs does not exist" in html
    assert "migration breezeway.0005_sync_bookkeeping" in html
