"""Granting a migration's new permissions to the staff groups (and taking them back): one body for every
migration that adds models or permissions after 0002_staff_groups. Not a migration (the loader skips names
starting with "_"); the migrations that use it keep their `grant` and `revoke` names (tests call `grant`)."""


def grant_permissions(apps, grants: dict[str, list[str]]) -> None:
    """Create the app's permission rows as they are at this migration, then add `grants` ({group: codenames})
    to the groups that exist."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    config = apps.get_app_config("core")
    config.models_module = True  # create_permissions skips app configs without a models module
    create_contenttypes(config, apps=apps, verbosity=0)
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    for group, permissions in _pairs(apps, grants):
        group.permissions.add(*permissions)


def revoke_permissions(apps, grants: dict[str, list[str]]) -> None:
    for group, permissions in _pairs(apps, grants):
        group.permissions.remove(*permissions)


def _pairs(apps, grants: dict[str, list[str]]):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in grants.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            yield group, Permission.objects.filter(content_type__app_label="core", codename__in=codenames)
