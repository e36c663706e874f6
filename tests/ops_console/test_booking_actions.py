"""Booking desk actions: they call core services, report per booking, and refuse with the domain's reason."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from core.bookings.models import Booking, BookingNote, BookingStatus
from core.customers.models import CustomerProfile
from core.notifications.models import Notification, NotificationStatus


def _messages(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _deliver(capture_on_commit, client, name, bookings, **data):
    """Run an action that sends, then what it queued after commit (the send, to the fake provider)."""
    with capture_on_commit(execute=True):
        return _run(client, name, bookings, **data)


def _run(client, name, bookings, **data):
    return client.post(reverse("admin:core_booking_action", args=[name]),
                       {"ids": [str(b.pk) for b in bookings], "confirm": "yes", **data})


@pytest.mark.django_db
def test_bulk_schedule_reports_success_and_the_exact_refusal_per_booking(role_client, make_booking):
    # given one paid and one pending booking
    paid, pending = make_booking(BookingStatus.PAID), make_booking()
    client = role_client("operations")
    # when operations marks both scheduled
    response = _run(client, "schedule", [paid, pending])
    # then the paid one moved, the pending one was refused with the status machine's message
    assert response.status_code == 302
    assert Booking.objects.get(pk=paid.pk).status == BookingStatus.SCHEDULED
    assert Booking.objects.get(pk=pending.pk).status == BookingStatus.PENDING
    msgs = _messages(response)
    assert ("success", f"{paid.booking_number}: now scheduled.") in msgs
    assert ("error", f"{pending.booking_number}: A pending payment booking cannot become scheduled.") in msgs
    # and the change is in history with who and from where
    row = Booking.history.filter(id=paid.pk).order_by("-history_date").first()
    assert row.status == BookingStatus.SCHEDULED and row.history_user == client.user
    assert row.ip_address == "127.0.0.1"


@pytest.mark.django_db
def test_bulk_action_from_the_changelist_shows_the_confirmation_then_runs(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    page = client.post(reverse("admin:core_booking_changelist"),
                       {"action": "bulk_schedule", "_selected_action": [str(booking.pk)]})
    assert page.status_code == 200 and booking.booking_number.encode() in page.content
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.PAID  # nothing happens before confirming
    _run(client, "schedule", [booking])
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.SCHEDULED


@pytest.mark.django_db
def test_cancel_needs_a_reason_and_records_it(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    empty = _run(client, "cancel", [booking], reason="")
    assert empty.status_code == 200 and b"This field is required" in empty.content
    done = _run(client, "cancel", [booking], reason="Customer moved the date")
    assert done.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert booking.cancellation_reason == "Customer moved the date"
    assert booking.status_changes.last().actor == client.user


@pytest.mark.django_db
def test_completed_booking_cannot_be_cancelled_and_says_why(role_client, make_booking):
    booking = make_booking(BookingStatus.COMPLETED)
    response = _run(role_client("admin"), "cancel", [booking], reason="oops")
    # the confirmation page greys the action out and says why; nothing ran
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="action-disabled"' in page
    assert "not applicable: a completed booking cannot become cancelled." in page
    assert Booking.objects.get(pk=booking.pk).status == BookingStatus.COMPLETED


@pytest.mark.django_db
def test_bulk_confirmation_marks_the_bookings_an_action_does_not_apply_to(role_client, make_booking):
    paid, pending = make_booking(BookingStatus.PAID), make_booking()
    client = role_client("operations")
    page = client.post(reverse("admin:core_booking_changelist") + "?when=all&booking_type__exact=mini_move",
                       {"action": "bulk_schedule", "_selected_action": [str(paid.pk), str(pending.pk)]})
    html = page.content.decode()
    assert "1 of 2 booking(s)" in html
    assert "not applicable: a pending payment booking cannot become scheduled." in html
    assert f'name="ids" value="{pending.pk}"' not in html and f'name="ids" value="{paid.pk}"' in html
    # after confirming, back to the list as the user filtered it
    assert 'name="next" value="/admin/core/booking/?when=all&amp;booking_type__exact=mini_move"' in html


@pytest.mark.django_db
def test_row_action_returns_to_the_filtered_list(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    listed = "/admin/core/booking/?when=all&q=" + booking.booking_number
    opened = client.get(reverse("admin:core_booking_row_note", args=[booking.pk]),
                        HTTP_REFERER=f"http://testserver{listed}")
    assert _next_of(opened["Location"]) == listed  # the confirmation page will return there
    done = client.post(opened["Location"].split("?")[0], {"ids": [str(booking.pk)], "confirm": "yes",
                                                          "body": "Doorman expects us.",
                                                          "next": _next_of(opened["Location"])})
    assert done.status_code == 302 and done["Location"] == listed


def _next_of(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["next"][0]


@pytest.mark.django_db
def test_detail_page_offers_only_actions_the_status_allows(role_client, make_booking):
    pending = make_booking()
    html = role_client("admin").get(reverse("admin:core_booking_change", args=[pending.pk])).content.decode()
    assert "detail-cancel/" in html and "detail-note/" in html
    assert "detail-schedule/" not in html and "detail-complete/" not in html and "detail-refund/" not in html


@pytest.mark.django_db
def test_staff_note_goes_through_the_service(role_client, make_booking):
    booking = make_booking()
    client = role_client("operations")
    _run(client, "note", [booking], body="  Doorman knows us  ")
    note = BookingNote.objects.get(booking=booking)
    assert note.body == "Doorman knows us" and note.author == client.user


@pytest.mark.django_db
def test_offline_payment_and_admin_refund(role_client, make_booking, client):
    booking = make_booking()
    finance = role_client("finance")
    # a check without its number is refused with the service's message
    response = _run(finance, "offline_payment", [booking], amount="100.00", method="check", reference="")
    # shown on the form: the service's message above it, what to fix on the field it names
    assert response.status_code == 200 and "The payment is not valid." in response.content.decode()
    form = response.context["form"]
    assert form.non_field_errors() == ["The payment is not valid."]
    assert form.errors["reference"] == ["Enter the check number."]
    response = _run(finance, "offline_payment", [booking], amount=str(booking.total_price), method="cash",
                    reference="R-1")
    assert ("success", f"{booking.booking_number}: cash payment of ${booking.total_price:,.2f} recorded"
                       " (succeeded).") in _messages(response)
    payment = booking.payments.get()
    assert payment.recorded_by == finance.user and payment.amount_cents == int(booking.total_price * 100)
    # finance may not refund; an admin may, and too large an amount is refused with the reason
    client.logout()
    assert _run(role_client("finance"), "refund", [booking], payment=payment.pk, amount="10.00",
                reason="requested_by_customer").status_code == 403
    client.logout()
    admin = role_client("admin")
    too_much = _run(admin, "refund", [booking], payment=payment.pk, amount=str(booking.total_price + 1),
                    reason="requested_by_customer", notes="")
    assert too_much.status_code == 200 and "can still be refunded" in too_much.content.decode()  # on the form
    assert too_much.context["form"]["amount"].value() == str(booking.total_price + 1)  # what was typed is kept
    ok = _run(admin, "refund", [booking], payment=payment.pk, amount="10.00", reason="requested_by_customer",
              notes="goodwill")
    refund = payment.refunds.get()
    assert ("success", f"{booking.booking_number}: refund of $10.00 succeeded.") in _messages(ok)  # cash: no Stripe
    assert refund.amount_cents == 1000 and refund.processed_by == admin.user


@pytest.mark.django_db
def test_resend_confirmation_reaches_the_customer(role_client, make_booking, email_templates, postmark,
                                                  django_capture_on_commit_callbacks):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    response = _deliver(django_capture_on_commit_callbacks, client, "resend", [booking])
    assert _messages(response) == [("success", f"{booking.booking_number}: confirmation queued (pending).")]
    [sent] = postmark.messages
    assert sent["To"] == booking.customer.email and booking.booking_number in sent["Subject"]
    resend = Notification.objects.get(booking=booking, dedupe_key__contains=":resend:")
    assert resend.status == NotificationStatus.SENT and resend.history.earliest().history_user == client.user


@pytest.mark.django_db
def test_merge_duplicates_moves_bookings_and_is_audited(role_client, make_booking):
    first, second = make_booking(), make_booking()
    client = role_client("operations")
    response = client.post(reverse("admin:core_customerprofile_merge"),
                           {"ids": [first.customer_id, second.customer_id], "target": second.customer_id,
                            "confirm": "yes"})
    assert response.status_code == 302
    assert Booking.objects.get(pk=first.pk).customer_id == second.customer_id
    source = CustomerProfile.objects.get(pk=first.customer_id)
    assert source.merged_into_id == second.customer_id
    assert source.history.first().history_user == client.user


@pytest.mark.django_db
def test_booking_change_view_is_read_only_for_service_fields(role_client, make_booking):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    response = client.get(reverse("admin:core_booking_change", args=[booking.pk]))
    form = response.context["adminform"].form
    assert set(form.fields) == {"notes", "needs_attention", "attention_reason"}
    for tab in (b"Summary", b"Customer", b"Addresses", b"Price", b"Payments &amp; refunds", b"Notifications",
                b"History"):
        assert tab in response.content


@pytest.mark.django_db
def test_changelist_filters_search_and_upcoming_first(role_client, make_booking, future_weekday):
    import datetime as dt

    later = make_booking(BookingStatus.PAID, pickup_date=future_weekday + dt.timedelta(days=7))
    sooner = make_booking(BookingStatus.PAID)
    client = role_client("finance")
    listing = client.get(reverse("admin:core_booking_changelist"))
    numbers = [b.booking_number for b in listing.context["cl"].result_list]
    assert numbers.index(sooner.booking_number) < numbers.index(later.booking_number)
    found = client.get(reverse("admin:core_booking_changelist"), {"q": later.customer.email})
    assert [b.pk for b in found.context["cl"].result_list] == [later.pk]
    filtered = client.get(reverse("admin:core_booking_changelist"),
                          {"pickup_date_from": later.pickup_date.isoformat(), "status__exact": "paid"})
    assert [b.pk for b in filtered.context["cl"].result_list] == [later.pk]
    by_customer = client.get(reverse("admin:core_booking_changelist"), {"customer__id__exact": sooner.customer_id})
    assert [b.pk for b in by_customer.context["cl"].result_list] == [sooner.pk]


@pytest.mark.django_db
def test_price_simulator_uses_the_api_calculator(role_client, catalog, future_weekday):
    from core.bookings.services import price_booking_request
    from tests.factories import booking_request

    response = role_client("operations").get(reverse("admin:core_price_simulator"), {
        "booking_type": "mini_move", "pickup_date": future_weekday.isoformat(), "package": "petite",
        "item_count": "10", "coi_required": "on"})
    expected = price_booking_request(booking_request(pickup_date=future_weekday, coi_required=True))
    assert response.status_code == 200
    assert response.context["breakdown"].total_price == expected.total_price
    page = response.content.decode()
    assert f"${expected.total_price:,.2f}" in page  # the console's one money format
    # where the page sits, with the way back; the date field brings the admin calendar's scripts
    assert 'data-testid="trail"' in page and reverse("admin:core_surchargerule_changelist") in page
    assert "admin/js/calendar.js" in page and reverse("admin:jsi18n") in page


@pytest.mark.django_db
def test_surcharge_rule_validation(role_client):
    client = role_client("admin")
    base = {"code": "peak", "name": "Peak", "amount": "150", "is_active": "on", "weekdays": "[]",
            "applies_to": "[]"}
    response = client.post(reverse("admin:core_surchargerule_add"),
                           {**base, "rule_type": "date_range", "is_percentage": "on"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "start_date" in errors and "end_date" in errors and "amount" in errors
    ok = client.post(reverse("admin:core_surchargerule_add"),
                     {**base, "amount": "15", "rule_type": "date_range", "start_date": "2027-06-01",
                      "end_date": "2027-08-31"})
    assert ok.status_code == 302


@pytest.mark.django_db
def test_van_capacity_cannot_drop_below_booked_slots(role_client, make_booking, future_weekday):
    make_booking(BookingStatus.PAID)
    make_booking(BookingStatus.PAID)
    response = role_client("operations").post(reverse("admin:core_vanschedule_add"), {
        "date": future_weekday.isoformat(), "capacity_override": "1", "specialty_items_available": "on",
        "is_active": "on", "notes": ""})
    assert response.status_code == 200
    assert "capacity_override" in response.context["adminform"].form.errors


@pytest.mark.django_db
def test_command_search_finds_bookings_and_customers(role_client, make_booking):
    booking = make_booking()
    client = role_client("operations")
    response = client.get(reverse("admin:search"), {"s": booking.booking_number})
    assert response.status_code == 200
    assert booking.booking_number.encode() in response.content



@pytest.mark.django_db
def test_export_selected_exports_only_the_selected_bookings(role_client, make_booking, future_weekday):
    import datetime as dt

    chosen = make_booking(BookingStatus.PAID)
    other = make_booking(BookingStatus.PAID, pickup_date=future_weekday + dt.timedelta(days=1))
    client = role_client("finance")
    form = client.post(reverse("admin:core_booking_changelist"),
                       {"action": "export_selected", "_selected_action": [str(chosen.pk)]})
    assert form.status_code == 200 and b"export_items" in form.content
    csv_format = next(v for v, label in form.context["form"].fields["format"].choices if str(label).lower() == "csv")
    response = client.post(reverse("admin:core_booking_export"),
                           {"format": str(csv_format), "export_items": [str(chosen.pk)],
                            "bookingresource_id": "on"} | {
                               f"bookingresource_{f}": "on" for f in ("booking_number", "status")})
    body = response.content.decode()
    assert response.status_code == 200, body[:500]
    assert chosen.booking_number in body and other.booking_number not in body


@pytest.mark.django_db
def test_booking_list_defaults_to_upcoming_pickups_in_date_order(role_client, make_booking, make_request,
                                                                future_weekday):
    import datetime as dt

    from django.utils import timezone

    from core.bookings.services import booking_create

    today = timezone.localdate()
    past, _ = booking_create(request=make_request(pickup_date=today - dt.timedelta(days=20)),
                             now=timezone.now() - dt.timedelta(days=30))
    later = make_booking(BookingStatus.PAID, pickup_date=future_weekday + dt.timedelta(days=7))
    sooner = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    url = reverse("admin:core_booking_changelist")

    def listed(**params):
        return [b.pk for b in client.get(url, params).context["cl"].result_list]

    assert listed() == [sooner.pk, later.pk]
    assert listed(when="past") == [past.pk]
    assert listed(when="all") == [sooner.pk, later.pk, past.pk]


@pytest.mark.django_db
def test_send_message_reaches_the_customer_by_email_and_sms(role_client, make_booking, postmark, twilio,
                                                             django_capture_on_commit_callbacks):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    response = _deliver(django_capture_on_commit_callbacks, client, "message", [booking], channels=["email", "sms"],
                        subject="Gate code", body="Hi <Alex>, the gate code is 1234.")
    assert _messages(response) == [("success", f"{booking.booking_number}: message queued (Email pending, SMS pending).")]
    [email] = postmark.messages
    assert (email["To"], email["Subject"]) == (booking.customer.email, "Gate code")
    assert "Hi &lt;Alex&gt;, the gate code is 1234." in email["HtmlBody"]
    [sms] = twilio.messages
    assert (sms["to"], sms["body"]) == (booking.customer.phone, "Hi <Alex>, the gate code is 1234.")
    sent = Notification.objects.filter(booking=booking, notification_type="custom")
    assert {(n.channel, n.status) for n in sent} == {("email", NotificationStatus.SENT), ("sms", NotificationStatus.SENT)}
    assert {n.history.earliest().history_user for n in sent} == {client.user}


@pytest.mark.django_db
def test_send_message_refusals_say_why_and_send_nothing(role_client, make_booking, postmark):
    booking = make_booking(BookingStatus.PAID)
    client = role_client("operations")
    no_subject = _run(client, "message", [booking], channels=["email"], subject=" ", body="Hello")
    # refused on the form, with what to fix on the field it names
    assert no_subject.status_code == 200 and "The message is not valid." in no_subject.content.decode()
    assert no_subject.context["form"].errors["subject"] == ["An email needs a subject."]
    no_channel = _run(client, "message", [booking], subject="Hi", body="Hello")
    assert no_channel.status_code == 200 and b"This field is required" in no_channel.content
    assert postmark.messages == [] and not Notification.objects.filter(notification_type="custom").exists()
    assert _run(role_client("finance"), "message", [booking], channels=["email"], subject="Hi",
                body="Hello").status_code == 403
