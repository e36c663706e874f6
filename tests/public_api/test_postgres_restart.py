"""Fault: PostgreSQL stopped and started again under load, against gunicorn in the production shape.

A private throwaway cluster (tests/pg_cluster.py, never the shared server), migrated; gunicorn (DEBUG=0,
gunicorn.conf.py, persistent connections with health checks) serves clients that create bookings and their
test-mode payments while the database is stopped (`pg_ctl stop -m fast`, `immediate` if that stalls) and
started again. Every answer is a success or a clean refusal: during the outage a 503 in the JSON envelope with
Retry-After (the console: the 503 page), never a 500 and never a hang past the client's timeout; the service
recovers by itself (readiness 200 again, new bookings and payments work); and nothing is half-written
(every booking with its lines, totals, status change and history row; every payment with its booking, amount
and audit row; no day over capacity). Bounded: about 30 s.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from tests.concurrency import in_background
from tests.pg_cluster import PrivateCluster
from tests.public_api.conftest import BOOKING_EXAMPLE, booking_payload

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
CLIENT_TIMEOUT = 10.0  # seconds: an answer slower than this is a hang (gunicorn's own timeout is 30 s)
CAPACITY = 6
CLIENTS = 4
HEADERS = {"X-Forwarded-Proto": "https"}  # production settings redirect plain http to https (Fly's proxy adds it)


@dataclass
class Answer:
    phase: str
    kind: str
    status: int  # 0: no answer within CLIENT_TIMEOUT or the connection failed
    body: bytes
    headers: dict
    error: str = ""

    def json(self) -> dict:
        return json.loads(self.body)


def call(port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None
         ) -> tuple[int, bytes, dict, str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT)
    try:
        sent = {**HEADERS, **(headers or {})}
        data = None
        if body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}, ""
    except OSError as exc:  # socket.timeout included
        return 0, b"", {}, repr(exc)
    finally:
        conn.close()


class Service:
    """gunicorn on the private cluster, as the image runs it; its log kept for failure messages."""

    def __init__(self, database_url: str, tmp: Path) -> None:
        self.port = _free_port()
        self.env = {k: v for k, v in os.environ.items()
                    if k not in {"TOTETAXI_TESTING", "PYTEST_CURRENT_TEST", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
        self.env.update({
            "DEBUG": "0", "ENVIRONMENT": "fault-test", "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": database_url, "REDIS_URL": "", "HUEY_SQLITE_PATH": str(tmp / "huey.sqlite3"),
            "HUEY_IMMEDIATE": "0", "ALLOWED_HOSTS": HOST, "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
            "STATIC_ROOT": str(tmp / "static"), "MEDIA_ROOT": str(tmp / "media"), "PORT": str(self.port),
            "GUNICORN_BIND_HOST": HOST, "WEB_CONCURRENCY": "2", "GUNICORN_ACCESS_LOG": "0",
            "STRIPE_SECRET_KEY": "", "TOTETAXI_RATE_LIMIT": str(10**6), "TOTETAXI_DAILY_CAPACITY": str(CAPACITY),
            "DJANGO_SETTINGS_MODULE": "totetaxi.settings", "PUBLIC_SITE_URL": "https://www.totetaxi.example",
            "TOTETAXI_SUPPORT_PHONE": "+16315550100", "PUBLIC_BASE_URL": f"https://{HOST}",
        })
        self.log = open(tmp / "gunicorn.log", "w+")  # noqa: SIM115 (closed in stop)
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=self.env, cwd=ROOT,
                                capture_output=True, text=True, timeout=90)
        assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stdout[-1500:]}{result.stderr[-3000:]}"
        return result.stdout

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "totetaxi.wsgi:application"],
                                        env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"gunicorn exited:\n{self.tail()}"
            if call(self.port, "GET", "/api/v1/health/")[0] == 200:
                return
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer within 40 s:\n{self.tail()}")

    def tail(self, lines: int = 60) -> str:
        self.log.flush()
        self.log.seek(0)
        return "".join(self.log.readlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture
def service():
    tmp = Path(tempfile.mkdtemp(prefix="tt-pg-restart-"))
    with PrivateCluster() as pg:
        app = Service(pg.create_database("totetaxi"), tmp)
        try:
            app.manage("migrate", "--noinput", "-v", "0")
            app.manage("loaddata", "catalog", "-v", "0")
            app.manage("collectstatic", "--noinput", "-v", "0")
            app.start()
            yield pg, app
        finally:
            app.stop()
            shutil.rmtree(tmp, ignore_errors=True)


class Load:
    """Clients booking and paying in a loop; each answer recorded with the phase it started in."""

    def __init__(self, port: int, dates: list[str]) -> None:
        self.port, self.dates = port, dates
        self.phase = "before"
        self.answers: list[Answer] = []
        self.created: list[dict] = []  # 201 bodies
        self.paid: list[tuple[str, str]] = []  # (booking id, payment intent id) answered 200
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _record(self, phase: str, kind: str, result: tuple) -> Answer:
        answer = Answer(phase, kind, result[0], result[1], result[2], result[3])
        with self._lock:
            self.answers.append(answer)
        return answer

    def client(self, index: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            phase = self.phase
            day = self.dates[n % len(self.dates)]
            payload = booking_payload(day, specialty_items=BOOKING_EXAMPLE["specialty_items"])
            payload["customer"] = {**payload["customer"], "email": f"restart{index}-{n}@example.com"}
            created = self._record(phase, "create", call(self.port, "POST", "/api/v1/bookings/", payload))
            if created.status != 201:
                self._record(phase, "catalog", call(self.port, "GET", "/api/v1/services/packages/"))
                time.sleep(0.05)
                continue
            booking = created.json()
            with self._lock:
                self.created.append(booking)
            phase = self.phase
            intent = self._record(phase, "create-intent", call(
                self.port, "POST", "/api/v1/payments/create-intent/", {"booking_id": booking["id"]},
                {"X-Booking-Token": booking["access_token"]}))
            if intent.status == 200:
                with self._lock:
                    self.paid.append((booking["id"], intent.json()["payment_intent_id"]))
            self._record(self.phase, "read", call(self.port, "GET", f"/api/v1/bookings/{booking['id']}/",
                                                  headers={"X-Booking-Token": booking["access_token"]}))

    def count(self, phase: str, kind: str | None = None, status: int | None = None) -> int:
        with self._lock:
            return sum(1 for a in self.answers if a.phase == phase and (kind is None or a.kind == kind)
                       and (status is None or a.status == status))

    def stop(self) -> None:
        self._stop.set()


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {seconds:g} s")


def assert_clean_503(answer: Answer, code: str = "database_unavailable") -> None:
    assert answer.status == 503, (answer.kind, answer.status, answer.body[:500], answer.error)
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.headers
    assert answer.json()["error"]["code"] == code, answer.body[:500]
    if code == "database_unavailable":  # readiness answers the load balancer, which does not read it
        assert int(answer.headers["retry-after"]) > 0


def test_postgres_restarted_under_load_fails_cleanly_and_recovers(service):
    pg, app = service
    status, body, _, _ = call(app.port, "GET", "/api/v1/services/available-dates/?service_type=mini_move"
                                               "&days_ahead=60")
    assert status == 200, body
    dates = json.loads(body)["dates"][:3]
    load = Load(app.port, dates[:2])  # the third day stays free for the bookings made after the restart
    mode = None
    clients = [in_background(lambda i=i: load.client(i)) for i in range(CLIENTS)]
    try:
        # given clients booking and paying
        wait_for(lambda: load.count("before", "create-intent", 200) >= 3, 20, "bookings paid before the outage")

        # when PostgreSQL stops (in-flight transactions are rolled back, connections cut)
        load.phase = "down"
        mode = pg.stop()
        outage = [Answer("down", "ready", *call(app.port, "GET", "/api/v1/health/ready/")),
                  Answer("down", "create", *call(app.port, "POST", "/api/v1/bookings/", booking_payload(dates[2])))]
        console = Answer("down", "console", *call(app.port, "GET", "/admin/",
                                                 headers={"Cookie": "sessionid=not-checkable-while-down"}))
        wait_for(lambda: load.count("down") >= 2 * CLIENTS, 15, "client requests during the outage")

        # and starts again
        load.phase = "restarting"
        pg.start()
        wait_for(lambda: call(app.port, "GET", "/api/v1/health/ready/")[0] == 200, 20,
                 "readiness 200 after the restart")
        load.phase = "after"
        # (the clients' two days may be full by now: 409 date_unavailable is a fine answer)
        wait_for(lambda: load.count("after") >= 3 * CLIENTS, 20, "client requests after the restart")
    finally:
        load.stop()
        for client in clients:
            client.result(timeout=CLIENT_TIMEOUT * 3 + 5)
    failure_context = f"stop mode {mode!r}; gunicorn log:\n{app.tail()}"

    # then during the outage: clean 503s in the envelope, the console's 503 page, no 500, no hang
    assert_clean_503(outage[0], code="not_ready")
    assert "database" in outage[0].json()["error"]["fields"]
    assert_clean_503(outage[1])
    assert console.status == 503 and console.headers["content-type"].startswith("text/html"), console.body[:300]
    assert b"Temporarily unavailable" in console.body and console.headers["retry-after"] == "5"
    assert b"/static/unfold/css/styles." in console.body  # Unfold's stylesheet, from the collected manifest
    for answer in load.answers:
        assert answer.status in {200, 201, 409, 503}, (answer, failure_context)
        if answer.status == 503:
            assert_clean_503(answer)
        if answer.status == 409:
            assert answer.kind == "create" and answer.json()["error"]["code"] == "date_unavailable", answer
    during = [a for a in load.answers if a.phase == "down"]
    assert sum(a.status == 503 for a in during) >= CLIENTS, failure_context
    # once readiness is back, every worker's next request reconnects (health-checked persistent connections)
    after = [a for a in load.answers if a.phase == "after"]
    assert after and all(a.status != 503 for a in after), ([a for a in after if a.status == 503][:3], failure_context)

    # and the service recovered by itself: a new booking and its payment on the day kept free
    status, body, _, _ = call(app.port, "POST", "/api/v1/bookings/", booking_payload(dates[2]))
    assert status == 201, body
    booking = json.loads(body)
    status, body, _, _ = call(app.port, "POST", "/api/v1/payments/create-intent/", {"booking_id": booking["id"]},
                              {"X-Booking-Token": booking["access_token"]})
    assert status == 200, body
    load.created.append(booking)
    load.paid.append((booking["id"], json.loads(body)["payment_intent_id"]))

    assert_nothing_half_written(pg, load)


def assert_nothing_half_written(pg: PrivateCluster, load: Load) -> None:
    with pg.connect("totetaxi") as conn:
        def rows(sql: str) -> list[tuple]:
            return conn.execute(sql).fetchall()

        bookings = {str(r[0]): r for r in rows(
            "SELECT b.id, b.base_price + b.specialty_items_total + b.surcharge_total + b.coi_fee, b.total_price, "
            "b.specialty_items_total, coalesce((SELECT sum(l.quantity * l.unit_price) FROM bookings_specialtyitem l "
            "WHERE l.booking_id = b.id), 0), "
            "(SELECT count(*) FROM bookings_statuschange s WHERE s.booking_id = b.id AND s.reason = 'created'), "
            "(SELECT count(*) FROM core_historicalbooking h WHERE h.id = b.id AND h.history_type = '+'), "
            "b.status, b.payment_status FROM bookings_booking b")}
        # every booking a client was told about is there; nothing else appeared that nobody asked for twice
        assert {b["id"] for b in load.created} <= set(bookings)
        for booking_id, parts_sum, total, specialty, lines_sum, created_changes, history, status, paid in \
                bookings.values():
            assert parts_sum == total and specialty == Decimal(lines_sum), booking_id
            assert created_changes == 1 and history == 1, (booking_id, created_changes, history)
            assert status == "pending" and paid == "unpaid", (booking_id, status, paid)

        payments = rows("SELECT p.id, p.booking_id, p.amount_cents, b.total_price, p.stripe_payment_intent_id, "
                        "(SELECT count(*) FROM payments_audit a WHERE a.payment_id = p.id) "
                        "FROM payments_payment p LEFT JOIN bookings_booking b ON b.id = p.booking_id")
        for payment_id, booking_id, amount, total, _intent, audits in payments:
            assert booking_id is not None and str(booking_id) in bookings, payment_id
            assert amount == int(total * 100) and audits >= 1, (payment_id, amount, total, audits)
        by_intent = {intent: str(booking_id) for _, booking_id, _, _, intent, _ in payments}
        for booking_id, intent in load.paid:
            assert by_intent.get(intent) == booking_id, (booking_id, intent)

        over = rows("SELECT pickup_date, count(*) FROM bookings_booking WHERE status <> 'cancelled' "
                    f"GROUP BY pickup_date HAVING count(*) > {CAPACITY}")
        assert over == []

