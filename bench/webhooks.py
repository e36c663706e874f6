"""Stripe webhook acknowledgement latency against the health endpoint, in the same process and run.

Drives the Django app in-process through its test client (full middleware stack, real URLconf):
  baseline: GET  /api/v1/health/               (one SELECT 1)
  ours:     POST /api/v1/webhooks/stripe/      signed payment_intent.succeeded events, each new (verify the
                                               signature over the raw body, store the event once, enqueue the
                                               Huey job after commit: the consumer is not running, so only
                                               the acknowledgement is timed, as Stripe sees it)
            POST /api/v1/webhooks/stripe/      the same events again (duplicate deliveries)
Requests alternate between the kinds so machine noise hits all alike. Prints p50/p99 of each and the ratio
of the webhook's to the baseline's. Goal: ack p99 <= 50 ms.

    python bench/webhooks.py [--requests 600]

Database: $DATABASE_URL when set (e.g. postgres://postgres@127.0.0.1:5432/tt_bench_wh, created if missing and
migrated), otherwise a throwaway SQLite file. Huey: Redis at $REDIS_URL when set (queue "totetaxi-bench-webhooks",
flushed afterwards), otherwise a throwaway SQLite queue. Bounded: a hard alarm stops it after 55 s.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARD_LIMIT_SECONDS = 55
GOAL_P99_MS = 50.0
SECRET = "whsec_bench_current"
OLD_SECRET = "whsec_bench_previous"


class Timeout(Exception):
    pass


def _ensure_pg_database(url: str) -> None:
    """CREATE DATABASE when the PostgreSQL database named by url does not exist yet."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _event(n: int) -> dict:
    pi_id = f"pi_bench{n:06d}{secrets.token_hex(6)}"
    now = int(time.time())
    return {
        "id": f"evt_bench{n:06d}{secrets.token_hex(8)}", "object": "event", "api_version": "2025-01-01",
        "created": now, "livemode": False, "pending_webhooks": 1, "type": "payment_intent.succeeded",
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": {
            "id": pi_id, "object": "payment_intent", "amount": 99500, "amount_received": 99500,
            "currency": "usd", "status": "succeeded", "client_secret": f"{pi_id}_secret_x",
            "latest_charge": f"ch_bench{n:06d}", "created": now, "livemode": False,
            "metadata": {"booking_id": "00000000-0000-0000-0000-000000000000"},
            "payment_method_types": ["card"], "last_payment_error": None, "description": "ToteTaxi booking",
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "always"},
        }},
    }


def _sign(payload: bytes, secret: str = SECRET) -> str:
    import hashlib
    import hmac

    ts = int(time.time())
    return f"t={ts},v1={hmac.new(secret.encode(), f'{ts}.'.encode() + payload, hashlib.sha256).hexdigest()}"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def bench_environment(workdir: Path, queue: str, **extra: str) -> None:
    """The settings a bench runs under: $DATABASE_URL when PostgreSQL (created if missing), else SQLite in
    `workdir`; Redis at $REDIS_URL (queue `queue`) or a throwaway SQLite queue; nothing run inline."""
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        _ensure_pg_database(database_url)
    else:
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.update({
        "DATABASE_URL": database_url, "TOTETAXI_TESTING": "1", "DEBUG": "0",
        "REDIS_URL": os.environ.get("REDIS_URL", ""), "HUEY_NAME": queue, "HUEY_IMMEDIATE": "0",
        "HUEY_SQLITE_PATH": str(workdir / "huey.sqlite3"), "ALLOWED_HOSTS": "testserver,localhost",
        "AXES_ENABLED": "0", "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-not-used-anywhere-else"),
        **extra,
    })


def run_bounded(name: str, seconds: int, run: Callable[[Path], int]) -> int:
    """`run(workdir)` with a throwaway work dir, stopped by a hard alarm after `seconds` (exit status 2)."""

    def _alarm(signum, frame):
        raise Timeout(f"{name} exceeded {seconds} s")

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    workdir = Path(tempfile.mkdtemp(prefix=f"tt-{Path(name).stem}-"))
    try:
        return run(workdir)
    except Timeout as exc:
        print(exc)
        return 2
    finally:
        signal.alarm(0)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="per kind (default 600)")
    args = parser.parse_args()
    return run_bounded("bench/webhooks.py", HARD_LIMIT_SECONDS, lambda workdir: _run(args, workdir))


def _run(args, workdir: Path) -> int:
    started = time.perf_counter()
    bench_environment(workdir, "totetaxi-bench-webhooks", STRIPE_WEBHOOK_SECRET=f"{SECRET},{OLD_SECRET}",
                      STRIPE_SECRET_KEY="", LOG_LEVEL="WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "totetaxi.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0, interactive=False)
    from core.payments.models import ProviderEvent

    ProviderEvent.objects.filter(event_id__startswith="evt_bench").delete()
    client = Client()
    setup_seconds = time.perf_counter() - started

    bodies = [json.dumps(_event(n), separators=(",", ":")).encode() for n in range(args.requests + 50)]

    def health() -> tuple[float, int]:
        t0 = time.perf_counter()
        status = client.get("/api/v1/health/").status_code
        return time.perf_counter() - t0, status

    def webhook(body: bytes) -> tuple[float, int]:
        header = _sign(body)
        t0 = time.perf_counter()
        status = client.post("/api/v1/webhooks/stripe/", data=body, content_type="application/json",
                             HTTP_STRIPE_SIGNATURE=header).status_code
        return time.perf_counter() - t0, status

    for body in bodies[:50]:  # warm-up: imports, connections, caches
        health()
        webhook(body)
    timings: dict[str, list[float]] = {"health (baseline)": [], "webhook, new event": [],
                                       "webhook, duplicate": []}
    bad = 0
    for body in bodies[50:]:
        for name, call in (("health (baseline)", health), ("webhook, new event", lambda b=body: webhook(b)),
                           ("webhook, duplicate", lambda b=body: webhook(b))):
            elapsed, status = call()
            if status != 200:
                bad += 1
            timings[name].append(elapsed)
    measured = time.perf_counter() - started - setup_seconds
    stored = ProviderEvent.objects.filter(event_id__startswith="evt_bench").count()

    base_p50, base_p99 = _pct(timings["health (baseline)"], 0.5), _pct(timings["health (baseline)"], 0.99)
    print(f"bench/webhooks.py — {args.requests} requests per kind, in-process test client, "
          f"{django.db.connection.vendor}; setup {setup_seconds:.1f} s, measured {measured:.1f} s")
    print(f"{'kind':<22}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'p50 ×base':>11}{'p99 ×base':>11}")
    for name, values in timings.items():
        p50, p99 = _pct(values, 0.5), _pct(values, 0.99)
        print(f"{name:<22}{p50:>9.2f}{p99:>9.2f}{statistics.fmean(values) * 1000:>9.2f}"
              f"{p50 / base_p50:>11.2f}{p99 / base_p99:>11.2f}")
    ack_p99 = _pct(timings["webhook, new event"], 0.99)
    ok = bad == 0 and stored == len(bodies) and ack_p99 <= GOAL_P99_MS
    print(f"events stored: {stored} of {len(bodies)} (each once); non-200 answers: {bad}; "
          f"goal ack p99 <= {GOAL_P99_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    from huey.contrib.djhuey import HUEY

    HUEY.flush()  # nothing consumes this queue: leave no jobs behind
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
