"""REPORTING_DATABASE_URL: report selectors read through the read-only "reporting" alias, nothing writes there.

The alias is a second connection to the same PostgreSQL test database with read-only sessions, as a replica
would be; the rows are committed first (transaction=True), because that connection sees only committed data.
"""

import copy
import datetime as dt

import pytest
from django.db import DatabaseError, connection, connections, router
from django.test.utils import CaptureQueriesContext

from core.payments.models import Payment
from core.reporting.reports.base import REPORTING_ALIAS, report_db
from core.reporting.reports.month_close import month_close_queryset, month_close_rows
from core.reporting.reports.revenue import revenue_figures
from ops_console.exports import iter_values
from tests.core.reporting.data import booking, ny, pay, refund

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reporting_alias(postgres_only):
    config = copy.deepcopy(connections["default"].settings_dict)
    config["OPTIONS"] = {**config.get("OPTIONS", {}), "options": "-c default_transaction_read_only=on"}
    connections.settings[REPORTING_ALIAS] = config
    replica = connections[REPORTING_ALIAS]
    # Django's test case refuses to *open* a connection to an alias it was not told about at class set-up
    # (this one did not exist then); opening it here directly is the same real connection.
    replica.connect()
    yield replica
    connections[REPORTING_ALIAS].close()
    del connections[REPORTING_ALIAS]
    del connections.settings[REPORTING_ALIAS]


def test_report_selectors_read_only_through_the_reporting_connection(reporting_alias):
    p = pay(booking(pickup=dt.date(2026, 1, 20)), 10000, ny(2026, 1, 31, 23, 30), fee=320)
    refund(p, 2500, ny(2026, 2, 3, 10))
    assert report_db() == REPORTING_ALIAS
    with CaptureQueriesContext(reporting_alias) as replica, CaptureQueriesContext(connection) as primary:
        rows = revenue_figures(start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28), grouping="month")
        ledger = list(month_close_rows(iter_values(month_close_queryset(year=2026, month=2))))
    assert [(r["gross"], r["refunds"]) for r in rows] == [(10000, 0), (0, 2500)]
    assert [r[1] for r in ledger] == ["refund"]
    assert len(replica.captured_queries) == 7 and len(primary.captured_queries) == 0  # 6 figures + 1 ledger


def test_nothing_writes_through_the_reporting_connection(reporting_alias):
    p = pay(booking(pickup=dt.date(2026, 1, 20)), 10000, ny(2026, 1, 31, 23, 30))
    with pytest.raises(DatabaseError, match="read-only transaction"), reporting_alias.cursor() as cursor:
        cursor.execute("UPDATE payments_payment SET reference = 'x'")
    assert router.allow_migrate(REPORTING_ALIAS, "core") is False
    # a row read from the replica is saved to the primary, not back where it came from
    replica_copy = Payment.objects.using(REPORTING_ALIAS).get(pk=p.pk)
    replica_copy.reference = "CHK-1"
    replica_copy.save(update_fields=["reference"])
    assert Payment.objects.get(pk=p.pk).reference == "CHK-1"


def test_without_the_setting_reports_read_the_default_database(db):
    assert report_db() == "default"
