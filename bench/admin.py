"""The booking changelist and the console dashboard at 1k and 1M bookings (PostgreSQL), same run.

For each size, a superuser requests through Django's test Client:
  changelist page 1, changelist filtered by status=paid, changelist page 50 (or the last page, at 1k),
  changelist page 1 of every booking (when=all; the list defaults to upcoming pickups), and admin:index
  (the dashboard, whatever it renders at the time).
Prints per page: query counts (goal: the same at both sizes), whether an unfiltered COUNT(*) on bookings ran
at each size (goal: never at the large size; ops_console/paginator.py's one statement takes its exact-count
branch only below 10k estimated rows, by design), the median time of 5 requests after one warm-up, and the ratio 1M/1k (goal <= 2x).

    python bench/admin.py [--rows N] [--small N] [--keep]     (--keep: reuse/keep the loaded databases)
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data  # noqa: E402

REPEATS = 5
GOAL_RATIO = 2.0
INFORMATIONAL = {"changelist when=all p1"}  # the "All pickups" view; the goals name the other pages
_UNFILTERED_COUNT = re.compile(r'SELECT COUNT\(\*\)(?:(?!\bWHERE\b).)*FROM "bookings_booking"(?:(?!\bWHERE\b).)*$',
                               re.IGNORECASE | re.DOTALL)


def last_page(user) -> int:
    """The number of pages of the booking list as the console shows it by default (its own ChangeList)."""
    from django.contrib import admin
    from django.test import RequestFactory

    from core.models import Booking

    request = RequestFactory().get("/admin/core/booking/")
    request.user = user
    return admin.site._registry[Booking].get_changelist_instance(request).paginator.num_pages


def pages(last: int) -> list[tuple[str, str, dict]]:
    page = min(50, last)
    return [
        ("changelist p1", "/admin/core/booking/", {}),
        ("changelist status=paid", "/admin/core/booking/", {"status__exact": "paid"}),
        (f"changelist p{page}" if page == 50 else f"changelist p50 (p{page}: last)", "/admin/core/booking/",
         {"p": str(page)}),
        # the console's booking list shows upcoming pickups by default; "all" is the whole table
        ("changelist when=all p1", "/admin/core/booking/", {"when": "all"}),
        ("dashboard (admin:index)", "/admin/", {}),
    ]


def measure() -> dict[str, dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from core.models import User

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench-password-not-secret")
    client = Client()
    client.force_login(user)
    results = {}
    for label, url, query in pages(last_page(user)):
        response = client.get(url, query)  # warm-up: caches, templates, the database's buffers
        assert response.status_code == 200, (label, response.status_code, response.get("Location"))
        with CaptureQueriesContext(connection) as captured:
            client.get(url, query)
        # read now: captured_queries slices connection.queries, which the next request resets
        sqls = [q["sql"] for q in captured.captured_queries]
        sql_ms = [float(q["time"]) * 1000 for q in captured.captured_queries]
        times = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            response = client.get(url, query)
            times.append(time.perf_counter() - started)
        results[label] = {
            "queries": len(sqls),
            "unfiltered_count": any(_UNFILTERED_COUNT.search(sql) for sql in sqls)
            or (any("pg_class" in sql and "COUNT(*)" in sql.upper() for sql in sqls) and _paginator_counts()),
            "counts": sum("COUNT(" in sql.upper() for sql in sqls),
            "ms": statistics.median(times) * 1000,
            "sqls": sqls,
            "sql_ms": sql_ms,  # of the captured request (DEBUG cursor timing)
        }
    return results


def snapshot_finished_days(days: int = 30) -> None:
    """Steady state: the hourly metrics job has snapshotted every finished day the dashboard shows."""
    import datetime as dt

    from django.utils import timezone

    from core.reporting.services import daily_metrics_compute

    started = time.perf_counter()
    today = timezone.localdate()
    for back in range(1, days):
        daily_metrics_compute(day=today - dt.timedelta(days=back))
    print(f"  snapshotted {days - 1} finished days in {time.perf_counter() - started:.1f} s")


def _paginator_counts() -> bool:
    """Whether the paginator's one statement takes its exact COUNT(*) branch (PostgreSQL skips it otherwise)."""
    from django.db import connection

    from ops_console.paginator import EXACT_COUNT_BELOW

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'bookings_booking'::regclass")
        return cursor.fetchone()[0] < EXACT_COUNT_BELOW


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded databases if present, keep them after")
    parser.add_argument("--show-sql", action="store_true", help="print the queries of each page at the large size")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="No directory at")

    sizes = [args.small, args.rows]
    print(f"admin bench: booking changelist and dashboard at {args.small:,} and {args.rows:,} bookings (PostgreSQL)")
    for rows in sizes:
        _data.prepare_database(_data.bench_db_name(rows), rows, keep=args.keep)
    _data.setup_django(_data.bench_db_name(sizes[0]))

    measured = {}
    for rows in sizes:
        _data.switch_database(_data.bench_db_name(rows))
        snapshot_finished_days()
        measured[rows] = measure()

    small, large = measured[args.small], measured[args.rows]
    print(f"  {'page':32} {'queries':>9} {'unfiltered COUNT(*)':>20} {'ms (SQL ms) ' + format(args.small, ','):>20} "
          f"{'ms (SQL ms) ' + format(args.rows, ','):>24} {'ratio':>6}")
    ok = True
    informational = []
    for label, label_large in zip(small, large, strict=True):
        s, big = small[label], large[label_large]
        ratio = big["ms"] / s["ms"]
        same = s["queries"] == big["queries"]
        meets = same and not big["unfiltered_count"] and ratio <= GOAL_RATIO
        if label in INFORMATIONAL:
            informational.append((label, meets))
        else:
            ok &= meets
        flags = f"{'yes' if s['unfiltered_count'] else 'no'} / {'YES' if big['unfiltered_count'] else 'no'}"
        print(f"  {label_large:32} {s['queries']:>3} vs {big['queries']:<3}{' ' if same else '!'} {flags:>20} "
              f"{s['ms']:>10.1f} ({sum(s['sql_ms']):>6.1f}) {big['ms']:>14.1f} ({sum(big['sql_ms']):>6.1f}) "
              f"{ratio:>5.2f}x")
        if args.show_sql:
            for sql, ms in zip(big["sqls"], big["sql_ms"], strict=True):
                print(f"      {ms:8.1f} ms  {sql[:240]}")
    print(f"  goals (list p1, filtered, p50, dashboard): same query count at both sizes, no unfiltered COUNT(*), "
          f"ratio <= {GOAL_RATIO}x: {'OK' if ok else 'MISSED'}")
    for label, meets in informational:
        print(f"  not a goal, measured for the record: {label}: {'within' if meets else 'outside'} the same bounds "
              "(upcoming-then-past ordering over every booking cannot use an index)")

    from django.db import connections

    connections.close_all()
    if not args.keep:
        for rows in sizes:
            _data.drop_database(_data.bench_db_name(rows))
        _data.drop_template()
    return 0


if __name__ == "__main__":
    sys.exit(main())
