"""The per-process catalog cache: one query per read, and every catalog change is seen at once."""

import datetime as dt
from decimal import Decimal

import pytest

from core.catalog.models import MiniMovePackage, SurchargeRule, VanSchedule
from core.catalog.selectors import catalog_snapshot

pytestmark = pytest.mark.django_db

WEDNESDAY = dt.date(2027, 3, 10)


def test_one_query_per_snapshot_once_warm(catalog, django_assert_num_queries):
    catalog_snapshot(WEDNESDAY)
    with django_assert_num_queries(1):
        snapshot = catalog_snapshot(WEDNESDAY)
    assert snapshot.packages["petite"].base_price == Decimal("995.00")


def test_inserts_edits_deletes_and_van_overrides_are_seen_immediately(catalog):
    assert [r.code for r in catalog_snapshot(WEDNESDAY).surcharge_rules] == [
        "federal_holiday", "peak_season", "weekend"]
    rule = SurchargeRule.objects.create(code="midweek", name="Midweek", rule_type="day_of_week",
                                        amount=Decimal("10"), weekdays=[3])
    assert "midweek" in [r.code for r in catalog_snapshot(WEDNESDAY).surcharge_rules]
    rule.is_active = False
    rule.save()
    assert "midweek" not in [r.code for r in catalog_snapshot(WEDNESDAY).surcharge_rules]
    SurchargeRule.objects.filter(code="weekend").delete()
    assert [r.code for r in catalog_snapshot(WEDNESDAY).surcharge_rules] == ["federal_holiday", "peak_season"]
    package = MiniMovePackage.objects.get(code="full")
    package.base_price = Decimal("2600.00")
    package.save()
    assert catalog_snapshot(WEDNESDAY).packages["full"].base_price == Decimal("2600.00")
    VanSchedule.objects.create(date=WEDNESDAY, surcharge_override=Decimal("80.00"))
    assert catalog_snapshot(WEDNESDAY).surcharge_override == Decimal("80.00")
    assert catalog_snapshot(WEDNESDAY + dt.timedelta(days=1)).surcharge_override is None


def test_the_pricing_read_is_a_prepared_statement_on_postgresql(postgres_only, catalog):
    from django.db import connection

    for _ in range(6):  # psycopg prepares a statement on its 5th run on a connection
        catalog_snapshot(WEDNESDAY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%LEFT JOIN catalog_vanschedule van%"])
        assert cursor.fetchone()[0] == 1
