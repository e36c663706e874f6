"""Reports against hand-written SQL GROUP BY, and the month-close export against COPY, in the same run.

Loads N bookings (bench/_data.py; default 1,000,000) into a throwaway PostgreSQL database, adds one Stripe
payment per paid booking (fee 2.9% + 30¢), a refund three days later for each cancelled one, a dispute for
every 500th payment (half of them lost 60 days later, the rest won), two delivery legs per completed booking
(2% of drop-offs failed) and a certificate for every 10th completed booking (INSERT … SELECT, server side),
then times:
  - a 12-month monthly cash revenue report (revenue_figures) vs the same four GROUP BYs written by hand;
  - a 90-day daily operational report (operational_figures) vs its seven GROUP BYs written by hand;
  - the month-close streamed CSV (the console's code path) vs COPY (<the same SELECT>) TO STDOUT.
Goals: reports <= 1.5x their SQL floor; export >= 0.3x COPY rows/s with flat memory (peak RSS growth <= 50 MB).

    python bench/reports.py [--rows N] [--keep] [--repeat R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data  # noqa: E402
from export import proc_status_kb, reset_peak_rss  # noqa: E402

# Our own template and databases: other branches' benches migrate theirs with other migrations.
_data.TEMPLATE_DB = "tt_bench_reports_template"
GOAL_REPORT_RATIO = 1.5
GOAL_EXPORT_RATIO = 0.3
GOAL_GROWTH_MB = 50

MONEY_SQL = """
INSERT INTO payments_payment (created_at, updated_at, booking_id, stripe_payment_intent_id, amount_cents, currency,
    status, method, payment_method_type, stripe_charge_id, stripe_fee_cents, webhook_received, succeeded_at,
    failure_reason, refunded_cents, reference)
SELECT created_at, created_at, id, stripe_payment_intent_id, (total_price * 100)::int, 'usd', 'succeeded', 'stripe',
    'card', 'ch_' || substr(stripe_payment_intent_id, 4), round(total_price * 100 * 0.029 + 30)::int, true,
    created_at + interval '5 minutes', '', 0, ''
  FROM bookings_booking WHERE payment_status IN ('paid', 'refunded');
INSERT INTO payments_refund (created_at, updated_at, payment_id, stripe_refund_id, amount_cents, reason, status, notes,
    failure_reason, processed_at)
SELECT p.succeeded_at + interval '3 days', p.succeeded_at + interval '3 days', p.id, 're_' || p.id, p.amount_cents,
    'requested_by_customer', 'succeeded', '', '', p.succeeded_at + interval '3 days'
  FROM payments_payment p JOIN bookings_booking b ON b.id = p.booking_id WHERE b.status = 'cancelled';
INSERT INTO payments_dispute (created_at, updated_at, payment_id, stripe_dispute_id, amount_cents, currency, reason,
    stripe_status, outcome, opened_at, closed_at)
SELECT succeeded_at + interval '20 days', succeeded_at + interval '80 days', id, 'dp_' || id, amount_cents, 'usd',
    'fraudulent', CASE WHEN id % 1000 = 0 THEN 'lost' ELSE 'won' END, CASE WHEN id % 1000 = 0 THEN 'lost' ELSE 'won' END,
    succeeded_at + interval '20 days', succeeded_at + interval '80 days'
  FROM payments_payment WHERE id % 500 = 0;
ANALYZE payments_payment; ANALYZE payments_refund; ANALYZE payments_dispute;
"""
NINE_NY = "((b.pickup_date + time '09:00') AT TIME ZONE 'America/New_York')"
OPERATIONS_SQL = f"""
INSERT INTO logistics_deliverytask (created_at, updated_at, booking_id, kind, status, onfleet_task_id, onfleet_short_id,
    local_only, dispatch_pending, dispatch_attempts, dispatch_error, proof_pending, window_start, window_end, address,
    contact_name, contact_phone, special_instructions, access_code, driver_name, driver_phone, tracking_url,
    started_at, completed_at, failure_reason, notes)
