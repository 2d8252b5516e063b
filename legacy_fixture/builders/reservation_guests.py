"""Reservation guests: mostly all-NULL rows, some real guests; divergent: older spellings."""

import random
import unicodedata
from typing import Any

from legacy_fixture.dataset import Dataset
from legacy_fixture.slots import Divergence, Slot, finish, split
from legacy_fixture.vocabulary import person_name


def _guest(name: str | None, email: str | None, phone: str | None) -> dict[str, Any]:
    return {"guest_name": name, "guest_email": email, "guest_phone": phone}


def _diverge(slot: Slot, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new) values of a guest whose key stays the same."""
    email, phone = slot.values["guest_email"], slot.values["guest_phone"]
    name = slot.values["guest_name"] or person_name(slot.parent_pk * 3 + 2)
    if kind == "email_case":  # typed differently in older copies: the key does not change
        if email:
            return _guest(name, f"  {email.upper()} ", phone), _guest(name, email, phone)
        return _guest(f" {name.upper()}  ", email, phone), _guest(name, email, phone)
    if kind == "name_nfd":  # accents decomposed by an older client: NFC makes them one key
        accented = f"Renée {name.split()[-1]} {slot.parent_pk}"
        return _guest(unicodedata.normalize("NFD", accented), None, phone), _guest(
            accented, None, phone
        )
    return _guest(name, email, phone or "+1 555 0100"), _guest(name, email, "+1 555 0199")


# One group of each kind at least: each tests a different normalisation of the key.
DIVERGENCE = Divergence(
    kinds=("email_case", "phone", "name_nfd"), diverge=_diverge, every_kind=True
)


def _null_slots(data: Dataset, reservations: list[int], rng: random.Random) -> list[Slot]:
    """The old loader wrote one all-NULL row per guest: they share the key '' (one slot a
    reservation, as wide as its guests)."""
    slots = []
    for res in reservations:
        width = rng.choices((1, 2, 3, 4), weights=(3, 4, 2, 1))[0]
        age = rng.uniform(0.4, 1.6)
        slots.append(Slot(res, data.reservation_region[res], _guest(None, None, None), age, width))
    return slots


def _email(name: str, serial: int) -> str:
    local = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    local = local.lower().replace(" ", ".").replace("'", "").replace("..", ".")
    return f"{local}.{serial}@example.com"


def _real_values(name: str, serial: int, rng: random.Random) -> dict[str, Any]:
    email = _email(name, serial)
    kind = rng.random()
    if kind < 0.15:  # name only
        return _guest(name, None, f"+1 555 01{serial % 100:02d}")
    if kind < 0.25:  # an empty email: the key falls back to the name
        return _guest(name, "", None)
    if kind < 0.3:  # email only
        return _guest(None, email, None)
    return _guest(name, email, f"+1 555 02{serial % 100:02d}")


def _real_slots(
    data: Dataset, reservations: list[int], counts: list[int], rng: random.Random
) -> list[Slot]:
    slots = []
    for res, count in zip(reservations, counts, strict=True):
        age = rng.uniform(0.4, 1.6)
        for j in range(count):
            values = _real_values(person_name(3 * res + j), len(slots) + 1, rng)
            slots.append(Slot(res, data.reservation_region[res], values, age))
    return slots


def build_reservation_guests(data: Dataset, total: int, distinct: int) -> None:
    """`distinct` guest keys (data.guest_plan says how many all-NULL), `total` rows."""
    rng = data.rng("reservation_guests")
    null_groups, real_reservations = data.guest_plan
    real = distinct - null_groups
    n_res = len(data.parents["reservations"])
    chosen = rng.sample(range(1, n_res + 1), null_groups + real_reservations)
    slots = _null_slots(data, chosen[:null_groups], rng)
    # Too few rows for the widths drawn: one all-NULL row a run for every reservation.
    if sum(s.width for s in slots) + real > total:
        for s in slots:
            s.width = 1
    # allocate_copies reaches the exact total only by adding copies to slots one row wide.
    if not real:
        slots[-1].width = 1
    counts = split(real, real_reservations, rng, cap=3) if real else []
    slots += _real_slots(data, chosen[null_groups:], counts, rng)
    data.children["reservation_guests"] = finish(
        "reservation_guests", total, distinct, slots, rng, DIVERGENCE
    )
