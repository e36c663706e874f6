"""Finance runs the revenue report in a real browser: grouping, chart, CSV download."""

import csv
import io
import re
from pathlib import Path

import pytest

from tests.browser.conftest import shot
from tests.core.reporting.conftest import ledger  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_opens_revenue_changes_grouping_sees_chart_downloads_csv(live_server, page, login, ledger):  # noqa: F811
    login("finance")
    page.get_by_role("link", name="Run a report").first.click()
    page.get_by_test_id("report-form").wait_for()
    page.fill("#id_start", "2026-01-01")
    page.fill("#id_end", "2026-03-31")
    page.select_option("#id_grouping", "month")
    page.get_by_test_id("run-report").click()
    page.wait_for_url(re.compile(r"grouping=month"))
    table = page.get_by_test_id("table-revenue")
    assert "2026-02-01" in table.inner_text() and "$250.00" in table.inner_text()
    # weekly: the 23:30 Saturday and 00:30 Sunday payments share the week of Monday Jan 26
    page.select_option("#id_grouping", "week")
    page.get_by_test_id("run-report").click()
    page.wait_for_url(re.compile(r"grouping=week"))
    table = page.get_by_test_id("table-revenue")
    assert "2026-01-26" in table.inner_text() and "$300.00" in table.inner_text()
    chart = page.get_by_test_id("report-chart").locator("canvas")
    chart.wait_for(state="visible")
    assert chart.bounding_box()["height"] > 100
    shot(page, "reports_revenue_weekly")
    with page.expect_download() as info:
        page.get_by_test_id("download-csv").click()
    download = info.value
    assert download.suggested_filename == "revenue-20260101-20260331.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
    assert rows[0][0] == "Revenue (cash basis)"
    assert ["Total", "420.00", "25.00", "395.00", "9.30", "385.70", "200.00", "15.00", "170.70", "210.00", "4", "1",
            "2", "1", "1"] in rows
