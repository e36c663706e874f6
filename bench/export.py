"""Streaming booking CSV export (the console's export-stream view) against PostgreSQL's own COPY … TO STDOUT.

Loads N bookings (default 1,000,000) into a throwaway PostgreSQL database, then, in the same run:
  baseline: COPY (<the export's own SELECT>) TO STDOUT (FORMAT csv), read by psycopg and discarded;
  ours:     GET admin:core_booking_export_stream as a superuser through Django's test Client, consuming
            the StreamingHttpResponse.
Prints rows/s of both, the ratio (goal >= 0.3x COPY) and our peak RSS growth (goal <= 50 MB).

    python bench/export.py [--rows N] [--keep]     (--keep: reuse/keep the loaded database between runs)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data  # noqa: E402

GOAL_RATIO = 0.3
GOAL_GROWTH_MB = 50
urlpatterns: list = []  # filled in when BookingAdmin does not include StreamingExportMixin yet


def proc_status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
        return True
    except OSError:
        return False


def stream_admin_and_url():
    """The registered Booking admin if it already streams, else a private admin site carrying the mixin."""
    global urlpatterns
    from django.contrib import admin
    from django.contrib.admin import AdminSite
    from django.urls import path, reverse

    from core.models import Booking
    from ops_console.exports import StreamingExportMixin

    registered = admin.site._registry[Booking]
    if isinstance(registered, StreamingExportMixin):
        return registered, reverse("admin:core_booking_export_stream"), None
    site = AdminSite(name="bench_admin")
    site.register(Booking, type("StreamingBookingAdmin", (StreamingExportMixin, type(registered)), {}))
    urlpatterns = [path("bench-admin/", site.urls)]
    return site._registry[Booking], "/bench-admin/core/booking/export-stream/", __name__


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database if present, keep it after")
    parser.add_argument("--filter", default="when=all",
                        help="changelist query string to export (default: when=all, every booking; the console's "
                             "booking list shows upcoming pickups unless told otherwise)")
    args = parser.parse_args()

    name = _data.bench_db_name(args.rows)
    print(f"export bench: {args.rows:,} bookings in PostgreSQL database {name}, export filter {args.filter!r}")
    _data.prepare_database(name, args.rows, keep=args.keep)
    _data.setup_django(name)

    from django.db import connection
    from django.http import QueryDict
    from django.test import Client, RequestFactory, override_settings

    from core.models import User
    from ops_console.exports import BOOKING_STREAM_FIELDS

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench-password-not-secret")
    model_admin, url, urlconf = stream_admin_and_url()
    from django.contrib.admin.options import IncorrectLookupParameters

    query = QueryDict(args.filter).dict()

    # Baseline: PostgreSQL runs the export's own SELECT (same joins, filters and ordering) and writes CSV.
    request = RequestFactory().get(url, query)
    request.user = user
    try:
        queryset = model_admin.get_stream_export_queryset(request)
    except IncorrectLookupParameters:
        print(f"  (the booking changelist does not know the filter {args.filter!r}; exporting unfiltered)")
        query = {}
        request = RequestFactory().get(url)
        request.user = user
        queryset = model_admin.get_stream_export_queryset(request)
    values = queryset.values_list(*BOOKING_STREAM_FIELDS)
    sql, params = values.query.sql_with_params()
    with connection.cursor() as cursor:
        copy_sql = f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT (FORMAT csv, HEADER)"
        for attempt in ("warm-up", "measured"):
            started = time.perf_counter()
            copy_bytes = copy_rows = 0
            with cursor.cursor.copy(copy_sql) as copy:
                for block in copy:
                    copy_bytes += len(block)
                    copy_rows += bytes(block).count(b"\n")
            copy_seconds = time.perf_counter() - started
            if attempt == "warm-up":
                print(f"  (warm-up COPY: {copy_seconds:.2f} s)")
    copy_rows -= 1  # header
    connection.close()

    # Ours: the real view, through the middleware stack, as a logged-in superuser.
    client = Client()
    client.force_login(user)
    peak_reset = reset_peak_rss()
    rss_before = proc_status_kb("VmRSS")
    with override_settings(ROOT_URLCONF=urlconf) if urlconf else contextlib.nullcontext():
        started = time.perf_counter()
        response = client.get(url, query)
        assert response.status_code == 200, response.status_code
        assert response.streaming, "the export must stream"
        ours_bytes = ours_rows = 0
        for chunk in response.streaming_content:
            ours_bytes += len(chunk)
            ours_rows += chunk.count(b"\n")
        ours_seconds = time.perf_counter() - started
    ours_rows -= 1
    growth_mb = (proc_status_kb("VmHWM") - rss_before) / 1024

    copy_rate = copy_rows / copy_seconds
    ours_rate = ours_rows / ours_seconds
    ratio = ours_rate / copy_rate
    print(f"  COPY … TO STDOUT : {copy_rows:>9,} rows in {copy_seconds:6.2f} s = {copy_rate:>9,.0f} rows/s "
          f"({copy_bytes / 2**20:,.0f} MB)")
    print(f"  streaming export : {ours_rows:>9,} rows in {ours_seconds:6.2f} s = {ours_rate:>9,.0f} rows/s "
          f"({ours_bytes / 2**20:,.0f} MB)")
    print(f"  ratio ours/COPY  : {ratio:.2f}x   (goal >= {GOAL_RATIO}x)")
    print(f"  peak RSS growth  : {growth_mb:.1f} MB (goal <= {GOAL_GROWTH_MB} MB"
          f"{'' if peak_reset else '; VmHWM could not be reset, so this is an upper bound'})")
    ok = ours_rows == copy_rows and ratio >= GOAL_RATIO and growth_mb <= GOAL_GROWTH_MB
    if ours_rows != copy_rows:
        print(f"  MISMATCH: ours exported {ours_rows:,} rows, COPY {copy_rows:,}")

    if not args.keep:
        _data.drop_database(name)
        _data.drop_template()
    print(f"  {'OK' if ok else 'GOAL MISSED'}")
    return 0 if ours_rows == copy_rows else 1


if __name__ == "__main__":
    sys.exit(main())
