"""Property photos: a few a property, some without a photo id; divergent: caption or new file."""

import random
from typing import Any

from legacy_fixture.dataset import Dataset
from legacy_fixture.slots import Divergence, Slot, finish, split
from legacy_fixture.vocabulary import PHOTO_CAPTIONS, digest


def _diverge(slot: Slot, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new) values: re-uploaded (new file, same photo id), or a caption edited."""
    old = slot.values
    if kind == "url" and old["photo_id"] is not None:
        url = old["url"].replace("w=1600", "w=1600&v=2")
        return old, {**old, "url": url, "original_url": old["original_url"] + "?v=2"}
    return old, {**old, "caption": f"{old['caption'] or 'Photo'} (updated)"}


DIVERGENCE = Divergence(kinds=("caption", "url"), diverge=_diverge)


def _slots(data: Dataset, prop: int, count: int, rng: random.Random, first: int) -> list[Slot]:
    """The property's `count` photos; `first` counts the photos before them (their ids)."""
    age = rng.uniform(0.4, 1.6)
    code = data.property_region[prop]
    company = data.region_info[code].company_id
    pid = data.property_ext_id[prop]
    slots = []
    for j in range(count):
        n = first + j
        photo_id = None if rng.random() < 0.03 else str(571_000_000 + 7 * n)
        token = digest("pp", data.seed, n)
        # Drawn in this order: the condition, then the caption.
        caption = rng.choice(PHOTO_CAPTIONS) if rng.random() < 0.9 else None
        later = rng.random() < 0.2  # photos added after the property was listed
        values = {
            "photo_id": photo_id,
            "url": f"https://cdn.breezeway.io/c/{company}/p/{pid}/{token[:28]}.jpg?w=1600",
            "original_url": f"https://s3.amazonaws.com/bw-uploads/{company}/{token[:24]}.jpg",
            "caption": caption,
            "is_default": j == 0,
        }
        weight = rng.uniform(0.2, 1.0) if later else 1.0
        slots.append(Slot(prop, code, values, age=age * weight))
    return slots


def build_property_photos(data: Dataset, total: int, distinct: int) -> None:
    """`distinct` photos over the properties, `total` rows with their copies."""
    rng = data.rng("property_photos")
    n_props = len(data.parents["properties"])
    owners = rng.sample(range(1, n_props + 1), min(distinct, n_props))
    slots: list[Slot] = []
    for prop, count in zip(owners, split(distinct, len(owners), rng), strict=True):
        slots += _slots(data, prop, count, rng, first=len(slots))
    data.children["property_photos"] = finish(
        "property_photos", total, distinct, slots, rng, DIVERGENCE
    )
