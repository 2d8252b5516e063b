"""The mirrored Breezeway data: one model per table of the legacy schema, plus later ones."""

from breezeway.models.properties import Property, PropertyPhoto
from breezeway.models.reference import Person, Supply, Tag
from breezeway.models.regions import Region
from breezeway.models.reservations import Reservation, ReservationGuest
from breezeway.models.tasks import (
    Task,
    TaskAssignment,
    TaskComment,
    TaskCost,
    TaskPhoto,
    TaskRequirement,
    TaskSupply,
    TaskTag,
)

__all__ = [
    "Person",
    "Property",
    "PropertyPhoto",
    "Region",
    "Reservation",
    "ReservationGuest",
    "Supply",
    "Tag",
    "Task",
    "TaskAssignment",
    "TaskComment",
    "TaskCost",
    "TaskPhoto",
    "TaskRequirement",
    "TaskSupply",
    "TaskTag",
]
