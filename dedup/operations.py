"""Migration operation: remove a model's duplicates by a UniqueConstraint, then add it."""

import logging
from typing import Any

from django.conf import settings
from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations import AddConstraint
from django.db.migrations.state import ProjectState

from breezeway.natural_keys import DerivedKey
from dedup.remediate import remediate_table
from dedup.spec import TableSpec

logger = logging.getLogger(__name__)


def constraint_exists(schema_editor: BaseDatabaseSchemaEditor, table: str, name: str) -> bool:
    """Whether the database already has a constraint (or unique index) of that name."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return name in found


class DeduplicateAndAddConstraint(AddConstraint):
    """AddConstraint that first removes the rows the constraint would reject.

    The natural key is the constraint's own fields, so there is one definition of it. Rows are
    grouped by those fields (the `derived_key` column computed from its sources by its rule,
    when given), the most recent copy of each group is kept, copies that differ from it are
    archived, the result is verified, and only then is the constraint added. The derived key
    column also becomes NOT NULL: a NULL never equals another NULL, so a nullable key would let
    copies back in (the incident's guests kept duplicating that way). Reversing drops the
    constraint, lets the column hold NULLs again, and leaves the data as it is.
    """

    def __init__(
        self,
        model_name: str,
        constraint: models.UniqueConstraint,
        derived_key: DerivedKey | None = None,
        strategy: str = "auto",
    ) -> None:
        super().__init__(model_name, constraint)
        self.derived_key = derived_key
        self.strategy = strategy

    def deconstruct(self) -> tuple[str, list, dict[str, Any]]:
        _, args, kwargs = super().deconstruct()
        if self.derived_key is not None:
            kwargs["derived_key"] = self.derived_key
        if self.strategy != "auto":
            kwargs["strategy"] = self.strategy
        return self.__class__.__name__, args, kwargs

    def derived_field_name(self, state: ProjectState, app_label: str) -> str:
        """The name of the field that stores the derived key column."""
        assert self.derived_key is not None
        model_state = state.models[app_label, self.model_name_lower]
        for name, field in model_state.fields.items():
            if (field.db_column or name) == self.derived_key.column:
                return name
        raise ValueError(
            f"{self.model_name} has no field for the derived key column {self.derived_key.column}"
        )

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        if self.derived_key is not None:
            fields = state.models[app_label, self.model_name_lower].fields
            name = self.derived_field_name(state, app_label)
            fields[name] = fields[name].clone()
            fields[name].null = False
        # Adding the constraint reloads the model: once for both changes, not once each.
        super().state_forwards(app_label, state)

    def alter_derived_field(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        old_state: ProjectState,
        new_state: ProjectState,
    ) -> None:
        """The derived key column as new_state has it (NOT NULL forwards, NULL backwards)."""
        if self.derived_key is None:
            return
        name = self.derived_field_name(new_state, app_label)
        old_model = old_state.apps.get_model(app_label, self.model_name)
        new_model = new_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, new_model):
            schema_editor.alter_field(
                old_model, old_model._meta.get_field(name), new_model._meta.get_field(name)
            )

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        super().database_backwards(app_label, schema_editor, from_state, to_state)
        self.alter_derived_field(app_label, schema_editor, from_state, to_state)

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        alias = schema_editor.connection.alias
        if not self.allow_migrate_model(alias, model):
            return
        table = model._meta.db_table
        present = False
        if schema_editor.collect_sql:
            # sqlmigrate: the removal is data-dependent work, not a statement to print.
            schema_editor.collected_sql.append(
                f"-- remove duplicates of {table} by {self.constraint.name} (dedup engine)"
            )
        elif constraint_exists(schema_editor, table, self.constraint.name):
            logger.info(
                "%s: constraint %s already present, nothing to do", table, self.constraint.name
            )
            present = True
        else:
            spec = TableSpec.for_model(model, self.constraint, self.derived_key)
            strategy = self.strategy if self.strategy != "auto" else settings.DEDUP_STRATEGY
            remediate_table(schema_editor.connection, spec, strategy=strategy)
        self.alter_derived_field(app_label, schema_editor, from_state, to_state)
        if not present:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"Remove duplicates of {self.model_name} and add constraint {self.constraint.name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"dedup_{self.model_name.lower()}_{self.constraint.name.lower()}"
