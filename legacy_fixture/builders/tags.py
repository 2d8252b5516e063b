"""Tags: the same dozen names in every region."""

from legacy_fixture.dataset import Dataset
from legacy_fixture.plan import LAST_RUN_AT
from legacy_fixture.vocabulary import TAG_NAMES


def build_tags(data: Dataset) -> None:
    """Every tag name in every region, each recorded under its region."""
    rows = []
    for r, code in enumerate(data.region_info):
        for j, tag in enumerate(TAG_NAMES):
            pk = len(rows) + 1
            rows.append(
                {
                    "id": pk,
                    "region_code": code,
                    "tag_id": str(5000 + 100 * r + j),
                    "tag_name": tag,
                    "tag_description": f"Tasks tagged {tag}",
                    "last_sync_time": LAST_RUN_AT,
                }
            )
            data.tags_of.setdefault(code, []).append(pk)
    data.parents["tags"] = rows
