"""Word lists and small text makers for plausible generated records."""

from __future__ import annotations

import random

FIRST_NAMES = (
    "Ana Ben Carla Dmitri Elena Farid Grace Hugo Ines Jonas Kenji Lea Marco Nadia Omar Paula "
    "Quinn Rosa Samir Tess Uma Victor Wen Ximena Yusuf Zoe"
).split()
LAST_NAMES = (
    "Almeida Brown Chen Dubois Evans Fischer Garcia Hansen Ivanova Jensen Kowalski Lopez "
    "Murphy Novak Okafor Petrov Quintana Rossi Silva Tanaka Urbina Vogel Weber Xu Young Ziegler"
).split()
STREETS = "Ocean Pine Harbor Maple Cedar Bay Sunset Ridge Willow Lake Beach Hill".split()
STREET_KINDS = "St Ave Rd Ln Dr Way Ct".split()
CITIES = (
    ("Miami", "FL", "33139"),
    ("Asheville", "NC", "28801"),
    ("Park City", "UT", "84060"),
    ("Destin", "FL", "32541"),
    ("Gatlinburg", "TN", "37738"),
    ("Lake Tahoe", "CA", "96150"),
    ("Scottsdale", "AZ", "85251"),
    ("Cape Cod", "MA", "02601"),
)
PLACE_WORDS = (
    "Cozy Sunny Quiet Grand Little Rustic Modern Hidden Breezy Golden Blue Coastal Alpine"
).split()
PLACE_KINDS = "Cottage Villa Loft Cabin Retreat Suite Bungalow Condo Chalet House".split()
WORDS = (
    "please check clean replace towels linen kitchen bathroom bedroom filter light bulb "
    "smoke detector hot tub pool deck patio grill trash keys lockbox guest arrival departure "
    "inventory restock coffee soap shampoo remote battery thermostat window door lock leak "
    "stain carpet vacuum mop dust mirror fridge oven dishwasher laundry dryer balcony"
).split()
TASK_KINDS = {
    "housekeeping": ("Departure clean", "Turnover clean", "Mid-stay clean", "Deep clean"),
    "maintenance": ("Fix leak", "Replace filter", "Hot tub service", "Repair door lock"),
    "inspection": ("Pre-arrival inspection", "Post-departure inspection", "Quality check"),
}
SECTIONS = ("Kitchen", "Bathroom", "Bedroom", "Living room", "Outdoor", "Entry", "Laundry")
HOME_ELEMENTS = ("Oven", "Fridge", "Shower", "Bed", "Sofa", "Hot tub", "Grill", None)
SUPPLY_NAMES = (
    "Toilet paper",
    "Hand soap",
    "Shampoo",
    "Coffee pods",
    "Trash bags",
    "Dish soap",
    "Light bulb",
    "AA batteries",
    "Air filter",
    "Towel set",
)
TAG_NAMES = (
    "VIP",
    "Owner stay",
    "Pet friendly",
    "Urgent",
    "Late checkout",
    "Early checkin",
    "Damage",
    "Follow up",
    "Recurring",
    "Photos needed",
)


def words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def sentence(rng: random.Random, low: int = 4, high: int = 12) -> str:
    return words(rng, low, high).capitalize() + "."


def long_text(rng: random.Random, prefix: str = "") -> str:
    """A text of 256..600 characters, the length that overflowed varchar(255) columns."""
    target = rng.randint(256, 600)
    text = prefix + (" " if prefix else "")
    while len(text) < target:
        text += sentence(rng) + " "
    return text[:target].rstrip() + "."


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
