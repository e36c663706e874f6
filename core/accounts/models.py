from django.contrib.auth.models import AbstractUser
from django.db import models

from core.common.models import BaseModel, audited_history


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        STAFF = "staff", "Staff"

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)

    history = audited_history(excluded_fields=["password", "last_login"])

    class Meta:
        db_table = "accounts_user"
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=["admin", "staff"]), name="user_role_valid"),
        ]

    @property
    def is_admin_role(self) -> bool:
        return self.role == self.Role.ADMIN or self.is_superuser


class StaffProfile(BaseModel):
    class Department(models.TextChoices):
        OPERATIONS = "operations", "Operations"
        CUSTOMER_SERVICE = "customer_service", "Customer service"
        FINANCE = "finance", "Finance"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="staff_profile")
    employee_id = models.CharField(max_length=32, unique=True)
    department = models.CharField(max_length=20, choices=Department.choices, default=Department.OPERATIONS)
    hire_date = models.DateField(null=True, blank=True)
    permissions_level = models.PositiveSmallIntegerField(default=1, help_text="1 = standard, higher = more trust")
    notes = models.TextField(blank=True, default="")

    history = audited_history()

    class Meta:
        db_table = "accounts_staffprofile"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__in=["operations", "customer_service", "finance"]),
                name="staffprofile_department_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.employee_id})"
