"""Tasks and what hangs off them: assignments, photos, requirements, tags, comments, costs."""

from django.db import models

from breezeway.keys import NaturalKey
from breezeway.models.bases import DbNow, SoftDeleted, Synced
from breezeway.models.properties import Property
from breezeway.models.reference import Tag
from breezeway.models.regions import Region
from breezeway.models.reservations import Reservation
from breezeway.natural_keys import LEGACY_DERIVED_KEYS


class Task(Synced, SoftDeleted):
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, db_column="region_code", db_index=False
    )
    task_id = models.CharField(max_length=64)
    home_id = models.CharField(max_length=64, null=True, blank=True)
    property = models.ForeignKey(
        Property,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_column="property_pk",
        db_index=False,
        related_name="tasks",
    )
    reservation = models.ForeignKey(
        Reservation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_column="reservation_pk",
        db_index=False,
        related_name="tasks",
    )
    task_name = models.TextField(null=True, blank=True)
    task_description = models.TextField(null=True, blank=True)
    task_status = models.CharField(max_length=64, null=True, blank=True)
    task_status_code = models.CharField(max_length=64, null=True, blank=True)
    task_status_name = models.CharField(max_length=128, null=True, blank=True)
    task_status_stage = models.CharField(max_length=64, null=True, blank=True)
    type_department = models.CharField(max_length=64, null=True, blank=True)
    type_priority = models.CharField(max_length=64, null=True, blank=True)
    scheduled_date = models.DateField(null=True, blank=True)
    scheduled_time = models.TimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    paused = models.BooleanField(null=True, blank=True)
    template_task_id = models.CharField(max_length=64, null=True, blank=True)
    template_name = models.TextField(null=True, blank=True)
    report_url = models.TextField(null=True, blank=True)
    reference_property_id = models.CharField(max_length=128, null=True, blank=True)
    bill_to = models.CharField(max_length=64, null=True, blank=True)
    rate_type = models.CharField(max_length=64, null=True, blank=True)
    rate_paid = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    total_cost = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    total_time = models.CharField(max_length=64, null=True, blank=True)
    estimated_time = models.CharField(max_length=64, null=True, blank=True)
    estimated_rate = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    billable = models.BooleanField(null=True, blank=True)
    itemized_cost = models.BooleanField(null=True, blank=True)
    task_series_id = models.CharField(max_length=64, null=True, blank=True)
    parent_task_id = models.CharField(max_length=64, null=True, blank=True)
    created_by_id = models.CharField(max_length=64, null=True, blank=True)
    created_by_name = models.TextField(null=True, blank=True)
    finished_by_id = models.CharField(max_length=64, null=True, blank=True)
    finished_by_name = models.TextField(null=True, blank=True)
    requested_by_id = models.CharField(max_length=64, null=True, blank=True)
    requested_by_name = models.TextField(null=True, blank=True)
    subdepartment_id = models.CharField(max_length=64, null=True, blank=True)
    subdepartment_name = models.TextField(null=True, blank=True)
    summary_note = models.TextField(null=True, blank=True)
    linked_reservation_id = models.CharField(max_length=64, null=True, blank=True)
    linked_reservation_external_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())
    # False once a complete listing of the task's property no longer showed it although
    # GET /task/{id} still answered: the API hides some tasks from the list (reference §8.1).
    listed = models.BooleanField(db_default=True, editable=False)
    # The task's updated_at when its requirements and comments were last fetched completely;
    # the child-fetch policy compares it with the listed updated_at.
    children_synced_for = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "tasks"
        indexes = [
            models.Index(fields=["property"], name="idx_tasks_property_pk"),
            models.Index(fields=["reservation"], name="idx_tasks_reservation_pk"),
        ]
        constraints = [
            NaturalKey(fields=["task_id", "region"], name="unique_task_region"),
        ]

    def __str__(self) -> str:
        return f"{self.task_name or 'task'} #{self.task_id} [{self.region_id}]"


