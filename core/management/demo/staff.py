"""The demo's staff: three people with names, a staff profile and the console group of their role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from core.accounts.models import StaffProfile, User


@dataclass(frozen=True)
class DemoStaff:
    username: str
    first_name: str
    last_name: str
    group: str
    department: str
    employee_id: str
    hire_date: dt.date
    permissions_level: int
    superuser: bool = False

    @property
    def role(self) -> str:
        return User.Role.ADMIN if self.superuser else User.Role.STAFF


STAFF = (
    DemoStaff("admin", "Dana", "Whitfield", "Admin", StaffProfile.Department.OPERATIONS, "TT-0001",
              dt.date(2019, 4, 1), 3, superuser=True),
    DemoStaff("ops", "Marco", "Reyes", "Operations", StaffProfile.Department.OPERATIONS, "TT-0014",
              dt.date(2022, 5, 16), 2),
    DemoStaff("finance", "Priya", "Shah", "Finance", StaffProfile.Department.FINANCE, "TT-0022",
              dt.date(2023, 1, 9), 2),
)


def demo_staff_ensure() -> dict[str, User]:
    """Create or refresh the demo staff (names, role, group, profile); returns them by username.

    There is no accounts service for staff yet (the console's user admin is the only writer), so this writes
    the models directly, naming no actor: the caller runs it under `acting_as(None, user_agent=...)`.
    New users get an unusable password; `demo_login` sets the ones it prints.
    """
    users: dict[str, User] = {}
    groups = Group.objects.in_bulk([s.group for s in STAFF], field_name="name")
    with transaction.atomic():
        for spec in STAFF:
            user = User.objects.filter(username=spec.username).first()
            if user is None:
                user = User(username=spec.username)
                user.set_unusable_password()
            user.first_name, user.last_name = spec.first_name, spec.last_name
            user.email = f"{spec.first_name}.{spec.last_name}@totetaxi.test".lower()
            user.role, user.is_staff, user.is_superuser, user.is_active = spec.role, True, spec.superuser, True
            user.save()
            if (group := groups.get(spec.group)) is not None:
                user.groups.add(group)
            profile = StaffProfile.objects.filter(user=user).first() or StaffProfile(user=user)
            profile.employee_id, profile.department = spec.employee_id, spec.department
            profile.hire_date, profile.permissions_level = spec.hire_date, spec.permissions_level
            profile.save()
            users[spec.username] = user
    return users
