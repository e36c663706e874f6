"""Staff roles as Django groups (Operations, Finance, Admin) and the custom `core.issue_refund` permission.

Model permissions are normally created by a post_migrate signal, i.e. after this migration; we create them
here first so the groups can be given them on a fresh database.
"""

from django.db import migrations

VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"
CATALOG = ["minimovepackage", "specialtyitem", "standarddeliveryrate", "surchargerule"]

# model -> actions; models not listed get nothing.
OPERATIONS = {
    "booking": [VIEW, CHANGE],
    "bookingnote": [VIEW, ADD],
    "bookingstatuschange": [VIEW],
    "bookingspecialtyitem": [VIEW],
    "quote": [VIEW],
    "customerprofile": [VIEW, ADD, CHANGE],
    "address": [VIEW, ADD, CHANGE],
    "vanschedule": [VIEW, ADD, CHANGE, DELETE],
    "notification": [VIEW, ADD, CHANGE],  # change = resend (the list itself is read-only)
    "deliverylog": [VIEW],
    "emailtemplate": [VIEW, CHANGE],
    "suppression": [VIEW, ADD, CHANGE, DELETE],
    **{m: [VIEW] for m in CATALOG},
}
FINANCE = {
    "booking": [VIEW],
    "bookingnote": [VIEW],
    "bookingstatuschange": [VIEW],
    "bookingspecialtyitem": [VIEW],
    "quote": [VIEW],
    "customerprofile": [VIEW],
    "address": [VIEW],
    "payment": [VIEW, ADD],  # ADD: record offline (cash/check) payments
    "refund": [VIEW],
    "paymentaudit": [VIEW],
    "providerevent": [VIEW],
    "reconciliationmismatch": [VIEW, CHANGE],
    "notification": [VIEW],
    "dailymetrics": [VIEW],
    "vanschedule": [VIEW],
    **{m: [VIEW] for m in CATALOG},
}


def _create_permissions(apps):
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for label in ("contenttypes", "auth", "core"):
        config = apps.get_app_config(label)
        config.models_module = True  # create_permissions skips app configs without a models module
        create_contenttypes(config, apps=apps, verbosity=0)
        create_permissions(config, apps=apps, verbosity=0)
        config.models_module = None


def _perms(Permission, spec):
    wanted = [f"{action}_{model}" for model, actions in spec.items() for action in actions]
    found = list(Permission.objects.filter(content_type__app_label="core", codename__in=wanted))
    missing = set(wanted) - {p.codename for p in found}
    if missing:
        raise RuntimeError(f"permissions missing: {sorted(missing)}")
    return found


def create_groups(apps, schema_editor):
    _create_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")

    payment_ct = ContentType.objects.get(app_label="core", model="payment")
    issue_refund, _ = Permission.objects.get_or_create(
        content_type=payment_ct, codename="issue_refund", defaults={"name": "Can issue refunds"}
    )

    operations, _ = Group.objects.get_or_create(name="Operations")
    operations.permissions.set(_perms(Permission, OPERATIONS))
    finance, _ = Group.objects.get_or_create(name="Finance")
    finance.permissions.set(_perms(Permission, FINANCE))
    admin, _ = Group.objects.get_or_create(name="Admin")
    admin.permissions.set(
        list(Permission.objects.filter(content_type__app_label__in=["core", "auth"])) + [issue_refund]
    )


def remove_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.filter(name__in=["Operations", "Finance", "Admin"]).delete()
    Permission.objects.filter(content_type__app_label="core", codename="issue_refund").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
