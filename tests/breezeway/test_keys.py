"""The NaturalKey declaration: which models have one, the rule of its derived column, and
that it is a plain UniqueConstraint to the database and to migrations."""

import pytest
from django.db import models
from django.test.utils import isolate_apps

from breezeway.keys import (
    NaturalKey,
    NaturalKeyError,
    derived_key,
    models_with_natural_keys,
    natural_key_constraint,
)
from breezeway.models import PropertyPhoto, Region, Task, TaskSupply
from breezeway.natural_keys import LEGACY_DERIVED_KEYS
from etl.models import RejectedRecord


def test_models_with_natural_keys_are_those_declaring_one_in_any_app() -> None:
    found = models_with_natural_keys()
    assert PropertyPhoto in found and Task in found
    # A unique constraint that is not a natural key (run bookkeeping) is not one.
    assert RejectedRecord not in found
    assert Region not in found
    assert all(m._meta.app_label == "breezeway" for m in found)


def test_the_derived_rule_is_read_from_the_models_natural_key() -> None:
    assert derived_key(PropertyPhoto) is LEGACY_DERIVED_KEYS["property_photos"]
    assert derived_key(Task) is None
    # A key the API never leaves empty in legacy rows has no rule to replay.
    assert derived_key(TaskSupply) is None


def test_a_natural_key_is_a_plain_unique_constraint_to_migrations() -> None:
    key = natural_key_constraint(PropertyPhoto)
    path, _, kwargs = key.deconstruct()
    assert path == "django.db.models.UniqueConstraint"
    assert "derived" not in kwargs
    assert key.clone().derived is key.derived
    assert key == models.UniqueConstraint(**kwargs)


def test_a_model_without_exactly_one_natural_key_is_refused() -> None:
    with pytest.raises(NaturalKeyError, match="exactly one NaturalKey"):
        natural_key_constraint(RejectedRecord)
    with pytest.raises(NaturalKeyError, match="exactly one NaturalKey"):
        natural_key_constraint(Region)


@isolate_apps("breezeway")  # the model exists for this test only
def test_a_conditional_natural_key_is_refused() -> None:
    class Conditional(models.Model):
        code = models.CharField(max_length=10)

        class Meta:
            app_label = "breezeway"
            managed = False
            constraints = [
                NaturalKey(fields=["code"], name="uq_cond", condition=models.Q(code__gt=""))
            ]

        def __str__(self) -> str:
            return self.code

    with pytest.raises(NaturalKeyError, match="unconditional"):
        natural_key_constraint(Conditional)
