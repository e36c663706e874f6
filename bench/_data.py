"""Shared by the benchmarks: a throwaway PostgreSQL database holding N bookings, loaded with COPY.

Not a benchmark itself (`make bench` runs every bench/*.py, so running this file does nothing).

The schema comes from our migrations, run once into a template database (`tt_bench_bk_template`); each
benchmark database is a copy of it (`CREATE DATABASE … TEMPLATE`), then customers, addresses and bookings
are written with COPY and the tables ANALYZEd, so pg_class.reltuples is set for the estimated-count
paginator. With `keep=True` a database that already holds exactly N bookings is reused as is.

Settings for the Django process: PostgreSQL at BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432),
DEBUG off, TOTETAXI_TESTING=1 (no HTTPS redirect, plain static storage, no real providers).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
TEMPLATE_DB = "tt_bench_bk_template"
DATA_VERSION = 2  # bump when load() changes, so --keep does not reuse a database with the old data
BOOKINGS_PER_CUSTOMER = 20
CHUNK = 50_000


def bench_db_name(rows: int) -> str:
    """One database per size, shared by bench/export.py and bench/admin.py (reused with --keep)."""
    return f"tt_bench_bk{DATA_VERSION}_{rows}"


def database_url(name: str) -> str:
    return f"{PG_URL}/{name}"


def django_environment(name: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url(name),
        "TOTETAXI_TESTING": "1",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "testserver,localhost",
        "AXES_ENABLED": "0",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "0",
    }


def setup_django(name: str) -> None:
    """Point this process's Django at database `name` and run django.setup()."""
    os.environ.update(django_environment(name))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "totetaxi.settings")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def switch_database(name: str) -> None:
    """Re-point the already configured default connection at another benchmark database."""
    from django.db import connections

    conn = connections["default"]
    conn.close()
    conn.settings_dict["NAME"] = name


def _admin_connection():
    import psycopg

    return psycopg.connect(database_url("postgres"), autocommit=True)


def _exists(admin, name: str) -> bool:
    return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _loaded_rows(name: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(database_url(name)) as conn:
            row = conn.execute("SELECT bookings FROM bench_meta").fetchone()
            return row[0] if row else None
    except psycopg.Error:
        return None


def _drop(admin, name: str) -> None:
    from psycopg import sql

    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _ensure_template(admin, *, log) -> None:
    """The template holds the current schema: created once, migrated every run (a no-op when current)."""
    from psycopg import sql

    fresh = not (_exists(admin, TEMPLATE_DB) and _loaded_rows(TEMPLATE_DB) == 0)
    if fresh:
        _drop(admin, TEMPLATE_DB)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DB)))
    started = time.perf_counter()
    env = {**os.environ, **django_environment(TEMPLATE_DB), "DJANGO_SETTINGS_MODULE": "totetaxi.settings"}
    for args in (["migrate", "--noinput", "-v", "0"], ["loaddata", "catalog", "-v", "0"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)
    if fresh:
        import psycopg

        with psycopg.connect(database_url(TEMPLATE_DB), autocommit=True) as conn:
            conn.execute("CREATE TABLE bench_meta (bookings bigint NOT NULL)")
            conn.execute("INSERT INTO bench_meta VALUES (0)")
    log(f"  migrated template database {TEMPLATE_DB} in {time.perf_counter() - started:.1f} s")


def prepare_database(name: str, rows: int, *, keep: bool, log=print) -> str:
    """Create `name` holding `rows` bookings (reused when keep=True and it already does); returns its URL."""
    from psycopg import sql

    with _admin_connection() as admin:
        if keep and _exists(admin, name) and _loaded_rows(name) == rows:
            log(f"  reusing {name} ({rows:,} bookings)")
            return database_url(name)
        _ensure_template(admin, log=log)
        _drop(admin, name)
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                        sql.Identifier(TEMPLATE_DB)))
    started = time.perf_counter()
    load(database_url(name), rows)
    log(f"  loaded {rows:,} bookings into {name} with COPY in {time.perf_counter() - started:.1f} s")
    return database_url(name)


def drop_database(name: str) -> None:
    with _admin_connection() as admin:
        _drop(admin, name)


def drop_template() -> None:
    drop_database(TEMPLATE_DB)


# --- The data --------------------------------------------------------------------------------------------

STATUSES = (["completed"] * 10 + ["paid"] * 3 + ["scheduled"] * 3 + ["pending"] * 2 + ["in_progress"]
            + ["cancelled"])
PAYMENT_FOR = {"completed": "paid", "paid": "paid", "scheduled": "paid", "pending": "unpaid",
               "in_progress": "paid", "cancelled": "refunded"}
WINDOWS = ("morning", "afternoon", "flexible")
TOWNS = (("New York", "NY", "10021"), ("East Hampton", "NY", "11937"), ("Southampton", "NY", "11968"),
         ("Greenwich", "CT", "06830"), ("Montauk", "NY", "11954"))

