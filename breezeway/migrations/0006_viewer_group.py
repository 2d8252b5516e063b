"""The "viewer" group: only the view_* permissions of the breezeway, etl and dedup models."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "viewer"
APPS = ("breezeway", "etl", "dedup")


def create_viewer_group(apps, schema_editor):
    db = schema_editor.connection.alias
    # Permissions are normally created after migrate (post_migrate); create those of these
    # apps' models now, from the models as they stand at this migration.
    for label in APPS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True  # historical app configs have none; it must be truthy
        create_permissions(app_config, apps=apps, verbosity=0, using=db)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(db).get_or_create(name=GROUP)
    group.permissions.set(
        Permission.objects.using(db).filter(
            content_type__app_label__in=APPS, codename__startswith="view_"
        )
    )


def remove_viewer_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("breezeway", "0005_sync_bookkeeping"),
        ("etl", "0002_default_schedules"),
        # The dedup models the group covers (DuplicateSnapshot arrives in 0002).
        ("dedup", "0002_duplicate_snapshots"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_viewer_group, remove_viewer_group)]
