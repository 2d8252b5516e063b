"""Fixtures for admin tests: mirrored records of every model, and a viewer-group client."""

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from breezeway import models as m


def build_mirror_records(region: m.Region, n: int, start: int = 0) -> dict[str, list]:
    """`n` records of every mirrored model in `region` (ids from `start`), each parent with one
    child of each kind, so every changelist and inline has rows; by bulk_create, for speed."""
    ids = range(start, start + n)
    props = m.Property.objects.bulk_create(
        m.Property(
            region=region,
            property_id=f"P{i}",
            property_name=f"Villa {i}",
            property_status="active" if i % 2 else "inactive",
            reference_property_id=f"REF-P{i}",
        )
        for i in ids
    )
    m.PropertyPhoto.objects.bulk_create(
        m.PropertyPhoto(
            property=p, region=region, photo_id=f"PH{i}", photo_key=f"PH{i}", url="https://x/1"
        )
        for i, p in zip(ids, props, strict=True)
    )
    reservations = m.Reservation.objects.bulk_create(
        m.Reservation(
            region=region,
            reservation_id=f"R{i}",
            property=p,
            breezeway_property_id=p.property_id,
            reservation_status="confirmed",
            checkin_date=date(2026, 1, 1) + timedelta(days=i),
            reference_reservation_id=f"REF-R{i}",
        )
        for i, p in zip(ids, props, strict=True)
    )
    m.ReservationGuest.objects.bulk_create(
        m.ReservationGuest(
            reservation=r,
            region=region,
            guest_key=f"guest{i}@example.com",
            guest_name=f"Guest {i}",
            guest_email=f"guest{i}@example.com",
        )
        for i, r in zip(ids, reservations, strict=True)
    )
    m.Person.objects.bulk_create(
        m.Person(region=region, person_id=f"PE{i}", person_name=f"Cleaner {i}") for i in ids
    )
    m.Supply.objects.bulk_create(
        m.Supply(region=region, supply_id=f"S{i}", supply_name=f"Soap {i}") for i in ids
    )
    tags = m.Tag.objects.bulk_create(
        m.Tag(region=region, tag_id=f"TG{i}", tag_name=f"Tag {i}") for i in ids
    )
    tasks = m.Task.objects.bulk_create(
        m.Task(
            region=region,
            task_id=f"T{i}",
            home_id=p.property_id,
            property=p,
            reservation=r,
            task_name=f"Clean {i}",
            task_status="finished",
            type_department="housekeeping",
            scheduled_date=date(2026, 1, 1) + timedelta(days=i),
        )
        for i, p, r in zip(ids, props, reservations, strict=True)
    )
    pairs = list(zip(ids, tasks, strict=True))
    m.TaskAssignment.objects.bulk_create(
        m.TaskAssignment(
            task=t, region=region, assignee_id=f"PE{i}", assignee_key=f"PE{i}", assignee_name="A"
        )
        for i, t in pairs
    )
    m.TaskPhoto.objects.bulk_create(
        m.TaskPhoto(task=t, region=region, photo_id=f"TP{i}", photo_key=f"TP{i}") for i, t in pairs
    )
    m.TaskRequirement.objects.bulk_create(
        m.TaskRequirement(
            task=t, region=region, requirement_key=f"RQ{i}", section_name="Kitchen", action=["x"]
        )
        for i, t in pairs
    )
    m.TaskTag.objects.bulk_create(
        m.TaskTag(task=t, region=region, tag=tag) for (_, t), tag in zip(pairs, tags, strict=True)
    )
    m.TaskComment.objects.bulk_create(
        m.TaskComment(task=t, region=region, comment_id=f"C{i}", comment="ok") for i, t in pairs
    )
    m.TaskSupply.objects.bulk_create(
        m.TaskSupply(task=t, region=region, usage_key=f"U{i}", name="Soap") for i, t in pairs
    )
    m.TaskCost.objects.bulk_create(
        m.TaskCost(task=t, region=region, cost_key=f"K{i}", cost=10) for i, t in pairs
    )
    return {"properties": props, "reservations": reservations, "tasks": tasks, "tags": tags}


@pytest.fixture
def admin_test_region(db) -> m.Region:
    """A region of its own for admin tests (no credentials in the environment)."""
    return m.Region.objects.create(code="adm-test", name="Admin test", company_id=99)


@pytest.fixture
def make_mirror_records(admin_test_region) -> Callable[..., dict[str, list]]:
    """make_mirror_records(n, start=0): n records of every mirrored model in admin_test_region."""

    def make(n: int, start: int = 0) -> dict[str, list]:
        return build_mirror_records(admin_test_region, n, start)

    return make


@pytest.fixture
def viewer_client(db, django_user_model) -> Client:
    """A logged-in staff user whose only permissions come from the "viewer" group."""
    user = django_user_model.objects.create_user("viewer-user", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(user)
    return client
