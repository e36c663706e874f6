"""Marketing-site load with staff console page loads mixed in, against gunicorn on PostgreSQL + Redis.

Bounded concurrent clients (processes) run for a fixed time, each request drawn from a weighted mix:
catalog, availability, calculate-price, preview, create (+ create-intent on the new booking, against a local
fake Stripe), signed Stripe webhooks, and console changelist loads by a signed-in, two-factor-verified staff
user. First the same clients hit /api/v1/health/ alone: the mix's throughput is printed relative to it.
Afterwards the database is checked for overbooking (bookings holding capacity on a day above that day's
capacity). Goals: 0 errors, p99 <= 300 ms at 32 clients, no overbooking.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tt_bench_load REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/load.py [--seconds 20] [--concurrency 32] [--workers 4]

Uses its own throwaway database on $DATABASE_URL's server and its own Huey queue on $REDIS_URL; both are
removed afterwards. Bounded: a hard alarm stops everything after 170 s.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing as mp
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import (  # noqa: E402
    drop_postgres_database,
    ensure_postgres_database,
    free_port,
    summarise,
    wait_ready,
)
from tests.fakes.stripe_server import FAKE_SECRET_KEY, FAKE_WEBHOOK_SECRET, FakeStripeServer  # noqa: E402

HARD_LIMIT_SECONDS = 170
GOAL_P99_MS = 300.0
CAPACITY = 12
# (kind, weight): what a marketing site sends, plus some staff console traffic.
MIX = [("catalog", 18), ("availability", 18), ("calculate-price", 14), ("preview", 14), ("create", 8),
       ("webhook", 10), ("console", 6), ("health", 12)]
# Refusals the API answers by design under this load (a full day, an idempotent replay) are not errors.
EXPECTED = {"create": {201, 409}}
STAFF_SESSION = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
user = get_user_model().objects.create_superuser("loadbench", "loadbench@example.com", "x" * 24, role="admin")
device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
session = SessionStore()
session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                HASH_SESSION_KEY: user.get_session_auth_hash(), DEVICE_ID_SESSION_KEY: device.persistent_id})
session.create()
print(session.session_key)
"""


def _alarm(signum, frame):
    raise TimeoutError(f"bench/load.py exceeded {HARD_LIMIT_SECONDS} s")


