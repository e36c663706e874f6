"""Changing a paid booking from the desk under its change policy: preview the quote, confirm that quote.

Paid through the fake Stripe (refunds and balance intents go to it over HTTP), changed through core's services.
"""

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import models as m
from core.bookings.change_models import ChangeQuote
from core.bookings.models import Booking, BookingStatus, PaymentState
from core.payments.models import Refund
from tests.fakes.stripe_payments import pay_through_stripe

pytest_plugins = ["tests.fakes.stripe_fixtures", "tests.fakes.stripe_payments"]
pytestmark = pytest.mark.django_db
ACTION = "admin:core_booking_action"


def _messages(response):
    return [(msg.level_tag, str(msg)) for msg in get_messages(response.wsgi_request)]


def _open(client, name, booking):
    return client.get(reverse(ACTION, args=[name]), {"ids": str(booking.pk)})


def _preview(client, name, booking, **data):
    return client.post(reverse(ACTION, args=[name]), {"ids": str(booking.pk), "step": "preview", **data})


def _confirm(client, name, booking, quote_id):
    return client.post(reverse(ACTION, args=[name]), {"ids": str(booking.pk), "step": "confirm",
                                                      "quote_id": str(quote_id)})


def _quote_id(response) -> str:
    found = re.search(r'name="quote_id" value="([0-9a-f-]+)"', response.content.decode())
    assert found, "no quote on the page"
    return found.group(1)


@pytest.fixture
def paid_booking(stripe_on, booking):
    pay_through_stripe(stripe_on, booking)
    fresh = Booking.objects.get(pk=booking.pk)
    assert fresh.status == BookingStatus.PAID
    return fresh


# --- cancel with refund ------------------------------------------------------------------------------------
def test_cancel_with_refund_shows_the_policy_preview_then_refunds_once(role_client, stripe_on, paid_booking):
    client = role_client("operations")
    page = _open(client, "cancel_refund", paid_booking)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Preview under change policy v1" in html and "Paid for this booking" in html
    total = f"${paid_booking.total_price:,.2f}"
    assert f'data-testid="change-refund">{total}<' in html  # ten days out or more: everything back
    quote_id = _quote_id(page)
    assert Booking.objects.get(pk=paid_booking.pk).status == BookingStatus.PAID  # nothing before confirming

    done = _confirm(client, "cancel_refund", paid_booking, quote_id)

    assert done.status_code == 302 and done["Location"] == reverse("admin:core_booking_change",
                                                                   args=[paid_booking.pk])
    assert ("success", f"{paid_booking.booking_number}: cancelled under change policy v1; refund {total} "
                       "succeeded.") in _messages(done)
    assert Booking.objects.get(pk=paid_booking.pk).status == BookingStatus.CANCELLED
    # a double click replays the same cancellation: still one refund at Stripe
    _confirm(client, "cancel_refund", paid_booking, quote_id)
    assert stripe_on.created_refunds == 1 and Refund.objects.count() == 1
    # and the booking page lists the change, with who did it
    tab = client.get(reverse("admin:core_booking_change", args=[paid_booking.pk])).content.decode()
    assert "Changes under the change policy" in tab and "Cancelled" in tab and "operations_user" in tab


def test_an_override_needs_a_reason_and_shows_in_the_preview(role_client, stripe_on, paid_booking):
    client = role_client("operations")
    no_reason = _preview(client, "cancel_refund", paid_booking, refund_amount="10.00", override_reason="")
    assert no_reason.status_code == 200 and "Say why you override the change policy." in no_reason.content.decode()
    assert 'name="quote_id"' not in no_reason.content.decode()

    page = _preview(client, "cancel_refund", paid_booking, refund_amount="10.00",
                    override_reason="Customer keeps part as credit")
    html = page.content.decode()
    assert "Refund set by staff: Customer keeps part as credit" in html
    assert 'data-testid="change-refund">$10.00<' in html
    done = _confirm(client, "cancel_refund", paid_booking, _quote_id(page))
    assert done.status_code == 302
    [refund] = Refund.objects.all()
    assert refund.amount_cents == 1000
    tab = client.get(reverse("admin:core_booking_change", args=[paid_booking.pk])).content.decode()
    assert "Customer keeps part as credit" in tab