SELECT b.created_at, b.created_at, b.id, k.kind,
    CASE WHEN k.kind = 'dropoff' AND abs(hashtext(b.booking_number)) % 50 = 0 THEN 'failed' ELSE 'completed' END,
    '', '', true, false, 0, '', false, {NINE_NY}, {NINE_NY} + interval '4 hours', '1 Main St', 'Bench', '', '', '',
    '', '', '', CASE WHEN k.kind = 'pickup' THEN {NINE_NY} END,
    {NINE_NY} + CASE WHEN k.kind = 'pickup' THEN interval '40 minutes'
                     ELSE interval '2 hours' + (abs(hashtext(b.booking_number)) % 240) * interval '1 minute' END, '', ''
  FROM bookings_booking b CROSS JOIN (VALUES ('pickup'), ('dropoff')) AS k(kind) WHERE b.status = 'completed';
WITH docs AS (
  INSERT INTO documents_document (created_at, updated_at, id, document_type, category, booking_id, building_role,
      original_filename, storage_key, size, mime_type, sha256, upload_source, tags, description)
  SELECT b.created_at + interval '1 day', b.created_at + interval '1 day', gen_random_uuid(), 'coi', '', b.id, 'pickup',
      'coi.pdf', 'bench/' || b.id, 1000, 'application/pdf', md5(b.id::text), 'staff', '[]', ''
    FROM bookings_booking b WHERE b.status = 'completed' AND abs(hashtext(b.booking_number)) % 10 = 0
  RETURNING id, booking_id, created_at)
INSERT INTO documents_coi (created_at, updated_at, document_id, booking_id, insured_name, insurers,
    general_liability_policy, holder_name, holder_address, additional_insured, waiver_of_subrogation,
    description_of_operations, status, validation_errors, extraction, validated_at, notes)
SELECT created_at, created_at, id, booking_id, '', '[]', '', '', '', false, false, '', 'valid', '[]', '{{}}',
    created_at + (abs(hashtext(id::text)) % 48) * interval '1 hour', ''
  FROM docs;
ANALYZE logistics_deliverytask; ANALYZE documents_document; ANALYZE documents_coi;
"""

NY = "'America/New_York'"
REVENUE_SQL = [f"""
SELECT date_trunc('month', succeeded_at AT TIME ZONE {NY})::date, SUM(amount_cents), SUM(stripe_fee_cents), COUNT(*),
       COUNT(*) FILTER (WHERE method = 'stripe' AND stripe_fee_cents IS NULL)
  FROM payments_payment WHERE status = 'succeeded' AND succeeded_at >= %(lo)s AND succeeded_at < %(hi)s GROUP BY 1
""", f"""
SELECT date_trunc('month', COALESCE(processed_at, created_at) AT TIME ZONE {NY})::date, SUM(amount_cents), COUNT(*)
  FROM payments_refund WHERE status = 'succeeded' AND COALESCE(processed_at, created_at) >= %(lo)s
   AND COALESCE(processed_at, created_at) < %(hi)s GROUP BY 1
""", f"""
SELECT date_trunc('month', opened_at AT TIME ZONE {NY})::date, SUM(amount_cents), COUNT(*)
  FROM payments_dispute WHERE opened_at >= %(lo)s AND opened_at < %(hi)s GROUP BY 1
""", f"""
SELECT date_trunc('month', closed_at AT TIME ZONE {NY})::date, SUM(amount_cents), COUNT(*)
  FROM payments_dispute WHERE outcome = 'lost' AND closed_at >= %(lo)s AND closed_at < %(hi)s GROUP BY 1