class TaskChild(Synced):
    """Columns every task child table shares: the task, its region, the sync time."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, db_column="task_pk", db_index=False)
    region = models.ForeignKey(
        Region, on_delete=models.CASCADE, db_column="region_code", db_index=False, related_name="+"
    )

    class Meta:
        abstract = True


class TaskAssignment(TaskChild):
    assignee_id = models.CharField(max_length=64, null=True, blank=True)
    # Derived key (breezeway.natural_keys.assignee_key): the assignee id, else the name.
    assignee_key = models.CharField(max_length=255)
    assignee_name = models.TextField(null=True, blank=True)
    assignment_status = models.CharField(max_length=64, null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "task_assignments"
        default_related_name = "assignments"
        indexes = [models.Index(fields=["task"], name="idx_task_assignments_task_pk")]
        constraints = [
            NaturalKey(
                fields=["task", "assignee_key"],
                name="uq_task_assignments_natural_key",
                derived=LEGACY_DERIVED_KEYS["task_assignments"],
            )
        ]

    def __str__(self) -> str:
        return self.assignee_name or self.assignee_id or "assignment"


class TaskPhoto(TaskChild):
    photo_id = models.CharField(max_length=64, null=True, blank=True)
    # Derived key (breezeway.natural_keys.photo_key): the photo id, else a hash of the URL.
    photo_key = models.CharField(max_length=64)
    url = models.TextField(null=True, blank=True)
    caption = models.TextField(null=True, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "task_photos"
        default_related_name = "photos"
        indexes = [models.Index(fields=["task"], name="idx_task_photos_task_pk")]
        constraints = [
            NaturalKey(
                fields=["task", "photo_key"],
                name="uq_task_photos_natural_key",
                derived=LEGACY_DERIVED_KEYS["task_photos"],
            )
        ]

    def __str__(self) -> str:
        return f"photo {self.photo_id} of task #{self.task_id}"


class TaskRequirement(TaskChild):
    requirement_id = models.CharField(max_length=64, null=True, blank=True)
    # Derived key (breezeway.natural_keys.requirement_key): the id, else a content hash.
    requirement_key = models.CharField(max_length=255)
    section_name = models.TextField(null=True, blank=True)
    action = models.JSONField(null=True, blank=True)
    response = models.TextField(null=True, blank=True)
    type_requirement = models.CharField(max_length=64, null=True, blank=True)
    photo_required = models.BooleanField(null=True, blank=True)
    photos = models.JSONField(null=True, blank=True)
    note = models.TextField(null=True, blank=True)
    home_element_name = models.TextField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "task_requirements"
        default_related_name = "requirements"
        indexes = [models.Index(fields=["task"], name="idx_task_requirements_task_pk")]
        constraints = [
            NaturalKey(
                fields=["task", "requirement_key"],
                name="uq_task_requirements_natural_key",
                derived=LEGACY_DERIVED_KEYS["task_requirements"],
            )
        ]

    def __str__(self) -> str:
        return self.section_name or "requirement"


class TaskTag(TaskChild):
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, db_column="tag_pk", db_index=False)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "task_tags"
        default_related_name = "task_tags"
        constraints = [NaturalKey(fields=["task", "tag"], name="uq_task_tags")]

    def __str__(self) -> str:
        return f"tag {self.tag_id} on task #{self.task_id}"


class TaskComment(TaskChild):
    comment_id = models.CharField(max_length=64)
    comment = models.TextField(null=True, blank=True)
    author_id = models.CharField(max_length=64, null=True, blank=True)
    author_name = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "task_comments"
        default_related_name = "comments"
        # The loader replaces a task's comments and the admin shows them per task.
        indexes = [models.Index(fields=["task"], name="idx_task_comments_task_pk")]
        # The legacy key: comment ids are unique within a region.
        constraints = [
            NaturalKey(fields=["comment_id", "region"], name="uq_task_comment_natural_key")
        ]

    def __str__(self) -> str:
        return f"comment {self.comment_id} on task #{self.task_id}"


class TaskSupply(TaskChild):
    """A supply used on a task (`supplies[]` of a task): a usage record, not the catalogue."""

    usage_id = models.CharField(max_length=64, null=True, blank=True)
    # Derived key (breezeway.natural_keys.usage_key): the usage id, else a hash of what it uses.
    usage_key = models.CharField(max_length=255)
    supply_id = models.CharField(max_length=64, null=True, blank=True)
    name = models.TextField(null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    size = models.TextField(null=True, blank=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    unit_cost = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    total_price = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    bill_to = models.CharField(max_length=64, null=True, blank=True)
    billable = models.BooleanField(null=True, blank=True)
    markup_pricing_type = models.CharField(max_length=64, null=True, blank=True)
    markup_rate = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "task_supplies"
        default_related_name = "supplies"
        verbose_name_plural = "task supplies"
        indexes = [models.Index(fields=["task"], name="idx_task_supplies_task_pk")]
        constraints = [
            NaturalKey(fields=["task", "usage_key"], name="uq_task_supplies_natural_key")
        ]

    def __str__(self) -> str:
        return self.name or f"supply {self.supply_id}"


class TaskCost(TaskChild):
    """A cost line of a task (`costs[]` of a task)."""

    cost_id = models.CharField(max_length=64, null=True, blank=True)
    # Derived key (breezeway.natural_keys.cost_key): the cost id, else a hash of its identity.
    cost_key = models.CharField(max_length=255)
    cost = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    bill_to = models.CharField(max_length=64, null=True, blank=True)
    type_cost_id = models.CharField(max_length=64, null=True, blank=True)
    type_cost_code = models.CharField(max_length=64, null=True, blank=True)
    type_cost_name = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    last_sync_time = models.DateTimeField(null=True, blank=True, db_default=DbNow())

    class Meta:
        db_table = "task_costs"
        default_related_name = "costs"
        indexes = [models.Index(fields=["task"], name="idx_task_costs_task_pk")]
        constraints = [NaturalKey(fields=["task", "cost_key"], name="uq_task_costs_natural_key")]

    def __str__(self) -> str:
        return f"cost {self.cost} on task #{self.task_id}"