def test_an_override_above_the_threshold_is_refused_for_operations_and_allowed_for_an_admin(
        role_client, settings, stripe_on, paid_booking):
    from decimal import Decimal

    # the policy the booking was sold under keeps half whenever it is cancelled; overrides above $5: admins only
    m.ChangePolicy.objects.filter(pk=paid_booking.change_policy_id).update(
        cancellation_tiers=[{"min_hours_before": 0, "fee_type": "percent", "fee": "50"}])
    settings.TOTETAXI = {**settings.TOTETAXI, "CHANGE_OVERRIDE_ADMIN_ABOVE": Decimal("5")}
    half = paid_booking.total_price / 2

    refused = _preview(role_client("operations"), "cancel_refund", paid_booking, waive_fee="on",
                       override_reason="Storm")
    assert refused.status_code == 200 and 'name="quote_id"' not in refused.content.decode()
    [(level, text)] = _messages(refused)
    assert level == "error" and "admin" in text.lower()

    admin = role_client("admin")
    allowed = _preview(admin, "cancel_refund", paid_booking, waive_fee="on", override_reason="Storm")
    html = allowed.content.decode()
    assert "Cancellation fee waived: Storm" in html
    assert f'data-testid="change-refund">${paid_booking.total_price:,.2f}<' in html
    plain = _open(admin, "cancel_refund", paid_booking).content.decode()
    assert f'data-testid="change-refund">${half:,.2f}<' in plain  # without the override: the policy's half


def test_cancel_with_refund_refuses_bad_input_without_a_500(role_client, stripe_on, paid_booking, make_booking):
    client = role_client("operations")
    for bad in ("not-a-uuid", "00000000-0000-0000-0000-000000000000", ""):
        response = _confirm(client, "cancel_refund", paid_booking, bad)
        assert response.status_code == 200
        assert any(level == "error" and "No such quote" in text for level, text in _messages(response))
    assert _preview(client, "cancel_refund", paid_booking, refund_amount="-5", override_reason="x").status_code == 200
    assert Booking.objects.get(pk=paid_booking.pk).status == BookingStatus.PAID
    # an unpaid booking is cancelled with the plain action: greyed out, with the reason
    pending = make_booking()
    page = _open(client, "cancel_refund", pending).content.decode()
    assert 'data-testid="action-disabled"' in page and "not paid yet" in page


# --- reschedule --------------------------------------------------------------------------------------------
def test_reschedule_previews_the_lines_then_moves_the_booking(role_client, stripe_on, paid_booking,
                                                              future_weekday):
    client = role_client("operations")
    new_day = future_weekday + dt.timedelta(days=7)
    form = _open(client, "reschedule", paid_booking)
    assert form.status_code == 200 and 'name="pickup_date"' in form.content.decode()

    preview = _preview(client, "reschedule", paid_booking, pickup_date=new_day.isoformat(),
                       pickup_window="afternoon")
    html = preview.content.decode()
    assert preview.status_code == 200 and "Preview under change policy v1" in html, _messages(preview)
    assert 'data-testid="change-due">$0.00<' in html and 'data-testid="change-refund">$0.00<' in html
    assert Booking.objects.get(pk=paid_booking.pk).pickup_date == future_weekday

    done = _confirm(client, "reschedule", paid_booking, _quote_id(preview))

    moved = Booking.objects.get(pk=paid_booking.pk)
    assert done.status_code == 302 and moved.pickup_date == new_day and moved.pickup_window == "afternoon"
    [(level, text)] = _messages(done)
    assert level == "success" and text.startswith(f"{paid_booking.booking_number}: now on ")
    tab = client.get(reverse("admin:core_booking_change", args=[paid_booking.pk])).content.decode()
    assert "Moved to" in tab and "operations_user" in tab


