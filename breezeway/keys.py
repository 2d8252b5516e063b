"""Natural keys, read from each model's named UniqueConstraint (their single source of truth)."""

from django.db import models


class NaturalKeyError(ValueError):
    """A model has no usable natural-key constraint, or more than one."""


def natural_key_constraint(model: type[models.Model]) -> models.UniqueConstraint:
    """The model's one unconditional, field-based UniqueConstraint."""
    candidates = [
        c
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint)
        and c.fields
        and c.condition is None
        and not c.expressions
    ]
    if len(candidates) != 1:
        raise NaturalKeyError(
            f"{model._meta.label} must declare exactly one unconditional UniqueConstraint "
            f"on fields as its natural key; found {len(candidates)}."
        )
    return candidates[0]


def constraint_columns(model: type[models.Model], constraint: models.UniqueConstraint) -> list[str]:
    """The database columns of a constraint's fields, in constraint order."""
    return [model._meta.get_field(name).column for name in constraint.fields]


def models_with_natural_keys() -> list[type[models.Model]]:
    """Every installed model of the breezeway app that declares a natural key."""
    from django.apps import apps

    found = []
    for model in apps.get_app_config("breezeway").get_models():
        try:
            natural_key_constraint(model)
        except NaturalKeyError:
            continue
        found.append(model)
    return found
