"""Onfleet webhook acknowledgements against the health endpoint, and dispatch throughput under Onfleet's limit.

1. Webhook ack: 10,000 signed Onfleet deliveries (10 % of them duplicates) POSTed in-process through the test
   client (full middleware, real URLconf) to /api/v1/webhooks/onfleet/, alternating with GET /api/v1/health/
   (the baseline, one SELECT 1). Only the acknowledgement is timed, as Onfleet sees it (verify, store once,
   enqueue after commit; no consumer runs). Goal: p99 <= 200 ms, 0 errors.
2. Dispatch: 300 paid bookings dispatched by 8 threads (like Huey's workers) against the fake Onfleet on
   127.0.0.1, which answers 429 + Retry-After past 20 requests/s. Goal: Onfleet calls sustained at >= 0.8x of
   that ceiling, 0 duplicate tasks, 0 failed dispatches.

    python bench/logistics.py [--events 10000] [--bookings 300]

Database: $DATABASE_URL when it is PostgreSQL (created if missing, migrated), otherwise a throwaway SQLite file
(dispatch threads then take turns on the file). Huey: Redis at $REDIS_URL when set (queue
"totetaxi-bench-logistics", flushed afterwards), otherwise a throwaway SQLite queue. Bounded: a hard alarm
stops it after 420 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HARD_LIMIT_SECONDS = 420
GOAL_ACK_P99_MS = 200.0
CEILING = 20
GOAL_RATE = 0.8 * CEILING
THREADS = 8

from bench.webhooks import _pct, bench_environment, run_bounded  # noqa: E402


def _setup(workdir: Path, secret: str) -> None:
    bench_environment(workdir, "totetaxi-bench-logistics", ONFLEET_WEBHOOK_SECRET=secret, LOG_LEVEL="ERROR",
                      MEDIA_ROOT=str(workdir / "media"), TOTETAXI_DAILY_CAPACITY="50")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "totetaxi.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("loaddata", "catalog", verbosity=0)


def bench_webhooks(fake, events: int) -> bool:
    from django.test import Client

    from core.logistics.models import TrackingUpdate

    TrackingUpdate.objects.filter(onfleet_task_id__startswith="bench").delete()  # a previous run's
    client = Client()
    triggers = ["taskAssigned", "taskStarted", "taskEta", "taskArrival", "taskCompleted"]
    bodies = []
    for n in range(events):
        task = {"id": f"bench{n // 5:07d}", "state": 1, "worker": None, "metadata": [], "completionDetails": {}}
        bodies.append(fake.webhook(triggers[n % 5], task))
    deliveries = bodies + bodies[: events // 10]  # Onfleet retries: 10 % again
    timings: dict[str, list[float]] = {"health (baseline)": [], "onfleet webhook ack": []}
    errors = 0
    for i, (body, signature) in enumerate(deliveries):
        t0 = time.perf_counter()
        status = client.post("/api/v1/webhooks/onfleet/", data=body, content_type="application/json",
                             HTTP_X_ONFLEET_SIGNATURE=signature).status_code
        timings["onfleet webhook ack"].append(time.perf_counter() - t0)
        errors += status != 200
        if i % 2 == 0:
            t0 = time.perf_counter()
            errors += client.get("/api/v1/health/").status_code != 200
            timings["health (baseline)"].append(time.perf_counter() - t0)
    stored = TrackingUpdate.objects.filter(onfleet_task_id__startswith="bench").count()
    base_p50, base_p99 = _pct(timings["health (baseline)"], 0.5), _pct(timings["health (baseline)"], 0.99)
    print(f"{'kind':<22}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'p50 ×base':>11}{'p99 ×base':>11}")
    for name, values in timings.items():
        p50, p99 = _pct(values, 0.5), _pct(values, 0.99)
        print(f"{name:<22}{len(values):>9}{p50:>9.2f}{p99:>9.2f}{p50 / base_p50:>11.2f}{p99 / base_p99:>11.2f}")
    ack_p99 = _pct(timings["onfleet webhook ack"], 0.99)
    ok = errors == 0 and stored == events and ack_p99 <= GOAL_ACK_P99_MS
    print(f"events stored once: {stored} of {events} ({len(deliveries) - events} duplicates); errors: {errors}; "
          f"goal ack p99 <= {GOAL_ACK_P99_MS:.0f} ms, 0 errors: {'met' if ok else 'NOT met'}")
    return ok


def _paid_bookings(count: int) -> list:
    from django.utils import timezone

    from core.bookings.services import booking_create
    from core.payments.services import payment_record_offline
    from tests.factories import UserFactory, booking_request

    staff = UserFactory(username=f"bench-cashier-{time.time_ns()}")
    day, ids = timezone.localdate() + dt.timedelta(days=3), []
    while len(ids) < count:
        day += dt.timedelta(days=1)
        for _ in range(min(40, count - len(ids))):
            try:
                booking, _ = booking_create(request=booking_request(pickup_date=day))
            except Exception:  # noqa: BLE001 - a closed day or holiday: try the next one
                break
            payment_record_offline(booking=booking, amount=booking.total_price, method="cash", reference="",
                                   actor=staff)
            ids.append(booking.pk)
    return ids


def bench_dispatch(fake, count: int) -> bool:
    from django.conf import settings
    from django.db import connection

    from core.logistics.dispatch import dispatch_run
    from core.logistics.models import DeliveryTask

    settings.ONFLEET_API_KEY = ""  # paying must not dispatch yet (the queue has no consumer anyway)
    ids = _paid_bookings(count)
    settings.ONFLEET_API_KEY, settings.ONFLEET_API_BASE = fake.api_key, fake.api_base
    fake.rate_limit, fake.retry_after = CEILING, 1
    before = len(fake.api_calls)

    def run(booking_id) -> bool:
        try:
            return dispatch_run(booking_id=booking_id)
        except Exception as exc:  # noqa: BLE001 - counted and shown
            print(f"dispatch of {booking_id} failed: {exc}")
            return False
        finally:
            connection.close()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(run, ids))
    elapsed = time.perf_counter() - t0
    calls = len(fake.api_calls) - before
    per_booking: dict[str, list[dict]] = {}
    for task in fake.tasks.values():
        meta = {m["name"]: m["value"] for m in task["metadata"]}
        per_booking.setdefault(meta.get("totetaxi_booking_id", ""), []).append(task)
    ours = [per_booking.get(str(pk), []) for pk in ids]
    duplicates = sum(max(0, len(tasks) - 2) for tasks in ours)
    broken = sum(1 for tasks in ours if len(tasks) == 2 and not any(
        [p["id"]] == d["dependencies"] for p in tasks if p["pickupTask"] for d in tasks if not d["pickupTask"]))
    linked = DeliveryTask.objects.filter(booking_id__in=ids, dispatch_pending=False).exclude(onfleet_task_id="").count()
    failed = results.count(False)
    rate = calls / elapsed
    print(f"dispatched {count} bookings with {THREADS} threads in {elapsed:.1f} s: {calls} Onfleet calls "
          f"({rate:.1f}/s = {rate / CEILING:.2f}× the {CEILING}/s ceiling), 429s answered: {fake.throttled}")
    ok = failed == 0 and duplicates == 0 and broken == 0 and linked == 2 * count and rate >= GOAL_RATE
    print(f"failed dispatches: {failed}; duplicate tasks: {duplicates}; broken dependencies: {broken}; "
          f"legs linked: {linked} of {2 * count}; goal >= {GOAL_RATE:.0f} calls/s, 0 duplicates, 0 failures: "
          f"{'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--bookings", type=int, default=300)
    args = parser.parse_args()
    return run_bounded("bench/logistics.py", HARD_LIMIT_SECONDS, lambda workdir: _run(args, workdir))


def _run(args, workdir: Path) -> int:
    from tests.fakes.onfleet_server import FakeOnfleetServer

    fake = FakeOnfleetServer(rate_limit=0)
    _setup(workdir, fake.webhook_secret)
    from django.db import connection
    from huey.contrib.djhuey import HUEY

    print(f"bench/logistics.py — {connection.vendor}")
    webhooks_ok = bench_webhooks(fake, args.events)
    with fake:
        dispatch_ok = bench_dispatch(fake, args.bookings)
    HUEY.flush()  # nothing consumes this queue: leave no jobs behind
    return 0 if webhooks_ok and dispatch_ok else 1


if __name__ == "__main__":
    sys.exit(main())
