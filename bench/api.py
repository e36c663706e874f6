"""Public API throughput and latency against a bare Django JSON view, on the same gunicorn, in the same run.

Serves the project with gunicorn (sync workers, 127.0.0.1 only, settings bench.api_settings) and drives each
endpoint at a fixed concurrency with client processes:
  baseline: GET  /bench/bare/                         (a plain Django JsonResponse view; bench-only URLconf)
  ours:     POST /api/v1/services/calculate-price/
            POST /api/v1/bookings/preview/            (writes a quote per request)
            GET  /api/v1/services/availability/{date}/
  reference: POST /bench/ninja-echo/, /bench/ninja-insert/ (ninja alone; ninja + one quote INSERT)
Prints req/s, p50 and p99 of each, and its ratio to the baseline's req/s.
Goals: preview >= 0.6x the bare view's req/s, p99 <= 50 ms, at concurrency 8.

    python bench/api.py [--seconds 6] [--concurrency 8] [--workers 4]

Database: $DATABASE_URL when set (PostgreSQL on 127.0.0.1: created and dropped again if it does not exist,
otherwise migrated and given the catalog fixture), else a throwaway SQLite file. $REDIS_URL, when set, backs
the cache (the rate limiter counts every POST). Bounded: a hard alarm stops everything after 110 s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tt_bench_api python bench/api.py
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARD_LIMIT_SECONDS = 110
GOAL_PREVIEW_RATIO = 0.6
GOAL_P99_MS = 50.0
# Reference rows (bench/api_urls.py): what django-ninja alone costs, and ninja plus the one INSERT that
# preview must make, so the preview ratio can be read against the floor of any design that stores quotes.
REF_ECHO = "(ref) ninja, schemas only"
REF_INSERT = "(ref) ninja + one quote INSERT"
API_ENDPOINTS = ("services/calculate-price/", "bookings/preview/", "services/availability/{date}/")


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout(f"bench/api.py exceeded {HARD_LIMIT_SECONDS} s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _client(port, requests, warmup_until, stop_at, out):
    """One client: cycles through `requests`, timing those that start after the warm-up."""
    latencies, errors, i = [], 0, 0
    while True:
        start = time.perf_counter()
        if start >= stop_at:
            break
        method, path, body = requests[i % len(requests)]
        i += 1
        try:
            status = request(port, method, path, body)
        except OSError:
            status = 0
        elapsed = time.perf_counter() - start
        if start >= warmup_until:
            if 200 <= status < 300:
                latencies.append(elapsed)
            else:
                errors += 1
    out.put((latencies, errors))


def run_clients(port: int, requests: list, *, concurrency: int, seconds: float, warmup: float) -> tuple:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    now = time.perf_counter()
    procs = [ctx.Process(target=_client, args=(port, requests, now + warmup, now + warmup + seconds, out))
             for _ in range(concurrency)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + warmup + 30) for _ in procs]
    for p in procs:
        p.join(timeout=5)
    return [lat for lats, _ in results for lat in lats], sum(e for _, e in results)


def summarise(latencies: list[float], errors: int, seconds: float) -> dict:
    latencies = sorted(latencies)
    if not latencies:
        return {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "n": 0, "errors": errors}
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "n": len(latencies),
        "errors": errors,
    }


def ensure_postgres_database(url: str) -> bool:
    """Create the PostgreSQL database named in `url` when it does not exist; True when we created it."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    params = {"host": cfg["HOST"] or "127.0.0.1", "port": cfg["PORT"] or 5432, "user": cfg["USER"],
              "password": cfg["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
        return True


def drop_postgres_database(url: str) -> None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    params = {"host": cfg["HOST"] or "127.0.0.1", "port": cfg["PORT"] or 5432, "user": cfg["USER"],
              "password": cfg["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')


def prepare_database(env: dict) -> None:
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=90)
    subprocess.run([*manage, "loaddata", "catalog", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=30)


def wait_ready(port: int, server: subprocess.Popen, seconds: float = 30, path: str = "/bench/bare/") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            if request(port, "GET", path, None) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=6.0, help="measured seconds per endpoint")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    args = parser.parse_args()
    # 4 endpoints × (warm-up + measure) + set-up must fit the hard limit.
    args.seconds = max(1.0, min(args.seconds, 15.0))

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HARD_LIMIT_SECONDS)
    tmp = Path(tempfile.mkdtemp(prefix="tt-bench-api-"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.api_settings", "HUEY_SQLITE_PATH": str(tmp / "huey.db"),
           "PYTHONPATH": str(ROOT)}
    env.pop("DEBUG", None)
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    server = None
    created_pg = False
    try:
        if env["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
            created_pg = ensure_postgres_database(env["DATABASE_URL"])
        print(f"database: {env['DATABASE_URL'].split('@')[-1]}  (migrating…)", flush=True)
        prepare_database(env)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.api_wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--worker-class", "sync", "--chdir", str(ROOT),
             "--log-level", "warning", "--timeout", "30", "--preload"],
            env=env, cwd=ROOT, start_new_session=True,
        )
        wait_ready(port, server)

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/services/available-dates/?service_type=mini_move&days_ahead=60")
        dates = json.loads(conn.getresponse().read())["dates"]
        conn.close()
        day = dates[0]
        body = json.dumps({
            "booking_type": "mini_move", "pickup_date": day, "pickup_window": "morning", "package": "petite",
            "item_count": 10, "specialty_items": [{"code": "peloton", "quantity": 1}], "coi_required": True,
        }).encode()
        scenarios = [
            ("bare Django JSON view", "GET", "/bench/bare/", None),
            ("services/calculate-price/", "POST", "/api/v1/services/calculate-price/", body),
            ("bookings/preview/", "POST", "/api/v1/bookings/preview/", body),
            ("services/availability/{date}/", "GET", f"/api/v1/services/availability/{day}/?service_type=mini_move",
             None),
            (REF_ECHO, "POST", "/bench/ninja-echo/", body),
            (REF_INSERT, "POST", "/bench/ninja-insert/", body),
        ]
        print(f"gunicorn: {args.workers} sync workers on 127.0.0.1:{port}; concurrency {args.concurrency}; "
              f"{args.seconds:g} s per endpoint (2 interleaved rounds) after a 2 s warm-up", flush=True)
        # Warm every worker (its connection and catalog cache) on every endpoint, then measure in two rounds,
        # interleaved, so a change in the machine's background load hits the baseline and ours alike.
        run_clients(port, [s[1:] for s in scenarios], concurrency=args.concurrency, seconds=2, warmup=0)
        samples = {name: ([], 0) for name, *_ in scenarios}
        rounds = 2
        for _round in range(rounds):
            for name, method, path, payload in scenarios:
                lats, errs = run_clients(port, [(method, path, payload)], concurrency=args.concurrency,
                                         seconds=args.seconds / rounds, warmup=0.3)
                samples[name] = (samples[name][0] + lats, samples[name][1] + errs)
        results = {name: summarise(lats, errs, args.seconds) for name, (lats, errs) in samples.items()}
        bare = results["bare Django JSON view"]["rps"] or float("nan")
        print(f"\n{'endpoint':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs bare':>8}")
        for name, r in results.items():
            print(f"{name:34} {r['rps']:9.1f} {r['p50']:8.1f} {r['p99']:8.1f} {r['errors']:7d} "
                  f"{r['rps'] / bare:7.2f}x")
        preview = results["bookings/preview/"]
        ratio = preview["rps"] / bare
        print(f"\npreview / bare req/s = {ratio:.2f}x (goal >= {GOAL_PREVIEW_RATIO}x): "
              f"{'OK' if ratio >= GOAL_PREVIEW_RATIO else 'MISSED'}")
        floor = results[REF_INSERT]["rps"] / bare
        print(f"reference: ninja + one quote INSERT = {floor:.2f}x bare; preview reaches "
              f"{preview['rps'] / (results[REF_INSERT]['rps'] or float('nan')):.2f}x of that floor")
        worst = max(r["p99"] for n, r in results.items() if n in API_ENDPOINTS)
        print(f"worst API p99 = {worst:.1f} ms (goal <= {GOAL_P99_MS:g} ms): "
              f"{'OK' if worst <= GOAL_P99_MS else 'MISSED'}")
        return 0
    finally:
        signal.alarm(0)
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
        if created_pg:
            drop_postgres_database(env["DATABASE_URL"])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
