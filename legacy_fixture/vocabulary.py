"""Names, words and value pools the generated rows draw from, and the derived strings."""

import hashlib
from typing import Any

FIRST_NAMES = (
    "Maria", "James", "Aiyana", "Chen", "Olivia", "Liam", "Sofia", "Noah", "Fatima", "Lucas",
    "Amara", "Ethan", "Priya", "Mateo", "Hannah", "Kenji", "Grace", "Diego", "Ingrid", "Omar",
    "Zoë", "Andrés", "Siobhán", "Björn", "Chloé", "Tomás", "Nadia", "Elijah", "Leila", "Marcus",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Nguyen", "Johnson", "Müller", "Brown", "O'Connor", "Patel", "Rossi",
    "Kowalski", "Williams", "Haddad", "Silva", "Novak", "Jones", "Tanaka", "Martin", "Dubois",
    "Lopez", "Andersen", "Kim", "Moore", "Okafor", "Taylor", "Fischer", "Ramírez", "Clark",
    "Lewis", "Walker", "Young",
)  # fmt: skip


# (code, name, city, state, latitude, longitude); regions past these are made up.
REGION_CATALOGUE = (
    ("nyc", "New York City", "New York", "NY", 40.7128, -74.0060),
    ("mia", "Miami Beach", "Miami Beach", "FL", 25.7907, -80.1300),
    ("den", "Denver Mountains", "Breckenridge", "CO", 39.4817, -106.0384),
    ("sea", "Seattle Waterfront", "Seattle", "WA", 47.6062, -122.3321),
    ("aus", "Austin Hill Country", "Austin", "TX", 30.2672, -97.7431),
    ("chs", "Charleston Coast", "Charleston", "SC", 32.7765, -79.9311),
    ("sdg", "San Diego", "San Diego", "CA", 32.7157, -117.1611),
    ("obx", "Outer Banks", "Nags Head", "NC", 35.9574, -75.6241),
    ("tah", "Lake Tahoe", "South Lake Tahoe", "CA", 38.9399, -119.9772),
    ("sav", "Savannah Historic", "Savannah", "GA", 32.0809, -81.0912),
)
PROPERTY_WORDS = (
    ("Seaside", "Harbor", "Pine", "Sunset", "Maple", "Coral", "Aspen", "Lakeview", "Magnolia"),
    ("Cottage", "Retreat", "Loft", "Bungalow", "Villa", "Cabin", "Suite", "House", "Flat"),
)
STREETS = ("Ocean Ave", "Main St", "Elm St", "Bayshore Dr", "Ridge Rd", "Palm Way", "King St")
PHOTO_CAPTIONS = (
    "Living room", "Kitchen", "Primary bedroom - king bed", "Second bedroom", "Bathroom",
    "Ocean view from the balcony", "Dining area", "Front entrance", "Backyard and patio",
    "Hot tub", "Pool", "Bunk room", "Game room", "Laundry", "Parking", "Street view",
)  # fmt: skip
# (name, department, description)
TASK_TEMPLATES = (
    ("Departure Clean", "housekeeping", "Full clean after checkout"),
    ("Mid-stay Clean", "housekeeping", "Refresh during the stay"),
    ("Inspection", "inspection", "Pre-arrival inspection"),
    ("HVAC filter change", "maintenance", "Replace the HVAC filters"),
    ("Hot tub service", "maintenance", "Test and balance the water"),
    ("Linen delivery", "housekeeping", "Deliver fresh linens"),
    ("Pool service", "maintenance", "Weekly pool service"),
    ("Restock supplies", "housekeeping", "Restock consumables"),
)
# (status code, status name, stage)
TASK_STATUSES = (
    ("created", "Created", "new"),
    ("in_progress", "In progress", "in_progress"),
    ("finished", "Finished", "finished"),
    ("approved", "Approved", "finished"),
)
CHECKLIST_SECTIONS = (
    ("Kitchen", ("Refrigerator", "Oven", "Dishwasher", "Countertops")),
    ("Bathrooms", ("Shower", "Toilet", "Vanity", "Towels")),
    ("Bedrooms", ("Beds", "Closets", "Nightstands", "Windows")),
    ("Living Areas", ("Sofa", "TV and remotes", "Floors", "Fireplace")),
    ("Exterior", ("Patio furniture", "Grill", "Hot tub", "Trash bins")),
    ("Final Walkthrough", ("Thermostat", "Lights", "Doors and locks", "Welcome book")),
)
CHECKLIST_ACTIONS = (
    ("Clean", "Wipe down all surfaces", "Check for damage"),
    ("Inspect", "Photograph", "Report any issue"),
)
TAG_NAMES = (
    "VIP", "Owner stay", "Pet friendly", "Deep clean", "Late checkout", "Early checkin",
    "Damage", "Lost and found", "Inspection failed", "Restock", "Hot tub", "Pool",
)  # fmt: skip
# (name, size)
SUPPLY_NAMES = (
    ("Toilet paper", "24 pack"), ("Paper towels", "12 rolls"), ("Dish soap", "750 ml"),
    ("Coffee pods", "48 count"), ("Trash bags", "13 gal, 90 count"), ("Shampoo", "1 l"),
    ("Laundry detergent", "2.5 l"), ("Light bulbs", "LED 60 W, 8 pack"),
)  # fmt: skip
COMMENTS = (
    "Front door sticks, needs a look.",
    "Guest left a jacket.",
    "Out of coffee pods.",
    "All done, photos attached.",
)


def digest(*parts: Any, length: int = 32) -> str:
    """A stable hex token for the parts: URLs, passwords and ids that look random but are not."""
    text = ":".join(str(p) for p in parts)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=32).hexdigest()[:length]


def person_name(index: int) -> str:
    """A distinct full name for each index (distinct after lower-casing too)."""
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = LAST_NAMES[(index // len(FIRST_NAMES)) % len(LAST_NAMES)]
    middle = index // (len(FIRST_NAMES) * len(LAST_NAMES))
    if not middle:
        return f"{first} {last}"
    return f"{first} {chr(65 + (middle - 1) % 26)}{(middle - 1) // 26 or ''}. {last}"
