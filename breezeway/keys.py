"""Natural keys: declared as each model's NaturalKey constraint, their single source of truth."""

from typing import Any

from django.db import models

from breezeway.natural_keys import DerivedKey


class NaturalKey(models.UniqueConstraint):
    """The UniqueConstraint that is a model's natural key, with the rule of its derived column.

    In the database and in migrations it is a plain UniqueConstraint (deconstruct says so), so
    declaring a key this way changes no schema; the class marks, for the code, which of a
    model's constraints identifies its records, and carries `derived`: how a key column the
    API may leave empty is filled (breezeway.natural_keys), for the sync and the remediation.
    """

    def __init__(self, *args: Any, derived: DerivedKey | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.derived = derived

    def clone(self) -> "NaturalKey":
        # Django clones a model's constraints; a clone built from deconstruct() alone would
        # lose the rule.
        copy = super().clone()
        copy.derived = self.derived
        return copy

    def deconstruct(self) -> tuple[str, tuple, dict[str, Any]]:
        _, args, kwargs = super().deconstruct()
        return "django.db.models.UniqueConstraint", args, kwargs


class NaturalKeyError(ValueError):
    """A model has no usable natural-key constraint, or more than one."""


def natural_key_constraint(model: type[models.Model]) -> NaturalKey:
    """The model's one NaturalKey: unconditional, on fields."""
    candidates = [c for c in model._meta.constraints if isinstance(c, NaturalKey)]
    if len(candidates) != 1:
        raise NaturalKeyError(
            f"{model._meta.label} must declare exactly one NaturalKey constraint; "
            f"found {len(candidates)}."
        )
    key = candidates[0]
    if not key.fields or key.condition is not None or key.expressions:
        raise NaturalKeyError(f"{model._meta.label}'s NaturalKey must be unconditional, on fields.")
    return key


def derived_key(model: type[models.Model]) -> DerivedKey | None:
    """The rule filling the model's derived key column, if its natural key has one."""
    return natural_key_constraint(model).derived


def constraint_columns(model: type[models.Model], constraint: models.UniqueConstraint) -> list[str]:
    """The database columns of a constraint's fields, in constraint order."""
    return [model._meta.get_field(name).column for name in constraint.fields]


def models_with_natural_keys() -> list[type[models.Model]]:
    """Every installed model, of any app, that declares a NaturalKey."""
    from django.apps import apps

    return [
        model
        for model in apps.get_models()
        if any(isinstance(c, NaturalKey) for c in model._meta.constraints)
    ]
