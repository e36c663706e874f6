"""Console access to the change policy (issue 14): Admin publishes policy versions, Operations and Finance
read them (a booking's change history is read on the booking page, with the booking's view permission)."""

from django.db import migrations

GRANTS = {
    "Operations": ["view_changepolicy"],
    "Finance": ["view_changepolicy"],
    # Admin holds every core permission from 0002; models added since need their rows granted here.
    "Admin": ["view_changepolicy", "add_changepolicy", "change_changepolicy"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    config = apps.get_app_config("core")
    config.models_module = True  # create_permissions skips app configs without a models module
    create_contenttypes(config, apps=apps, verbosity=0)
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*Permission.objects.filter(content_type__app_label="core", codename__in=codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*Permission.objects.filter(content_type__app_label="core",
                                                                codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0015_reports_outcomes"),
    ]

    operations = [
        migrations.RunPython(grant, revoke),
    ]
