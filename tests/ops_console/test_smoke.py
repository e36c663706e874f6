"""Every changelist and change form opens without error and within its query budget."""

import datetime as dt

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core import models as m
from core.bookings.models import BookingStatus
from core.bookings.services import booking_add_note
from tests.factories import UserFactory

# +1 since staff two-factor: django-otp loads the session's verified device once per console request.
CHANGELIST_BUDGET = 9
CHANGEFORM_BUDGET = 13


@pytest.fixture
def every_kind_of_row(make_booking, future_weekday, private_storage):
    call_command("loaddata", "email_templates", verbosity=0)
    staff = UserFactory(username="smoke_staff")
    m.StaffProfile.objects.create(user=staff, employee_id="E-1")
    bookings = [make_booking(BookingStatus.PAID, pickup_date=future_weekday + dt.timedelta(days=i)) for i in range(3)]
    booking = bookings[0]
    booking_add_note(booking=booking, actor=staff, body="Call first")
    payment = m.Payment.objects.create(booking=booking, amount_cents=10000, status="succeeded", method="cash")
    m.Refund.objects.create(payment=payment, amount_cents=500, status="succeeded", processed_by=staff)
    m.PaymentAudit.objects.create(payment=payment, booking=booking, action="test", user=staff)
    m.Dispute.objects.create(payment=payment, stripe_dispute_id="dp_1", amount_cents=5000, opened_at=timezone.now(),
                             outcome="lost", closed_at=timezone.now(), fee_cents=1500, fee_at=timezone.now())
    m.ProviderEvent.objects.create(provider="stripe", event_id="evt_1", event_type="charge.succeeded", payload={})
    m.ReconciliationMismatch.objects.create(run_date=timezone.localdate(), kind="missing", payment=payment)
    m.Notification.objects.create(notification_type="booking_confirmation", dedupe_key=f"c:{booking.pk}",
                                  booking=booking, customer=booking.customer, status="failed")
    m.Suppression.objects.create(channel="email", address="x@example.com", reason="bounce")
    m.VanSchedule.objects.create(date=future_weekday, capacity_override=8)
    m.SurchargeRule.objects.get_or_create(code="weekend", defaults={
        "name": "Weekend", "rule_type": "day_of_week", "amount": 50, "weekdays": [6, 7]})
    m.DailyMetrics.objects.create(date=timezone.localdate())
    _documents(booking, staff)
    leg = m.DeliveryTask.objects.create(booking=booking, kind="pickup", window_start=timezone.now(),
                                        window_end=timezone.now(), address="1 Main St", contact_name="A")
    m.TrackingUpdate.objects.create(dedupe_key="0:t:1", delivery_task=leg, trigger_id=0, trigger_name="taskStarted",
                                    event_time=timezone.now(), payload={})
    m.DispatchMismatch.objects.create(run_date=timezone.localdate(), kind="orphaned", key="t1")
    schedule = m.ReportSchedule.objects.create(name="Month end", report_type="revenue", frequency="monthly",
                                               recipients=["f@totetaxi.test"], next_run_at=timezone.now())
    m.Report.objects.create(name="Revenue", report_type="revenue", start_date=timezone.localdate(),
                            end_date=timezone.localdate(), schedule=schedule)
    m.Quote.objects.create(request_hash="x", request={}, breakdown={}, total_price=10,
                           expires_at=timezone.now())
    AccessAttempt.objects.create(username="someone", ip_address="203.0.113.1", failures_since_start=2,
                                 get_data="", post_data="", http_accept="", path_info="/admin/login/")
    AccessLog.objects.create(username="someone", ip_address="203.0.113.1", http_accept="",
                             path_info="/admin/login/")
    AccessFailureLog.objects.create(username="someone", ip_address="203.0.113.1", http_accept="",
                                    path_info="/admin/login/")
    return bookings


def _documents(booking, staff):
    import io

    from core.documents.services import (
        building_save,
        coi_waive_building,
        document_download_url,
        document_upload,
    )
    from tests.core.documents.attack_corpus import pdf_bytes

    building_save(building=m.Building(name="Smoke Tower", line1="1 Smoke St", city="New York", state="NY",
                                      zip_code="10001"))
    document, _ = document_upload(file=io.BytesIO(pdf_bytes()), filename="coi.pdf", document_type="coi",
                                  source="staff", booking=booking, actor=staff)
    document_download_url(document=document, actor=staff, via="staff")
    coi_waive_building(booking=booking, building_role="pickup", actor=UserFactory(username="smoke_admin",
                                                                                  role="admin"), reason="test")


@pytest.mark.django_db
def test_every_changelist_and_change_form_opens_within_budget(superuser_client, every_kind_of_row,
                                                             django_assert_max_num_queries):
    client = superuser_client
    client.get(reverse("admin:index"))  # warm per-process caches
    counts = {}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        with django_assert_max_num_queries(CHANGELIST_BUDGET, info=url) as ctx:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(ctx.captured_queries)
        obj = model_admin.get_queryset(response.wsgi_request).first()
        assert obj is not None, f"no {opts.model_name} row to open"
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        with django_assert_max_num_queries(CHANGEFORM_BUDGET, info=change) as ctx:
            response = client.get(change)
        assert response.status_code == 200, change
        counts[change] = len(ctx.captured_queries)
        if opts.app_label != "axes":
            history = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
            assert client.get(history).status_code == 200, history
    print("\n".join(f"{n:>3}  {u}" for u, n in sorted(counts.items(), key=lambda kv: -kv[1])))


@pytest.mark.django_db
def test_booking_changelist_queries_do_not_grow_with_rows(superuser_client, make_booking, future_weekday,
                                                          django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_booking(BookingStatus.PAID)
    url = reverse("admin:core_booking_changelist")
    superuser_client.get(url)
    with CaptureQueriesContext(connection) as small:
        superuser_client.get(url)
    for i in range(12):
        make_booking(BookingStatus.PAID, pickup_date=future_weekday + dt.timedelta(days=1 + i // 5))
    with CaptureQueriesContext(connection) as large:
        superuser_client.get(url)
    assert len(small.captured_queries) == len(large.captured_queries)


@pytest.mark.django_db
def test_history_view_shows_ip_and_user_agent_columns(superuser_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    superuser_client.post(reverse("admin:core_booking_action", args=["schedule"]),
                          {"ids": [str(booking.pk)], "confirm": "yes"}, REMOTE_ADDR="203.0.113.9",
                          HTTP_USER_AGENT="OpsBrowser/1.0")
    response = superuser_client.get(reverse("admin:core_booking_history", args=[booking.pk]))
    html = response.content.decode()
    assert "<th>\n                        IP address" in html and "Browser (user agent)" in html
    assert "ip_address" not in html and "user_agent" not in html
    assert "203.0.113.9" in html and "OpsBrowser/1.0" in html
    activity = superuser_client.get(reverse("admin:core_booking_activity", args=[booking.pk])).content.decode()
    assert "203.0.113.9" in activity and "Paid → Scheduled" in activity
    mine = superuser_client.get(reverse("admin:core_user_activity", args=[superuser_client.user.pk]))
    assert booking.booking_number.encode() in mine.content


@pytest.mark.django_db
def test_history_can_be_read_but_not_reverted(superuser_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    version = booking.history.order_by("history_date").first()  # the pending version
    url = reverse("admin:core_booking_simple_history", args=[booking.pk, version.history_id])
    assert superuser_client.get(url).status_code == 200
    assert superuser_client.post(url, {"notes": "x"}).status_code == 403
    booking.refresh_from_db()
    assert booking.status == BookingStatus.PAID
