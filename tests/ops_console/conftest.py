"""Console fixtures: one user per role (groups come from the 0002_staff_groups data migration) and bookings."""

import pytest
from django.contrib.auth.models import Group

from core.accounts.models import User
from core.bookings.models import BookingStatus
from core.bookings.services import booking_create, booking_transition
from tests.core.notifications.fixtures import email_templates, postmark, twilio  # noqa: F401  (fixtures)
from tests.factories import UserFactory

ROLES = ["operations", "finance", "admin", "nogroup"]
GROUP_OF = {"operations": "Operations", "finance": "Finance", "admin": "Admin"}


def ensure_staff_groups() -> None:
    """The groups come from a data migration; a transactional test (live_server) flushes them, so re-create."""
    import importlib

    from django.apps import apps

    if Group.objects.filter(name__in=GROUP_OF.values()).count() < len(GROUP_OF):
        importlib.import_module("core.migrations.0002_staff_groups").create_groups(apps, None)
        importlib.import_module("core.migrations.0007_logistics").grant(apps, None)
        importlib.import_module("core.migrations.0008_documents").grant(apps, None)
        importlib.import_module("core.migrations.0009_reports").grant(apps, None)  # report permissions
        importlib.import_module("core.migrations.0015_reports_outcomes").grant(apps, None)  # disputes, downloads
        importlib.import_module("core.migrations.0013_phone_bookings").grant(apps, None)  # phone bookings
        importlib.import_module("core.migrations.0016_console_changes").grant(apps, None)  # change policy


def make_role_user(role: str) -> User:
    ensure_staff_groups()
    user = UserFactory(username=f"{role}_user", role=User.Role.ADMIN if role == "admin" else User.Role.STAFF)
    if role in GROUP_OF:
        user.groups.add(Group.objects.get(name=GROUP_OF[role]))
    return User.objects.get(pk=user.pk)  # fresh instance: no cached permissions


@pytest.fixture
def role_client(db, client):
    """role_client("finance") → a test client logged in as a Finance user (client.user is the user)."""

    def _login(role: str):
        user = make_role_user(role)
        client.force_login(user)
        client.user = user
        return client

    return _login


@pytest.fixture
def superuser_client(db, client):
    user = UserFactory(username="root", is_superuser=True, role=User.Role.ADMIN)
    client.force_login(user)
    client.user = user
    return client


STATUS_PATH = [BookingStatus.PAID, BookingStatus.SCHEDULED, BookingStatus.IN_PROGRESS, BookingStatus.COMPLETED]


def create_booking(make_request, status: str = BookingStatus.PENDING, **request_overrides):
    """A booking created through core services, advanced along the status machine to `status`."""
    booking, _token = booking_create(request=make_request(**request_overrides))
    if status == BookingStatus.CANCELLED:
        return booking_transition(booking=booking, to_status=status, reason="test")
    for step in STATUS_PATH[: STATUS_PATH.index(status) + 1] if status in STATUS_PATH else []:
        booking = booking_transition(booking=booking, to_status=step)
    return booking


@pytest.fixture
def make_booking(make_request):
    def _make(status: str = BookingStatus.PENDING, **request_overrides):
        return create_booking(make_request, status, **request_overrides)

    return _make


def add_payment_and_notification(booking, *, amount_cents: int = 249000):
    """A succeeded payment and a sent confirmation on `booking` (records the tabs show), as (payment, notification)."""
    from django.utils import timezone

    from core.notifications.models import Notification
    from core.payments.models import Payment

    payment = Payment.objects.create(booking=booking, stripe_payment_intent_id=f"pi_{booking.pk.hex}",
                                     amount_cents=amount_cents, status="succeeded")
    notification = Notification.objects.create(
        booking=booking, notification_type="booking_confirmation", channel="email", recipients=["a@example.com"],
        dedupe_key=f"confirmation:{booking.pk}", sent_at=timezone.now())
    return payment, notification
