"""The data admin: every model browsable and read-only, links, filters, paging, query counts."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from breezeway import models as m
from breezeway.admin.filters import column_values
from breezeway.admin.paging import EstimatedCountPaginator
from etl.models import RejectedRecord, SyncRun, WebhookEvent
from tests.support.mirror import synced_models

DATA_MODELS = synced_models()
OUR_APPS = ("breezeway", "etl")
SEARCH_KEYS = {
    m.Task: "task_id",
    m.Property: "property_id",
    m.Reservation: "reservation_id",
    m.ReservationGuest: "guest_email",
}


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def analyze(table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


@pytest.fixture
def every_record(make_mirror_records, admin_test_region) -> None:
    make_mirror_records(2)
    run = SyncRun.objects.create(
        region=admin_test_region, entity="tasks", started_at=timezone.now(), status="success"
    )
    RejectedRecord.objects.create(
        run=run, region=admin_test_region, entity="tasks", reason="no id", payload={"a": 1}
    )
    WebhookEvent.objects.create(
        region=admin_test_region, kind="tasks", event_type="task-updated", digest="d" * 64
    )


def registered_models() -> list:
    return [model for model in admin.site._registry if model._meta.app_label in OUR_APPS]


def test_every_model_is_registered_and_api_tokens_are_not() -> None:
    from etl.models import ApiToken

    models = set(registered_models())
    assert set(DATA_MODELS) | {m.Region, SyncRun, RejectedRecord, WebhookEvent} == models
    assert ApiToken not in admin.site._registry


def test_every_changelist_and_a_change_page_render(admin_client, every_record) -> None:
    for model in registered_models():
        response = admin_client.get(changelist(model))
        assert response.status_code == 200, model
        obj = model.objects.order_by("pk").first()
        assert admin_client.get(change(obj)).status_code == 200, model


def test_a_non_staff_user_is_sent_to_the_login_page(client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user("someone", password="x"))
    for model in (m.Task, m.Region, SyncRun):
        response = client.get(changelist(model))
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


@pytest.mark.parametrize("model", DATA_MODELS, ids=lambda model: model.__name__)
def test_mirrored_rows_cannot_be_added_changed_or_deleted(admin_client, every_record, model):
    obj = model.objects.order_by("pk").first()
    opts = model._meta
    page = admin_client.get(change(obj)).content.decode()
    assert 'type="submit"' not in page.split('id="content-main"')[1].split("</form>")[0]
    assert admin_client.post(change(obj), {}).status_code == 403
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    assert admin_client.get(add).status_code == 403
    delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
    assert admin_client.get(delete).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_the_viewer_group_holds_only_view_permissions(db) -> None:
    group = Group.objects.get(name="viewer")
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert codenames, "the migration gave the group no permission"
    assert all(code.startswith("view_") for _, code in codenames)
    for app in ("breezeway", "etl", "dedup"):
        models = [model for model in admin.site._registry if model._meta.app_label == app]
        for model in models + [m.Task, m.PropertyPhoto] * (app == "breezeway"):
            assert (app, f"view_{model._meta.model_name}") in codenames
    assert ("etl", "view_apitoken") in codenames  # a view permission, yet no admin page


def test_a_viewer_can_look_but_not_change(viewer_client, every_record, admin_test_region):
    for model in registered_models():
        assert viewer_client.get(changelist(model)).status_code == 200, model
    region_page = change(admin_test_region)
    assert viewer_client.get(region_page).status_code == 200
    data = {"name": "Renamed", "company_id": 1, "is_active": "on"}
    assert viewer_client.post(region_page, data).status_code == 403
    assert viewer_client.get(reverse("admin:breezeway_region_add")).status_code == 403
    admin_test_region.refresh_from_db()
    assert admin_test_region.name == "Admin test"


def test_a_task_links_to_its_property_and_reservation_and_shows_its_children(
    admin_client, make_mirror_records
) -> None:
    records = make_mirror_records(1)
    task, prop, reservation = (
        records["tasks"][0],
        records["properties"][0],
        records["reservations"][0],
    )
    for html in (
        admin_client.get(changelist(m.Task)).content.decode(),
        admin_client.get(change(task)).content.decode(),
    ):
        assert f'href="{change(prop)}"' in html
        assert f'href="{change(reservation)}"' in html
    page = admin_client.get(change(task)).content.decode()
    for child in (
        m.TaskAssignment,
        m.TaskPhoto,
        m.TaskRequirement,
        m.TaskTag,
        m.TaskComment,
        m.TaskSupply,
        m.TaskCost,
    ):
        row = child.objects.get(task=task)
        assert f'href="{change(row)}"' in page, child  # each inline row links to its page
    # ... and each child's changelist links back to the task.
    html = admin_client.get(changelist(m.TaskPhoto)).content.decode()
    assert f'href="{change(task)}"' in html


def test_a_property_shows_its_photos_and_links_to_its_tasks_and_reservations(
    admin_client, make_mirror_records
) -> None:
    prop = make_mirror_records(1)["properties"][0]
    html = admin_client.get(change(prop)).content.decode()
    photo = m.PropertyPhoto.objects.get(property=prop)
    assert f'href="{change(photo)}"' in html
    assert f"{changelist(m.Task)}?property__id__exact={prop.pk}" in html
    tasks = admin_client.get(f"{changelist(m.Task)}?property__id__exact={prop.pk}")
    assert tasks.context["cl"].result_count == 1
    guest_list = admin_client.get(changelist(m.ReservationGuest)).content.decode()
    assert f'href="{change(m.Reservation.objects.get(property=prop))}"' in guest_list


def test_soft_deleted_parents_are_shown_and_filterable(admin_client, make_mirror_records) -> None:
    make_mirror_records(3)
    m.Task.objects.filter(task_id="T1").update(deleted_at=timezone.now())

    def task_ids(query: str) -> set[str]:
        response = admin_client.get(changelist(m.Task) + query)
        return {task.task_id for task in response.context["cl"].result_list}

    assert task_ids("") == {"T0", "T1", "T2"}
    assert task_ids("?deleted=yes") == {"T1"}
    assert task_ids("?deleted=no") == {"T0", "T2"}


@pytest.mark.parametrize(
    ("model", "term", "expected"),
    [
        (m.Task, "T3", {"T3"}),
        (m.Task, "Clean 4", {"T4"}),
        (m.Task, "P2", {"T2"}),  # home id
        (m.Property, "REF-P1", {"P1"}),
        (m.Property, "villa 3", {"P3"}),
        (m.Reservation, "REF-R2", {"R2"}),
        (m.Reservation, "R0", {"R0"}),
        (m.ReservationGuest, "guest4@example", {"guest4@example.com"}),
    ],
)
def test_search_by_names_and_external_ids(admin_client, make_mirror_records, model, term, expected):
    make_mirror_records(5)
    response = admin_client.get(changelist(model), {"q": term})
    key = SEARCH_KEYS[model]
    assert {getattr(obj, key) for obj in response.context["cl"].result_list} == expected


def test_a_status_filter_lists_the_values_of_a_small_table(admin_client, make_mirror_records):
    make_mirror_records(4)
    assert column_values(m.Property, "property_status") == ["active", "inactive"]
    response = admin_client.get(changelist(m.Property), {"property_status": "inactive"})
    assert {p.property_id for p in response.context["cl"].result_list} == {"P0", "P2"}


def test_a_big_table_takes_its_status_values_from_the_statistics(
    make_mirror_records, monkeypatch
) -> None:
    make_mirror_records(40)
    analyze("tasks")
    try:
        monkeypatch.setattr("breezeway.admin.paging.EXACT_COUNT_BELOW", 10)  # 40 rows: "big"
        with CaptureQueriesContext(connection) as queries:
            assert column_values(m.Task, "task_status") == ["finished"]
        assert not [q for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    finally:
        m.Task.objects.all().delete()
        analyze("tasks")  # statistics are not rolled back with the test's transaction


# --- paging and query counts -------------------------------------------------------------------


def test_a_big_unfiltered_table_is_not_counted(admin_client, admin_test_region) -> None:
    prop = m.Property.objects.create(region=admin_test_region, property_id="big")
    rows = 10_200
    m.PropertyPhoto.objects.bulk_create(
        m.PropertyPhoto(property=prop, region=admin_test_region, photo_id=str(i), photo_key=str(i))
        for i in range(rows)
    )
    analyze("property_photos")
    try:
        # Rows deleted after ANALYZE: the statistics still say 10,200, a COUNT(*) would say 10,000.
        m.PropertyPhoto.objects.filter(pk__in=m.PropertyPhoto.objects.order_by("pk")[:200]).delete()
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(changelist(m.PropertyPhoto))
        counts = [
            q["sql"]
            for q in queries.captured_queries
            if "COUNT(" in q["sql"].upper() and "property_photos" in q["sql"]
        ]
        assert counts == []
        html = response.content.decode()
        assert "_facets" not in html  # facet counts would COUNT(*) per filter choice
        cl = response.context["cl"]
        assert cl.result_count == rows and cl.paginator.estimated
        assert len(cl.result_list) == cl.list_per_page
        assert "about 10,200</span> property photos" in html

        # Filtered: a count capped at 10,000 rows, then the planner's estimate of the query.
        # (Django shows, and applies, a region filter only when there are several regions.)
        m.Region.objects.create(code="adm-other", name="Other", company_id=98)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(
                changelist(m.PropertyPhoto), {"region__code__exact": admin_test_region.code}
            )
        counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
        assert counts and all("LIMIT 10000" in sql for sql in counts)
        assert any("EXPLAIN" in q["sql"] for q in queries.captured_queries)
        assert response.context["cl"].paginator.estimated
        assert response.context["cl"].result_count >= 10_000

        # A small filtered result is counted exactly.
        response = admin_client.get(changelist(m.PropertyPhoto), {"q": "4711"})
        assert response.context["cl"].result_count == 1
        assert not response.context["cl"].paginator.estimated
    finally:
        m.PropertyPhoto.objects.all().delete()
        analyze("property_photos")  # statistics are not rolled back with the test's transaction


def test_a_small_or_unanalyzed_table_is_counted_exactly(make_mirror_records) -> None:
    make_mirror_records(30)
    paginator = EstimatedCountPaginator(m.Task.objects.order_by("-id"), 100)
    assert paginator.count == 30
    assert not paginator.estimated


@pytest.mark.parametrize("model", DATA_MODELS, ids=lambda model: model.__name__)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, make_mirror_records, django_assert_max_num_queries, model
) -> None:
    make_mirror_records(5)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(changelist(model)).status_code == 200
    assert len(few) <= 12, [q["sql"] for q in few.captured_queries]
    make_mirror_records(45, start=5)
    with django_assert_max_num_queries(len(few)):
        response = admin_client.get(changelist(model))
    assert response.context["cl"].result_count == 50


def test_task_page_queries_do_not_grow_with_children(
    admin_client, admin_test_region, make_mirror_records, django_assert_max_num_queries
) -> None:
    task = make_mirror_records(1)["tasks"][0]
    tag = m.Tag.objects.get(tag_id="TG0")

    def add_children(start: int, n: int) -> None:
        for model, key in (
            (m.TaskAssignment, "assignee_key"),
            (m.TaskPhoto, "photo_key"),
            (m.TaskRequirement, "requirement_key"),
            (m.TaskSupply, "usage_key"),
            (m.TaskCost, "cost_key"),
            (m.TaskComment, "comment_id"),
        ):
            model.objects.bulk_create(
                model(task=task, region=admin_test_region, **{key: f"extra{i}"})
                for i in range(start, start + n)
            )
        tags = m.Tag.objects.bulk_create(
            m.Tag(region=admin_test_region, tag_id=f"extra{i}") for i in range(start, start + n)
        )
        m.TaskTag.objects.bulk_create(
            m.TaskTag(task=task, region=admin_test_region, tag=t) for t in tags
        )

    add_children(0, 4)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(change(task)).status_code == 200
    add_children(4, 45)
    with django_assert_max_num_queries(len(few)):
        response = admin_client.get(change(task))
    inlines = response.context["inline_admin_formsets"]
    assert [len(list(inline)) for inline in inlines] == [50] * 7  # 1 + 4 + 45 of each kind
    assert tag.tag_name in response.content.decode()


def test_a_parent_page_shows_its_first_children_only(admin_client, admin_test_region) -> None:
    from breezeway.admin.base import INLINE_ROWS

    prop = m.Property.objects.create(region=admin_test_region, property_id="many-photos")
    m.PropertyPhoto.objects.bulk_create(
        m.PropertyPhoto(
            property=prop, region=admin_test_region, photo_id=f"p{i}", photo_key=f"p{i}"
        )
        for i in range(INLINE_ROWS + 30)
    )
    html = admin_client.get(f"/admin/breezeway/property/{prop.pk}/change/").content.decode()
    shown = {f"p{i}" for i in range(INLINE_ROWS + 30) if f">p{i}<" in html}
    assert len(shown) == INLINE_ROWS


def test_a_task_page_works_before_the_supplies_and_costs_tables_exist(
    admin_client, make_mirror_records
) -> None:
    from django.db import connection

    task = make_mirror_records(1)["tasks"][0]
    with connection.cursor() as cur:  # as on a database adopted but not remediated yet
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the pending FK checks first
        cur.execute("DROP TABLE task_supplies, task_costs")
    response = admin_client.get(f"/admin/breezeway/task/{task.pk}/change/")
    assert response.status_code == 200


# --- issue 11 ------------------------------------------------------------------------------------


def test_the_task_list_shows_the_status_the_sync_stores(admin_client, make_mirror_records):
    tasks = make_mirror_records(3)["tasks"]
    # As the sync stores them: type_task_status filled, the legacy column NULL ...
    m.Task.objects.filter(pk=tasks[0].pk).update(
        task_status=None,
        task_status_code="in_progress",
        task_status_name="In progress",
        task_status_stage="in_progress",
    )
    m.Task.objects.filter(pk=tasks[1].pk).update(
        task_status=None, task_status_code="approved", task_status_name="Approved"
    )
    # ... and as the old loader did: a legacy status only ("finished", from the fixture).
    response = admin_client.get(changelist(m.Task))
    html = response.content.decode()
    assert ">In progress</span>" in html and ">Approved</span>" in html
    spec = next(s for s in response.context["cl"].filter_specs if s.title == "status")
    assert list(spec.lookup_choices) == [
        ("approved", "Approved"),
        ("in_progress", "In progress"),
        ("finished", "finished (legacy)"),
    ]

    def task_ids(status: str) -> set[str]:
        response = admin_client.get(changelist(m.Task), {"status": status})
        return {task.task_id for task in response.context["cl"].result_list}

    assert task_ids("in_progress") == {"T0"}
    assert task_ids("finished") == {"T2"}


def test_an_inline_says_how_many_children_there_are_and_links_to_them(
    admin_client, admin_test_region, monkeypatch
) -> None:
    from breezeway.admin.base import INLINE_ROWS

    prop = m.Property.objects.create(region=admin_test_region, property_id="many-photos")
    m.PropertyPhoto.objects.bulk_create(
        m.PropertyPhoto(
            property=prop, region=admin_test_region, photo_id=f"p{i}", photo_key=f"p{i}"
        )
        for i in range(INLINE_ROWS + 30)
    )
    html = admin_client.get(change(prop)).content.decode()
    assert f"Showing {INLINE_ROWS} of {INLINE_ROWS + 30} property photos." in html
    url = f"{changelist(m.PropertyPhoto)}?property__id__exact={prop.pk}"
    assert f'href="{url}"' in html
    assert admin_client.get(url).context["cl"].result_count == INLINE_ROWS + 30
    # Counting stops at a bound; past it, the planner's estimate.
    monkeypatch.setattr("breezeway.admin.base.INLINE_COUNT_CAP", INLINE_ROWS + 10)
    with CaptureQueriesContext(connection) as queries:
        html = admin_client.get(change(prop)).content.decode()
    assert f"Showing {INLINE_ROWS} of about " in html
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    photo_counts = [sql for sql in counts if "property_photos" in sql]
    assert photo_counts and all(f"LIMIT {INLINE_ROWS + 10}" in sql for sql in photo_counts)
    # A parent with fewer children says nothing more, and counts nothing.
    other = make_property_with_photos(admin_test_region, "few-photos", 3)
    with CaptureQueriesContext(connection) as queries:
        html = admin_client.get(change(other)).content.decode()
    assert "Showing" not in html
    assert not [
        q for q in queries.captured_queries if "COUNT(" in q["sql"] and "photos" in q["sql"]
    ]


def make_property_with_photos(region: m.Region, property_id: str, n: int) -> m.Property:
    prop = m.Property.objects.create(region=region, property_id=property_id)
    m.PropertyPhoto.objects.bulk_create(
        m.PropertyPhoto(property=prop, region=region, photo_id=f"x{i}", photo_key=f"x{i}")
        for i in range(n)
    )
    return prop


def unsortable_columns() -> list:
    """(admin, index of a list_display column with an ordering but outside sortable_by)."""
    cases = []
    for model, model_admin in admin.site._registry.items():
        if model_admin.sortable_by is None:
            continue
        for index, name in enumerate(model_admin.list_display):
            if name in model_admin.sortable_by:
                continue
            field = next((f for f in model._meta.concrete_fields if f.name == name), None)
            ordering = getattr(getattr(model_admin, name, None), "admin_order_field", None)
            if field is not None or ordering:
                cases.append(pytest.param(model, index, id=f"{model.__name__}-{name}"))
                break
    return cases


@pytest.mark.parametrize(("model", "index"), unsortable_columns())
def test_ordering_by_a_column_outside_sortable_by_is_ignored(
    admin_client, every_record, model, index
) -> None:
    default = admin_client.get(changelist(model)).context["cl"].queryset.query.order_by
    for o in (str(index), f"-{index}", f"0.{index}"):
        cl = admin_client.get(changelist(model), {"o": o}).context["cl"]
        name = admin.site._registry[model].list_display[index]
        assert name not in str(cl.queryset.query.order_by), o
        if o != f"0.{index}":
            assert cl.queryset.query.order_by == default, o


def test_every_admin_shares_the_base(db) -> None:
    from breezeway.admin.base import AdminBase

    ours = [
        a for m_, a in admin.site._registry.items() if m_._meta.app_label in (*OUR_APPS, "dedup")
    ]
    assert ours and all(isinstance(model_admin, AdminBase) for model_admin in ours)


def test_requirements_supplies_and_report_urls_read_well(
    admin_client, make_mirror_records, admin_test_region
) -> None:
    task = make_mirror_records(1)["tasks"][0]
    requirement = m.TaskRequirement.objects.get(task=task)
    requirement.action = ["Clean", "Check"]
    requirement.save()
    supply = m.TaskSupply.objects.get(task=task)
    supply.quantity, supply.markup_rate = Decimal("2"), Decimal("0.1500")
    supply.save()
    m.TaskSupply.objects.create(
        task=task, region=admin_test_region, usage_key="half", quantity=Decimal("2.5")
    )
    m.Task.objects.filter(pk=task.pk).update(report_url="https://app.breezeway.io/report/7?x=1")
    task_page = admin_client.get(change(task)).content.decode()
    assert "Clean, Check" in task_page and "[&quot;Clean&quot;" not in task_page
    flat = " ".join(task_page.split())
    assert '<td class="field-quantity_shown"> <p>2</p>' in flat
    assert '<td class="field-quantity_shown"> <p>2.5</p>' in flat
    assert "2.0000" not in task_page and "2.5000" not in task_page
    assert (
        '<a href="https://app.breezeway.io/report/7?x=1" rel="noopener noreferrer" '
        'target="_blank">https://app.breezeway.io/report/7?x=1</a>'
    ) in task_page
    for page in (change(requirement), change(supply), changelist(m.TaskSupply)):
        html = admin_client.get(page).content.decode()
        assert "2.0000" not in html and "[&quot;Clean&quot;" not in html, page
    assert "Clean, Check" in admin_client.get(change(requirement)).content.decode()
    assert "0.15" in admin_client.get(change(supply)).content.decode()
    # Only http(s) becomes a link.
    m.Task.objects.filter(pk=task.pk).update(report_url="javascript:alert(1)")
    html = admin_client.get(change(task)).content.decode()
    assert 'href="javascript:' not in html and "javascript:alert(1)" in html


def test_datetimes_name_their_time_zone_and_view_site_is_gone(
    admin_client, make_mirror_records, admin_test_region
) -> None:
    task = make_mirror_records(1)["tasks"][0]
    when = timezone.now().replace(second=7, microsecond=0)
    m.Task.objects.filter(pk=task.pk).update(finished_at=when, last_sync_time=when)
    SyncRun.objects.create(
        region=admin_test_region, entity="tasks", started_at=when, status="success"
    )
    local = timezone.localtime(when)
    listed = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    html = admin_client.get(changelist(SyncRun)).content.decode()
    assert listed in html
    html = admin_client.get(change(task)).content.decode()
    assert f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}" in html  # finished_at, to the second
    assert listed in admin_client.get(changelist(m.Property)).content.decode()  # last_sync_time
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert "View site" not in index
