"""Create (or reset) the demo's staff logins and print them."""

import secrets

from django.core.management.base import BaseCommand

from core.accounts.models import User


class Command(BaseCommand):
    help = "Create or reset the demo logins 'ops' (Operations) and 'admin' (Admin) with fresh passwords."

    def handle(self, *args, **options):
        from django.contrib.auth.models import Group

        rows = []
        for username, role, group, superuser in (("admin", User.Role.ADMIN, "Admin", True),
                                                 ("ops", User.Role.STAFF, "Operations", False),
                                                 ("finance", User.Role.STAFF, "Finance", False)):
            password = secrets.token_urlsafe(9)
            user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@totetaxi.test"})
            user.role, user.is_staff, user.is_superuser, user.is_active = role, True, superuser, True
            user.set_password(password)
            user.save()
            if (g := Group.objects.filter(name=group).first()) is not None:
                user.groups.add(g)
            rows.append((username, password, group))
        self.stdout.write(self.style.SUCCESS("Demo logins (console: http://127.0.0.1:8000/admin/):"))
        for username, password, group in rows:
            self.stdout.write(f"  {group:<11} username: {username:<8} password: {password}")
