"""The "viewer" group's permissions as migrations grant them: view_* of one app's models."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.management import create_permissions

GROUP = "viewer"

Operation = Callable[[Any, Any], None]


def view_permission_migration(app_label: str, codenames: tuple[str, ...]) -> tuple[Operation, ...]:
    """(grant, revoke) for migrations.RunPython: the group gets these permissions of the app.

    Works on the historical models the migration is given (`apps`), never on today's."""

    def permissions(apps: Any, db: str) -> Any:
        Permission = apps.get_model("auth", "Permission")
        return Permission.objects.using(db).filter(
            content_type__app_label=app_label, codename__in=codenames
        )

    def grant(apps: Any, schema_editor: Any) -> None:
        db = schema_editor.connection.alias
        # Permissions are normally created after migrate (post_migrate): create the app's now.
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True  # historical app configs have none; it must be truthy
        create_permissions(app_config, apps=apps, verbosity=0, using=db)
        app_config.models_module = None
        Group = apps.get_model("auth", "Group")
        group, _ = Group.objects.using(db).get_or_create(name=GROUP)
        found = list(permissions(apps, db))
        missing = set(codenames) - {p.codename for p in found}
        if missing:
            raise RuntimeError(f"no permission {sorted(missing)} in {app_label}")
        group.permissions.add(*found)

    def revoke(apps: Any, schema_editor: Any) -> None:
        db = schema_editor.connection.alias
        Group = apps.get_model("auth", "Group")
        for group in Group.objects.using(db).filter(name=GROUP):
            group.permissions.remove(*permissions(apps, db))

    return grant, revoke