def test_a_dearer_date_says_what_is_due_and_where_the_booking_stands(role_client, stripe_on, paid_booking,
                                                                    future_weekday):
    client = role_client("operations")
    saturday = future_weekday + dt.timedelta(days=3)  # the weekend surcharge
    preview = _preview(client, "reschedule", paid_booking, pickup_date=saturday.isoformat(),
                       pickup_window="morning")
    html = preview.content.decode()
    assert "price difference" in html and 'data-testid="change-due">$100.00<' in html, _messages(preview)

    done = _confirm(client, "reschedule", paid_booking, _quote_id(preview))

    [(level, text)] = _messages(done)
    assert level == "warning"
    assert "Amount due $100.00: the customer has not paid it yet (balance owed $100.00; payment balance due" in text
    assert Booking.objects.get(pk=paid_booking.pk).payment_status == PaymentState.BALANCE_DUE


def test_a_closed_day_is_refused_with_the_nearest_open_dates(role_client, stripe_on, paid_booking, future_weekday):
    closed = future_weekday + dt.timedelta(days=7)
    m.VanSchedule.objects.create(date=closed, capacity_override=0)
    client = role_client("operations")

    response = _preview(client, "reschedule", paid_booking, pickup_date=closed.isoformat(), pickup_window="morning")

    assert response.status_code == 200 and 'name="quote_id"' not in response.content.decode()
    [(level, text)] = _messages(response)
    assert level == "error" and "Nearest open dates:" in text
    assert Booking.objects.get(pk=paid_booking.pk).pickup_date == future_weekday


def test_reschedule_bad_input_is_a_form_error_not_a_500(role_client, stripe_on, paid_booking, future_weekday):
    client = role_client("operations")
    for data in ({"pickup_date": "31/31/2026", "pickup_window": "morning"},
                 {"pickup_date": future_weekday.isoformat(), "pickup_window": "midnight"},
                 {"pickup_date": "1999-01-01", "pickup_window": "morning"},
                 {"pickup_date": future_weekday.isoformat(), "pickup_window": "morning"}):  # the same slot
        response = _preview(client, "reschedule", paid_booking, **data)
        assert response.status_code == 200, data
        assert 'name="quote_id"' not in response.content.decode(), data
    assert ChangeQuote.objects.filter(action="reschedule").count() == 0


def test_finance_can_neither_open_nor_post_a_change(role_client, stripe_on, paid_booking, future_weekday):
    client = role_client("finance")
    for name in ("cancel_refund", "reschedule", "edit"):
        assert _open(client, name, paid_booking).status_code == 403
        assert _preview(client, name, paid_booking, pickup_date=future_weekday.isoformat(),
                        pickup_window="morning").status_code == 403
    assert ChangeQuote.objects.count() == 0


# --- edit ------------------------------------------------------------------------------------------------
def test_edit_adds_a_specialty_item_and_changes_the_dropoff_with_a_preview(role_client, stripe_on, paid_booking,
                                                                          future_weekday):
    client = role_client("operations")
    form = _open(client, "edit", paid_booking)
    html = form.content.decode()
    assert form.status_code == 200 and 'name="dropoff_line1"' in html and 'name="specialty_item_1"' in html
    drop = paid_booking.dropoff_address
    data = {"pickup_date": future_weekday.isoformat(), "pickup_window": paid_booking.pickup_window,
            "item_count": paid_booking.item_count, "package": paid_booking.package.code,
            "pickup_line1": paid_booking.pickup_address.line1, "pickup_line2": paid_booking.pickup_address.line2,
            "pickup_city": paid_booking.pickup_address.city, "pickup_state": paid_booking.pickup_address.state,
            "pickup_zip_code": paid_booking.pickup_address.zip_code,
            "dropoff_line1": "77 New Street", "dropoff_line2": "", "dropoff_city": drop.city,
            "dropoff_state": drop.state, "dropoff_zip_code": drop.zip_code,
            "specialty_item_1": "crib", "specialty_qty_1": "1"}

    preview = _preview(client, "edit", paid_booking, **data)

    html = preview.content.decode()
    assert 'data-testid="change-due">$350.00<' in html, _messages(preview)
    done = _confirm(client, "edit", paid_booking, _quote_id(preview))
    edited = Booking.objects.select_related("dropoff_address").get(pk=paid_booking.pk)
    assert done.status_code == 302 and edited.dropoff_address.line1 == "77 New Street"
    assert [(line.item.code, line.quantity) for line in edited.specialty_lines.select_related("item")] == \
        [("crib", 1)]
    [(level, text)] = _messages(done)
    assert level == "warning" and "Amount due $350.00" in text
    tab = client.get(reverse("admin:core_booking_change", args=[paid_booking.pk])).content.decode()
    assert "new drop-off address (77 New Street)" in tab and "1× crib" in tab


