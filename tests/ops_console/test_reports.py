"""The Reports section: who sees what, the page's figures, downloads, keeping, scheduling, the month close."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.reporting.models import Report, ReportSchedule
from core.reporting.reports.services import report_file_token
from tests.core.reporting.conftest import ledger  # noqa: F401  (fixture)
from tests.core.reporting.data import booking, ny, pay

RUN = "admin:core_report_run"
Q1 = {"start": "2026-01-01", "end": "2026-03-31", "grouping": "month"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# (role, what) -> HTTP status
ACCESS = [
    ("finance", {"report_type": "revenue"}, 200),
    ("finance", {"report_type": "operational"}, 200),  # the form refuses the choice, see below
    ("operations", {"report_type": "operational"}, 200),
    ("admin", {"report_type": "customer"}, 200),
    ("nogroup", {"report_type": "revenue"}, 403),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "params", "status"), ACCESS)
def test_run_page_access(role_client, role, params, status):
    response = role_client(role).get(reverse(RUN), {**Q1, **params})
    assert response.status_code == status


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "allowed"), [
    ("finance", ["revenue"]), ("operations", ["operational"]),
    ("admin", ["revenue", "operational", "customer", "custom"]),
])
def test_each_role_is_offered_only_its_reports(role_client, role, allowed):
    response = role_client(role).get(reverse(RUN))
    assert [k for k, _label in response.context["form"].fields["report_type"].choices] == allowed
    other = next(k for k in ("revenue", "operational") if k not in allowed) if role != "admin" else None
    if other:
        response = role_client(role).get(reverse(RUN), {**Q1, "report_type": other})
        assert "result" not in response.context and "report_type" in response.context["form"].errors


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [("finance", 200), ("admin", 200), ("operations", 403),
                                              ("nogroup", 403)])
def test_month_close_is_for_finance_and_admin(role_client, role, status):
    assert role_client(role).get(reverse("admin:core_report_month_close")).status_code == status


@pytest.mark.django_db
def test_revenue_page_shows_cards_chart_and_table(role_client, ledger):  # noqa: F811
    response = role_client("finance").get(reverse(RUN), {**Q1, "report_type": "revenue", "basis": "cash"})
    html = response.content.decode()
    assert response.context["result"].summary["Net"] == 395
    assert 'data-testid="report-chart"' in html and "$395.00" in html and "2026-02-01" in html
    chart = response.context["chart"]
    assert '"labels": ["2026-01-01", "2026-02-01", "2026-03-01"]' in chart and "[100.0, 250.0, 70.0]" in chart


@pytest.mark.django_db
def test_the_page_query_count_is_constant_in_the_data_size(role_client, ledger):  # noqa: F811
    client = role_client("finance")
    params = {**Q1, "report_type": "revenue", "dimension": "service_type"}
    client.get(reverse(RUN), params)  # warm caches

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(RUN), params).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for i in range(15):
        pay(booking(pickup=ny(2026, 2, 1 + i, 12).date(), kind="specialty"), 500, ny(2026, 2, 1 + i, 12), fee=20)
    assert count() == small


@pytest.mark.django_db
def test_csv_and_xlsx_downloads(role_client, ledger):  # noqa: F811
    client = role_client("finance")
    response = client.get(reverse(RUN), {**Q1, "report_type": "revenue", "format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert response["Content-Disposition"] == 'attachment; filename="revenue-20260101-20260331.csv"'
    assert ["2026-02-01", "250.00", "25.00", "225.00", "6.10", "218.90", "0.00", "30.00", "188.90", "210.00", "2", "1",
            "2", "0", "0"] in rows
    response = client.get(reverse(RUN), {**Q1, "report_type": "revenue", "format": "xlsx"})
    assert response.content[:2] == b"PK"


@pytest.mark.django_db
def test_bad_input_is_a_message_not_a_500(role_client):
    response = role_client("finance").get(reverse(RUN), {"report_type": "revenue", "start": "2026-03-01",
                                                         "end": "2026-01-01", "grouping": "month"})
    assert response.status_code == 200
    assert "The report parameters are not valid." in response.content.decode()


@pytest.mark.django_db
def test_keep_generates_files_listed_for_the_runner(role_client, ledger, django_capture_on_commit_callbacks):  # noqa: F811
    client = role_client("finance")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse(RUN) + "?" + "&".join(f"{k}={v}" for k, v in
                                                             {**Q1, "report_type": "revenue"}.items()),
                                {"action": "keep"})
    assert response.status_code == 302
    report = Report.objects.get()
    listing = client.get(reverse("admin:core_report_changelist")).content.decode()
    assert report.name in listing and "finance_user" in listing
    download = client.get(reverse("admin:core_report_download", args=[report.pk, "csv"]))
    assert b"".join(download.streaming_content).startswith(b"Revenue (cash basis)")
    token = report_file_token(report=report, fmt="csv")
    assert client.get(reverse("admin:core_report_file", args=[token])).status_code == 200
    # both console downloads are recorded, and the report's page lists them
    assert list(report.downloads.values_list("via", "actor__username")) == [("console", "finance_user")] * 2
    page = client.get(reverse("admin:core_report_change", args=[report.pk])).content.decode()
    assert "Downloads" in page and page.count("Console") >= 2
    # Operations neither lists, opens nor downloads a revenue report, even with its signed link
    ops = role_client("operations")  # the same test client, now logged in as Operations
    assert report.name not in ops.get(reverse("admin:core_report_changelist")).content.decode()
    assert ops.get(reverse("admin:core_report_change", args=[report.pk])).status_code in (302, 403, 404)
    assert ops.get(reverse("admin:core_report_file", args=[token])).status_code == 403
    assert report.downloads.count() == 2
    # Operations cannot revoke a Finance report's links; Finance can, and the link stops working
    ops.post(reverse("admin:core_report_changelist"), {"action": "revoke_links", "_selected_action": [report.pk]})
    assert Report.objects.get(pk=report.pk).links_revoked_at is None
    finance = role_client("finance")
    finance.post(reverse("admin:core_report_changelist"), {"action": "revoke_links", "_selected_action": [report.pk]})
    assert Report.objects.get(pk=report.pk).links_revoked_at is not None
    assert finance.get(f"/api/v1/reports/files/{token}/").status_code == 404


@pytest.mark.django_db
def test_save_as_scheduled(role_client):
    client = role_client("operations")
    query = "&".join(f"{k}={v}" for k, v in {**Q1, "report_type": "operational", "grouping": "day"}.items())
    response = client.post(reverse(RUN) + "?" + query, {"action": "schedule", "schedule_name": "Ops weekly",
                                                        "frequency": "weekly", "recipients": "ops@totetaxi.test, lead@totetaxi.test"})
    assert response.status_code == 302, [str(m) for m in response.context["messages"]]
    schedule = ReportSchedule.objects.get()
    assert (schedule.report_type, schedule.frequency, schedule.recipients) == (
        "operational", "weekly", ["ops@totetaxi.test", "lead@totetaxi.test"])


@pytest.mark.django_db
def test_month_close_streams_csv_and_xlsx(role_client, ledger):  # noqa: F811
    client = role_client("finance")
    response = client.get(reverse("admin:core_report_month_close"), {"month": "2026-02", "file_format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Disposition"] == 'attachment; filename="month-close-2026-02.csv"'
    assert [r[1] for r in rows[1:]] == ["fee", "payment", "refund", "payment", "dispute", "dispute_fee", "dispute",
                                        "dispute_fee"]
    assert [r[12] for r in rows[1:] if r[1] == "dispute"] == ["lost", "won"]
    response = client.get(reverse("admin:core_report_month_close"), {"month": "2026-02", "file_format": "xlsx"})
    assert b"".join(response.streaming_content)[:2] == b"PK"
    response = client.get(reverse("admin:core_report_month_close"), {"month": "2026-13", "file_format": "csv"})
    assert response.status_code == 200 and "Give a month as YYYY-MM." in response.content.decode()


@pytest.mark.django_db
def test_editing_a_schedule_goes_through_the_service_and_validates_recipients(role_client):
    from django.utils import timezone

    client = role_client("finance")
    schedule = ReportSchedule.objects.create(name="Month end", report_type="revenue", frequency="monthly",
                                             recipients=["f@totetaxi.test"], next_run_at=timezone.now())
    url = reverse("admin:core_reportschedule_change", args=[schedule.pk])
    response = client.post(url, {"name": "Month end", "is_active": "on", "recipients": '["not an email"]'})
    assert response.status_code == 200 and "Give at least one valid email address." in response.content.decode()
    response = client.post(url, {"name": "Close", "recipients": '["cfo@totetaxi.test"]'})
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.name, schedule.is_active, schedule.recipients) == ("Close", False, ["cfo@totetaxi.test"])
    assert schedule.history.first().history_user == client.user
    # Operations does not see Finance's schedule at all
    assert role_client("operations").get(url).status_code == 302


@pytest.mark.django_db
def test_customer_report_links_top_customers_to_their_profiles(role_client, ledger):  # noqa: F811
    response = role_client("admin").get(reverse(RUN), {**Q1, "report_type": "customer"})
    customer = ledger["b"].customer
    link = reverse("admin:core_customerprofile_change", args=[customer.pk])
    assert f'href="{link}"' in response.content.decode()


@pytest.mark.django_db
def test_custom_report_with_a_corridor_filter(role_client, ledger):  # noqa: F811
    response = role_client("admin").get(reverse(RUN), {
        **Q1, "grouping": "none", "report_type": "custom", "measures": ["bookings", "booked_value"],
        "dimensions": ["service_type"], "pickup_zip": "10021", "dropoff_zip": "11937", "status": "completed",
        "date_field": "pickup"})
    result = response.context["result"]
    assert result.params["filters"] == {"status": "completed", "pickup_zip": "10021", "dropoff_zip": "11937"}
    assert [(r["d_service_type"], r["bookings"]) for r in result.main.rows] == [("mini_move", 1), ("standard", 2)]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [("finance", 200), ("admin", 200), ("operations", 403)])
def test_disputes_are_listed_for_finance_and_admin_only(role_client, ledger, role, status):  # noqa: F811
    client = role_client(role)
    response = client.get(reverse("admin:core_dispute_changelist"))
    assert response.status_code == status
    if status == 200:
        page = response.content.decode()
        assert ledger["b"].booking_number in page and "$200.00" in page and "Lost" in page and "Won" in page


@pytest.mark.django_db
def test_the_disputes_list_query_count_does_not_grow_with_rows(role_client, ledger):  # noqa: F811
    from tests.core.reporting.data import dispute

    client = role_client("finance")
    url = reverse("admin:core_dispute_changelist")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(15):
        dispute(pay(booking(pickup=dt.date(2026, 2, 1 + i)), 1000, ny(2026, 2, 1 + i, 12)), 1000, ny(2026, 2, 2 + i, 9))
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