BOOKING_COLUMNS = (
    "id", "created_at", "updated_at", "booking_number", "booking_type", "status", "payment_status", "customer_id",
    "pickup_address_id", "dropoff_address_id", "pickup_date", "pickup_window", "package_id", "item_count",
    "coi_required", "base_price", "specialty_items_total", "surcharges", "surcharge_total", "coi_fee",
    "total_price", "price_breakdown", "quote_id", "stripe_payment_intent_id", "onfleet_pickup_task_id",
    "onfleet_dropoff_task_id", "tracking_url", "notes", "access_token_hash", "hold_expires_at", "cancelled_at",
    "cancellation_reason", "needs_attention", "attention_reason", "attention_due",
)


def _copy(cursor, table: str, columns, lines) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        block = []
        for line in lines:
            block.append(line)
            if len(block) == CHUNK:
                copy.write("".join(block))
                block.clear()
        if block:
            copy.write("".join(block))


def load(url: str, rows: int) -> None:
    import psycopg

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from core.customers.addresses import normalize_address  # pure: no Django set-up needed

    customers = max(1, rows // BOOKINGS_PER_CUSTOMER)
    addresses = customers * 2
    # Relative to today, and strided, so that any N (1k or 1M) has the same shape: created over the last
    # three years (some today, some this week), pickups from 2.5 years ago to 6 months ahead.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first_day = dt.date.today() - dt.timedelta(days=900)
    days = [(first_day + dt.timedelta(days=d)).isoformat() for d in range(1095)]
    stamps = [(now - dt.timedelta(minutes=385 * k)).isoformat() for k in range(4096)]  # 4096 x 385 min ~ 3 years
    token_hash = "0" * 64

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        packages = [row[0] for row in cur.execute("SELECT id FROM catalog_minimovepackage ORDER BY id")]

        def customer_lines():
            for c in range(1, customers + 1):
                ts = stamps[c % 4096]
                yield (f"{c}\t{ts}\t{ts}\tCustomer {c:07d}\tcustomer{c}@example.com\t+1212555{c % 10000:04d}\t"
                       f"{BOOKINGS_PER_CUSTOMER}\t\\N\t\t\\N\n")

        def address_lines():
            for a in range(1, addresses + 1):
                city, state, zip_code = TOWNS[a % len(TOWNS)]
                ts = stamps[a % 4096]
                line2 = f"Apt {a % 97}" if a % 3 == 0 else ""
                line1 = f"{a} Further Lane"
                yield (f"{a}\t{ts}\t{ts}\t{line1}\t{line2}\t{city}\t{state}\t{zip_code}\t"
                       f"{normalize_address(line1, zip_code)}\n")

        def booking_lines():
            for i in range(rows):
                status = STATUSES[i % len(STATUSES)]
                kind = i % 3
                booking_type = ("mini_move", "standard", "specialty")[kind]
                package = str(packages[i % len(packages)]) if kind == 0 else "\\N"
                customer = i % customers + 1
                created = stamps[(i * 2477) % 4096]
                base = 995 + (i % 7) * 100
                surcharge = 175 if i % 5 == 0 else 0
                cancelled_at = created if status == "cancelled" else "\\N"
                # a few hostile notes, so the export's formula escaping is part of what is measured
                notes = "=HYPERLINK(\"http://x\")" if i % 1000 == 0 else ("Gate code 1234" if i % 7 == 0 else "")
                yield (
                    f"00000000-0000-4000-8000-{i:012x}\t{created}\t{created}\t"
                    f"TT-{2024 + i // 1_000_000}-{i % 1_000_000:06d}\t{booking_type}\t{status}\t"
                    f"{PAYMENT_FOR[status]}\t{customer}\t{2 * customer - 1}\t{2 * customer}\t{days[(i * 7919) % 1095]}\t"
                    f"{WINDOWS[i % 3]}\t{package}\t{5 + i % 20}\t{'t' if i % 11 == 0 else 'f'}\t{base}.00\t0.00\t"
                    f"[]\t{surcharge}.00\t0.00\t{base + surcharge}.00\t{{}}\t\\N\tpi_{i:014d}\t\t\t\t{notes}\t"
                    f"{token_hash}\t\\N\t{cancelled_at}\t\t{'t' if i % 997 == 0 else 'f'}\t\t\\N\n"
                )

        _copy(cur, "customers_customerprofile",
              ("id", "created_at", "updated_at", "name", "email", "phone", "total_bookings_count",
               "created_from_booking_id", "staff_notes", "merged_into_id"), customer_lines())
        _copy(cur, "customers_address",
              ("id", "created_at", "updated_at", "line1", "line2", "city", "state", "zip_code", "normalized_address"),
              address_lines())
        _copy(cur, "bookings_booking", BOOKING_COLUMNS, booking_lines())
        for table in ("customers_customerprofile", "customers_address"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute("UPDATE bench_meta SET bookings = %s", [rows])
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


if __name__ == "__main__":
    print("bench/_data.py is the shared loader of bench/export.py and bench/admin.py; nothing to run.")