def test_edit_refuses_an_address_without_a_street(role_client, stripe_on, paid_booking, future_weekday):
    client = role_client("operations")
    response = _preview(client, "edit", paid_booking, pickup_date=future_weekday.isoformat(),
                        pickup_window="morning", dropoff_line1="", dropoff_city="New York")
    assert response.status_code == 200 and "This field is required" in response.content.decode()


# --- query budgets ---------------------------------------------------------------------------------------
def test_booking_page_with_change_history_stays_within_budget(role_client, stripe_on, paid_booking,
                                                               future_weekday, django_assert_max_num_queries):
    client = role_client("operations")
    url = reverse("admin:core_booking_change", args=[paid_booking.pk])
    client.get(url)  # warm per-process caches
    with CaptureQueriesContext(connection) as none_yet:
        client.get(url)
    for days in (7, 14):
        preview = _preview(client, "reschedule", paid_booking,
                           pickup_date=(future_weekday + dt.timedelta(days=days)).isoformat(),
                           pickup_window="morning")
        _confirm(client, "reschedule", paid_booking, _quote_id(preview))
    with django_assert_max_num_queries(15) as ctx:
        page = client.get(url)
    assert page.content.decode().count("Moved to") == 2
    assert len(ctx.captured_queries) <= len(none_yet) + 1  # the refunds of payments, once there are some
    print(f"booking page: {len(none_yet)} -> {len(ctx.captured_queries)} queries")


def test_change_pages_have_bounded_queries(role_client, stripe_on, paid_booking, future_weekday,
                                           django_assert_max_num_queries):
    client = role_client("operations")
    _open(client, "reschedule", paid_booking)
    with django_assert_max_num_queries(25) as opened:
        _open(client, "edit", paid_booking)
    with django_assert_max_num_queries(25) as cancel:
        _open(client, "cancel_refund", paid_booking)
    print(f"edit form: {len(opened)}, cancel preview: {len(cancel)} queries")


def test_a_paid_booking_is_not_cancelled_by_the_plain_cancel(role_client, stripe_on, paid_booking, make_booking):
    client = role_client("admin")
    response = client.post(reverse(ACTION, args=["cancel"]), {"ids": [str(paid_booking.pk)], "confirm": "yes",
                                                              "reason": "oops"})
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="action-disabled"' in page
    assert "money was paid: use “Cancel with refund”" in page
    assert Booking.objects.get(pk=paid_booking.pk).status == BookingStatus.PAID
    detail = client.get(reverse("admin:core_booking_change", args=[paid_booking.pk])).content.decode()
    assert "detail-cancel-refund/" in detail and "detail-cancel/" not in detail
    # an unpaid one still is (and offers no change under the policy: nothing was paid)
    pending = make_booking()
    detail = client.get(reverse("admin:core_booking_change", args=[pending.pk])).content.decode()
    assert "detail-cancel/" in detail and "detail-cancel-refund/" not in detail and "detail-reschedule/" not in detail


def test_staff_waive_a_reschedule_fee_with_a_reason(role_client, stripe_on, paid_booking, future_weekday):
    # the policy the booking was sold under charges its change fee this far ahead
    m.ChangePolicy.objects.filter(pk=paid_booking.change_policy_id).update(reschedule_free_hours=10_000)
    client = role_client("operations")
    new_day = (future_weekday + dt.timedelta(days=7)).isoformat()

    plain = _preview(client, "reschedule", paid_booking, pickup_date=new_day, pickup_window="morning")
    assert "Change fee" in plain.content.decode() and 'data-testid="change-due">$75.00<' in plain.content.decode()
    waived = _preview(client, "reschedule", paid_booking, pickup_date=new_day, pickup_window="morning",
                      waive_fee="on", override_reason="Our driver shortage")
    html = waived.content.decode()
    assert "Change fee waived: Our driver shortage" in html and 'data-testid="change-due">$0.00<' in html

    done = _confirm(client, "reschedule", paid_booking, _quote_id(waived))

    [(level, _text)] = _messages(done)
    assert level == "success" and Booking.objects.get(pk=paid_booking.pk).payment_status == PaymentState.PAID
    assert "Our driver shortage" in client.get(reverse("admin:core_booking_change",
                                                       args=[paid_booking.pk])).content.decode()