def call(port, method, path, body=None, headers=None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        sent = dict(headers or {})
        if body is not None and "Content-Type" not in sent:
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def documented_booking(port) -> dict:
    """The booking the site would send: POST bookings/'s documented example (as a front-end developer reads it
    from the OpenAPI document), without its add-ons. Read over HTTP: this process never imports Django."""
    document = json.loads(call(port, "GET", "/api/v1/openapi.json")[1])
    schema = document["paths"]["/api/v1/bookings/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    example = dict(schema.get("example") or schema["examples"][0])
    return example | {"specialty_items": [], "coi_required": False, "notes": ""}


def _signed_webhook(n: int) -> tuple[bytes, str]:
    event = {"id": f"evt_load_{os.getpid()}_{n}", "object": "event", "type": "charge.refund.updated",
             "created": int(time.time()), "livemode": False, "api_version": "2025-01-01.fake",
             "data": {"object": {"id": f"re_load_{n}", "object": "refund", "status": "succeeded"}}}
    payload = json.dumps(event, separators=(",", ":")).encode()
    ts = int(time.time())
    mac = hmac.new(FAKE_WEBHOOK_SECRET.encode(), f"{ts}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={ts},v1={mac}"


def _client(port, plan, stop_at, out):
    """One client: weighted random requests until `stop_at`; returns {kind: (latencies, errors)}."""
    rng = random.Random(os.getpid())
    kinds, weights = zip(*plan["mix"], strict=True)
    results: dict[str, tuple[list, int]] = {}
    n = 0
    while time.perf_counter() < stop_at:
        kind = rng.choices(kinds, weights)[0]
        n += 1
        day = rng.choice(plan["dates"])
        body, headers, method, path = None, {}, "GET", ""
        if kind == "health":
            path = "/api/v1/health/"
        elif kind == "catalog":
            path = "/api/v1/services/packages/"
        elif kind == "availability":
            path = f"/api/v1/services/availability/{day}/?service_type=mini_move"
        elif kind in ("calculate-price", "preview"):
            method, body = "POST", json.dumps({k: v for k, v in plan["payload"].items()
                                               if k not in ("customer", "pickup_address", "dropoff_address")}
                                              | {"pickup_date": day}).encode()
            path = "/api/v1/services/calculate-price/" if kind == "calculate-price" else "/api/v1/bookings/preview/"
        elif kind == "create":
            method, path = "POST", "/api/v1/bookings/"
            body = json.dumps(plan["payload"] | {"pickup_date": day, "customer": {
                "name": "Load Test", "email": f"load{os.getpid()}-{n}@example.com", "phone": "+12125550123"}}).encode()
        elif kind == "webhook":
            method, path = "POST", "/api/v1/webhooks/stripe/"
            body, signature = _signed_webhook(n)
            headers = {"Stripe-Signature": signature}
        elif kind == "console":
            path, headers = "/admin/core/booking/", {"Cookie": f"sessionid={plan['session']}"}
        start = time.perf_counter()
        try:
            status, raw = call(port, method, path, body, headers)
        except OSError:
            status, raw = 0, b""
        elapsed = time.perf_counter() - start
        _record(results, kind, elapsed, status)
        if kind == "create" and status == 201:
            booking = json.loads(raw)
            start = time.perf_counter()
            try:
                status, _ = call(port, "POST", "/api/v1/payments/create-intent/",
                                 json.dumps({"booking_id": booking["id"]}).encode(),
                                 {"X-Booking-Token": booking["access_token"]})
            except OSError:
                status = 0
            _record(results, "create-intent", time.perf_counter() - start, status)
    out.put(results)


def _record(results, kind, elapsed, status) -> None:
    lats, errors = results.setdefault(kind, ([], 0))
    ok = status in EXPECTED.get(kind, set()) or 200 <= status < 300
    if ok:
        lats.append(elapsed)
    results[kind] = (lats, errors + (0 if ok else 1))


def run(port, plan, *, concurrency, seconds) -> dict[str, tuple[list, int]]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    stop_at = time.perf_counter() + seconds
    procs = [ctx.Process(target=_client, args=(port, plan, stop_at, out)) for _ in range(concurrency)]
    for p in procs:
        p.start()
    merged: dict[str, tuple[list, int]] = {}
    for _ in procs:
        for kind, (lats, errs) in out.get(timeout=seconds + 60).items():
            old = merged.get(kind, ([], 0))
            merged[kind] = (old[0] + lats, old[1] + errs)
    for p in procs:
        p.join(timeout=5)
    return merged


def overbooked_days(database_url: str) -> list[tuple]:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(database_url)
    with psycopg.connect(host=cfg["HOST"] or "127.0.0.1", port=cfg["PORT"] or 5432, user=cfg["USER"],
                         password=cfg["PASSWORD"] or None, dbname=cfg["NAME"]) as conn:
        return conn.execute(
            "SELECT pickup_date, count(*) FROM bookings_booking WHERE status <> 'cancelled' "
            "GROUP BY pickup_date HAVING count(*) > %s", [CAPACITY]).fetchall()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    args = parser.parse_args()
    args.seconds = max(3.0, min(args.seconds, 60.0))
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HARD_LIMIT_SECONDS)
    tmp = Path(tempfile.mkdtemp(prefix="tt-bench-load-"))
    name = f"tt_bench_load_{os.getpid()}"
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    database_url = base.rsplit("/", 1)[0] + f"/{name}"
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    port = free_port()
    stripe = FakeStripeServer().start()
    env = {k: v for k, v in os.environ.items() if k not in {"TOTETAXI_TESTING", "DEBUG"}}
    env.update({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "DATABASE_URL": database_url,
                "REDIS_URL": redis_url, "HUEY_NAME": name, "HUEY_IMMEDIATE": "0", "ALLOWED_HOSTS": "127.0.0.1",
                "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0", "SESSION_COOKIE_SECURE": "0",
                "CSRF_COOKIE_SECURE": "0", "STATIC_ROOT": str(tmp / "static"), "PORT": str(port),
                "GUNICORN_BIND_HOST": "127.0.0.1", "WEB_CONCURRENCY": str(args.workers),
                "GUNICORN_ACCESS_LOG": "0", "LOG_LEVEL": "ERROR", "TOTETAXI_RATE_LIMIT": str(10**9),
                "TOTETAXI_DAILY_CAPACITY": str(CAPACITY), "STRIPE_SECRET_KEY": FAKE_SECRET_KEY,
                "STRIPE_WEBHOOK_SECRET": FAKE_WEBHOOK_SECRET, "STRIPE_API_BASE": stripe.url,
                "DJANGO_SETTINGS_MODULE": "totetaxi.settings", "PUBLIC_SITE_URL": "https://www.totetaxi.example",
                "TOTETAXI_SUPPORT_PHONE": "+16315550100", "PUBLIC_BASE_URL": "https://127.0.0.1"})
    manage = [sys.executable, str(ROOT / "manage.py")]
    procs: list[subprocess.Popen] = []
    try:
        ensure_postgres_database(database_url)
        for command in (["migrate", "--noinput", "-v", "0"], ["loaddata", "catalog", "-v", "0"],
                        ["collectstatic", "--noinput", "-v", "0"]):
            subprocess.run([*manage, *command], env=env, cwd=ROOT, check=True, timeout=120)
        session = subprocess.run([*manage, "shell", "-c", STAFF_SESSION], env=env, cwd=ROOT, check=True,
                                 capture_output=True, text=True, timeout=60).stdout.strip().splitlines()[-1]
        procs.append(subprocess.Popen([sys.executable, "-m", "gunicorn", "totetaxi.wsgi:application"], env=env,
                                      cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([*manage, "run_huey", "--quiet"], env=env, cwd=ROOT, start_new_session=True,
                                      stdout=subprocess.DEVNULL))
        wait_ready(port, procs[0], seconds=40, path="/api/v1/health/")
        dates = json.loads(call(port, "GET", "/api/v1/services/available-dates/?service_type=mini_move"
                                             "&days_ahead=60")[1])["dates"][:4]
        payload = documented_booking(port) | {"pickup_date": dates[0]}
        plan = {"dates": dates, "payload": payload, "session": session, "mix": MIX}
        print(f"gunicorn {args.workers} workers + 1 Huey consumer, PostgreSQL + Redis; {args.concurrency} clients; "
              f"{args.seconds:g} s health-only, then {args.seconds:g} s mixed; capacity {CAPACITY}/day on "
              f"{len(dates)} days", flush=True)
        run(port, plan | {"mix": [("health", 1)]}, concurrency=args.concurrency, seconds=2)  # warm-up
        health = run(port, plan | {"mix": [("health", 1)]}, concurrency=args.concurrency, seconds=args.seconds)
        mixed = run(port, plan, concurrency=args.concurrency, seconds=args.seconds)
        base_rps = summarise(*health["health"], args.seconds)["rps"] or float("nan")
        print(f"\n{'kind':18} {'n':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        alone = summarise(*health["health"], args.seconds)
        print(f"{'health (alone)':18} {len(health['health'][0]):7d} {base_rps:8.1f} "
              f"{alone['p50']:>8.1f} {alone['p99']:>8.1f}")
        all_lats, all_errors = [], 0
        for kind, (lats, errors) in sorted(mixed.items()):
            r = summarise(lats, errors, args.seconds)
            all_lats += lats
            all_errors += errors
            print(f"{kind:18} {r['n']:7d} {r['rps']:8.1f} {r['p50']:8.1f} {r['p99']:8.1f} {errors:7d}")
        total = summarise(all_lats, all_errors, args.seconds)
        over = overbooked_days(database_url)
        print(f"\nmixed: {total['rps']:.1f} req/s = {total['rps'] / base_rps:.2f}x the health endpoint alone; "
              f"p99 {total['p99']:.1f} ms (goal <= {GOAL_P99_MS:g}: {'OK' if total['p99'] <= GOAL_P99_MS else 'MISSED'}); "
              f"errors {all_errors} (goal 0); overbooked days: {over or 'none'}")
        return 0 if all_errors == 0 and not over else 1
    finally:
        signal.alarm(0)
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        stripe.stop()
        import redis

        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter(match=f"huey.*{name}*"):
            client.delete(key)
        drop_postgres_database(database_url)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
