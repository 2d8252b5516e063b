"""The "viewer" group (breezeway 0006) may see the webhook events too: view_webhookevent."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "viewer"
CODENAME = "view_webhookevent"


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    # Permissions are normally created after migrate (post_migrate): create etl's now.
    app_config = apps.get_app_config("etl")
    app_config.models_module = True  # historical app configs have none; it must be truthy
    create_permissions(app_config, apps=apps, verbosity=0, using=db)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(db).get_or_create(name=GROUP)
    group.permissions.add(
        Permission.objects.using(db).get(content_type__app_label="etl", codename=CODENAME)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    for group in Group.objects.using(db).filter(name=GROUP):
        group.permissions.remove(
            *Permission.objects.using(db).filter(content_type__app_label="etl", codename=CODENAME)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("etl", "0005_webhook_events"),
        ("breezeway", "0006_viewer_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