"""]
TIMED = ("t.kind = 'dropoff' AND t.status = 'completed' AND p.started_at IS NOT NULL "
         "AND p.started_at <= t.completed_at")
OPERATIONAL_SQL = [f"""
SELECT date_trunc('day', created_at AT TIME ZONE {NY})::date, COUNT(*), COUNT(*) FILTER (WHERE status = 'cancelled'),
       SUM(pickup_date - (created_at AT TIME ZONE {NY})::date) FILTER (WHERE status <> 'cancelled'),
       COUNT(*) FILTER (WHERE status <> 'cancelled')
  FROM bookings_booking WHERE created_at >= %(lo)s AND created_at < %(hi)s GROUP BY 1
""", """
SELECT pickup_date, COUNT(*), COUNT(*) FILTER (WHERE status = 'completed')
  FROM bookings_booking WHERE pickup_date >= %(start)s AND pickup_date <= %(end)s
   AND status NOT IN ('cancelled', 'pending') GROUP BY 1
""", f"""
SELECT date_trunc('day', cancelled_at AT TIME ZONE {NY})::date, COUNT(*)
  FROM bookings_booking WHERE cancelled_at >= %(lo)s AND cancelled_at < %(hi)s GROUP BY 1
""", """
SELECT date, COUNT(*), SUM(capacity_override) FROM catalog_vanschedule
 WHERE date >= %(start)s AND date <= %(end)s AND is_active AND capacity_override IS NOT NULL GROUP BY 1
""", f"""
SELECT date_trunc('day', created_at AT TIME ZONE {NY})::date, COUNT(*) FROM notifications_notification
 WHERE created_at >= %(lo)s AND created_at < %(hi)s AND status IN ('failed', 'bounced') GROUP BY 1
""", f"""
SELECT date_trunc('day', t.completed_at AT TIME ZONE {NY})::date, COUNT(*) FILTER (WHERE t.status = 'completed'),
       COUNT(*) FILTER (WHERE t.status = 'failed'), SUM(t.completed_at - p.started_at) FILTER (WHERE {TIMED}),
       COUNT(*) FILTER (WHERE {TIMED})
  FROM logistics_deliverytask t LEFT JOIN logistics_deliverytask p ON p.booking_id = t.booking_id AND p.kind = 'pickup'
 WHERE t.completed_at >= %(lo)s AND t.completed_at < %(hi)s AND t.status IN ('completed', 'failed') GROUP BY 1
""", f"""
SELECT date_trunc('day', c.validated_at AT TIME ZONE {NY})::date, SUM(c.validated_at - d.created_at), COUNT(*)
  FROM documents_coi c JOIN documents_document d ON d.id = c.document_id
 WHERE c.validated_at >= %(lo)s AND c.validated_at < %(hi)s AND c.status IN ('valid', 'invalid', 'waived') GROUP BY 1
