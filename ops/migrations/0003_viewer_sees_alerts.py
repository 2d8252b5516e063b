"""The "viewer" group (breezeway 0006) may see the alerts too: view_alert, nothing more."""

from django.db import migrations

from breezeway.viewer_group import view_permission_migration


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0002_alert_check_schedule"),
        ("breezeway", "0006_viewer_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(*view_permission_migration("ops", ("view_alert",)))]
