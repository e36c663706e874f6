"""Console access to the change policy (issue 14): Admin publishes policy versions, Operations and Finance
read them (a booking's change history is read on the booking page, with the booking's view permission)."""

from django.db import migrations

from core.migrations._grants import grant_permissions, revoke_permissions

GRANTS = {
    "Operations": ["view_changepolicy"],
    "Finance": ["view_changepolicy"],
    # Admin holds every core permission from 0002; models added since need their rows granted here.
    "Admin": ["view_changepolicy", "add_changepolicy", "change_changepolicy"],
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def revoke(apps, schema_editor):
    revoke_permissions(apps, GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0015_reports_outcomes"),
    ]

    operations = [
        migrations.RunPython(grant, revoke),
    ]