"""]


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up: plans, caches, buffers
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database if present, keep it after")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    name = f"tt_bench_reports_{args.rows}"
    print(f"reports bench: {args.rows:,} bookings in PostgreSQL database {name}")
    fresh = not (args.keep and _data._loaded_rows(name) == args.rows)
    _data.prepare_database(name, args.rows, keep=args.keep)
    _data.setup_django(name)

    from django.db import connection

    from core.reporting.reports.base import datetime_range
    from core.reporting.reports.files import stream_csv
    from core.reporting.reports.month_close import HEADERS, month_close_queryset, month_close_rows
    from core.reporting.reports.operational import operational_figures
    from core.reporting.reports.revenue import revenue_figures
    from ops_console.exports import iter_values

    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM payments_payment)")
        if fresh or not cursor.fetchone()[0]:
            started = time.perf_counter()
            cursor.execute(MONEY_SQL)
            cursor.execute(OPERATIONS_SQL)
            print(f"  added payments, refunds, disputes, legs and certificates in {time.perf_counter() - started:.1f} s")
        cursor.execute("SELECT (SELECT COUNT(*) FROM payments_payment), (SELECT COUNT(*) FROM payments_refund), "
                       "(SELECT COUNT(*) FROM payments_dispute), (SELECT COUNT(*) FROM logistics_deliverytask), "
                       "(SELECT COUNT(*) FROM documents_coi)")
        payments, refunds, disputes, legs, cois = cursor.fetchone()
    print(f"  {payments:,} payments, {refunds:,} refunds, {disputes:,} disputes, {legs:,} legs, {cois:,} COIs")

    today = dt.date.today()
    end = today.replace(day=1) - dt.timedelta(days=1)
    start = (end.replace(day=1) - dt.timedelta(days=334)).replace(day=1)  # the 12 full months before this one
    ops_end, ops_start = today, today - dt.timedelta(days=89)
    ok = True

    def hand(sqls, params):
        def run():
            with connection.cursor() as cursor:
                for sql in sqls:
                    cursor.execute(sql, params)
                    cursor.fetchall()
        return run

    for label, ours, sqls, lo_hi in (
        (f"revenue, monthly, {start:%Y-%m} to {end:%Y-%m}",
         lambda: revenue_figures(start=start, end=end, grouping="month"), REVENUE_SQL, (start, end)),
        (f"operational, daily, {ops_start} to {ops_end}",
         lambda: operational_figures(start=ops_start, end=ops_end, grouping="day"), OPERATIONAL_SQL,
         (ops_start, ops_end)),
    ):
        lo, hi = datetime_range(*lo_hi)
        floor = best_of(hand(sqls, {"lo": lo, "hi": hi, "start": lo_hi[0], "end": lo_hi[1]}), args.repeat)
        mine = best_of(ours, args.repeat)
        ratio = mine / floor
        ok &= ratio <= GOAL_REPORT_RATIO
        print(f"  {label}: hand SQL {floor * 1000:8.1f} ms, ours {mine * 1000:8.1f} ms, "
              f"ratio {ratio:.2f}x (goal <= {GOAL_REPORT_RATIO}x)")

    # Month close of the busiest month in the data, streamed as the console does, against COPY.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT date_trunc('month', succeeded_at AT TIME ZONE {NY}) FROM payments_payment "
                       "GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1")
        busiest = cursor.fetchone()[0]
    values = month_close_queryset(year=busiest.year, month=busiest.month)
    sql, params = values.query.sql_with_params()
    with connection.cursor() as cursor:
        copy_sql = f"COPY ({connection.ops.compose_sql(sql, params)}) TO STDOUT (FORMAT csv)"
        for _attempt in ("warm-up", "measured"):  # the second is measured
            started = time.perf_counter()
            copy_rows = 0
            with cursor.cursor.copy(copy_sql) as copy:
                for block in copy:
                    copy_rows += bytes(block).count(b"\n")
            copy_seconds = time.perf_counter() - started
    peak_reset = reset_peak_rss()
    rss_before = proc_status_kb("VmRSS")
    started = time.perf_counter()
    ours_rows = sum(chunk.count(b"\n") for chunk in stream_csv(HEADERS, month_close_rows(iter_values(values)))) - 1
    ours_seconds = time.perf_counter() - started
    growth_mb = (proc_status_kb("VmHWM") - rss_before) / 1024
    ratio = (ours_rows / ours_seconds) / (copy_rows / copy_seconds)
    ok &= ratio >= GOAL_EXPORT_RATIO and growth_mb <= GOAL_GROWTH_MB and ours_rows == copy_rows
    print(f"  month close {busiest:%Y-%m}: COPY {copy_rows:,} rows in {copy_seconds:.2f} s, ours {ours_rows:,} rows in "
          f"{ours_seconds:.2f} s; ratio {ratio:.2f}x of COPY rows/s (goal >= {GOAL_EXPORT_RATIO}x); peak RSS growth "
          f"{growth_mb:.1f} MB{'' if peak_reset else ' (upper bound)'} (goal <= {GOAL_GROWTH_MB} MB)")
    connection.close()
    if not args.keep:
        _data.drop_database(name)
        _data.drop_template()
    print(f"  {'OK' if ok else 'GOAL MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