# --- edit keeps every specialty line (issue #14 follow-up) -------------------------------------------------
class _FormValues(HTMLParser):
    """What a browser would post back from the page's form, untouched: inputs' values, selects' chosen option."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox", "radio"):
            self.values[a["name"]] = a.get("value") or ""
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.values.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def _form_values(response) -> dict[str, str]:
    parser = _FormValues()
    parser.feed(response.content.decode())
    return {k: v for k, v in parser.values.items() if k not in ("csrfmiddlewaretoken", "step")}


FOUR_ITEMS = (("crib", 2), ("peloton", 1), ("surfboard", 1), ("wardrobe_box", 1))


@pytest.fixture
def paid_four_items(stripe_on, make_request):
    from core.bookings.services import booking_create

    booking, _token = booking_create(request=make_request(specialty_items=FOUR_ITEMS))
    pay_through_stripe(stripe_on, booking)
    return Booking.objects.get(pk=booking.pk)


def _lines(booking) -> list[tuple[str, int]]:
    return sorted((line.item.code, line.quantity) for line in booking.specialty_lines.select_related("item"))


@pytest.mark.parametrize(("change", "lines", "due"), [
    ({"dropoff_line1": "77 New Street"}, list(FOUR_ITEMS), "$0.00"),
    ({"crib": 3}, [("crib", 3), *FOUR_ITEMS[1:]], "$350.00"),
], ids=["address-only", "one-quantity"])
def test_edit_keeps_every_specialty_line_of_a_booking_with_four(role_client, stripe_on, paid_four_items,
                                                                change, lines, due):
    client = role_client("operations")
    assert _lines(paid_four_items) == list(FOUR_ITEMS)
    page = _open(client, "edit", paid_four_items)
    data = _form_values(page)  # the form as the page fills it in
    assert sorted((data[k], int(data[k.replace("item", "qty")])) for k in data
                  if k.startswith("specialty_item_") and data[k]) == list(FOUR_ITEMS)
    assert sum(1 for k in data if k.startswith("specialty_item_") and not data[k]) >= 2  # room to add
    for key, value in change.items():
        if key in ("crib",):
            row = next(k for k in data if k.startswith("specialty_item_") and data[k] == key)
            data[row.replace("item", "qty")] = str(value)
        else:
            data[key] = value

    preview = _preview(client, "edit", paid_four_items, **data)

    html = preview.content.decode()
    assert f'data-testid="change-due">{due}<' in html and 'data-testid="change-refund">$0.00<' in html, \
        _messages(preview)
    quote = ChangeQuote.objects.get(pk=_quote_id(preview))
    if "crib" in change:
        assert quote.request["specialty_items"] == [list(line) for line in lines]
    else:  # not sent at all: the list is left as sold
        assert quote.request["specialty_items"] is None
    _confirm(client, "edit", paid_four_items, quote.pk)
    edited = Booking.objects.get(pk=paid_four_items.pk)
    assert _lines(edited) == lines
    assert edited.total_price == paid_four_items.total_price + Decimal(due.strip("$").replace(",", ""))


def test_edit_keeps_a_specialty_item_retired_since_the_sale(role_client, stripe_on, paid_four_items):
    m.SpecialtyItem.objects.filter(code="peloton").update(is_active=False)
    client = role_client("operations")
    data = _form_values(_open(client, "edit", paid_four_items))
    data["dropoff_line1"] = "78 New Street"

    preview = _preview(client, "edit", paid_four_items, **data)

    assert 'data-testid="change-due">$0.00<' in preview.content.decode(), _messages(preview)
    _confirm(client, "edit", paid_four_items, _quote_id(preview))
    edited = Booking.objects.select_related("dropoff_address").get(pk=paid_four_items.pk)
    assert edited.dropoff_address.line1 == "78 New Street" and _lines(edited) == list(FOUR_ITEMS)
