"""One builder per legacy table; build_dataset runs them in the order their random draws need."""

from legacy_fixture.builders.people import build_people
from legacy_fixture.builders.properties import build_properties
from legacy_fixture.builders.property_photos import build_property_photos
from legacy_fixture.builders.regions import build_regions
from legacy_fixture.builders.reservation_guests import build_reservation_guests
from legacy_fixture.builders.reservations import build_reservations
from legacy_fixture.builders.supplies import build_supplies
from legacy_fixture.builders.tags import build_tags
from legacy_fixture.builders.task_assignments import build_task_assignments
from legacy_fixture.builders.task_comments import build_task_comments
from legacy_fixture.builders.task_photos import build_task_photos
from legacy_fixture.builders.task_requirements import build_task_requirements
from legacy_fixture.builders.task_tags import build_task_tags
from legacy_fixture.builders.tasks import build_tasks
from legacy_fixture.dataset import Dataset
from legacy_fixture.plan import guest_groups, scaled_figures


def build_dataset(scale: float, seed: int, regions: int) -> Dataset:
    """Every row of every legacy table for (scale, seed, regions): same arguments, same rows."""
    data = Dataset(scale, seed, regions)
    figures = scaled_figures(scale)
    data.guest_plan = guest_groups(figures["reservation_guests"][1])
    # The parents draw from one shared generator, in this order: building them in another
    # order, or drawing once more in one of them, changes every parent after it.
    parents = data.rng("parents")
    build_regions(data)
    build_properties(data, parents)
    build_reservations(data, parents)
    build_tasks(data, parents)
    build_tags(data)
    build_people(data, parents)
    build_supplies(data, parents)
    # Each child table has a generator of its own; they read the parents' lookups.
    build_property_photos(data, *figures["property_photos"])
    build_reservation_guests(data, *figures["reservation_guests"])
    build_task_assignments(data, *figures["task_assignments"])
    build_task_photos(data, *figures["task_photos"])
    build_task_requirements(data, *figures["task_requirements"])
    build_task_tags(data, *figures["task_tags"])
    build_task_comments(data)
    return data
