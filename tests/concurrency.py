"""One way to fan a call out over threads for race tests (PostgreSQL: each thread has its own connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait


def _closing_connection[T](fn: Callable[[], T]) -> T:
    from django.db import connection

    try:
        return fn()
    finally:
        connection.close()  # Django opens one per thread; left open they exhaust the server's connections


def run_in_threads[T](n: int, fn: Callable[[int], T], *, workers: int | None = None, together: bool = True,
                      timeout: float = 60) -> list[T]:
    """`fn(0) … fn(n - 1)` on `workers` threads (default: one each); their results in order.

    With `together`, every worker waits at a barrier before its first call, so the calls really overlap
    instead of trickling in as threads start. The first exception a call raised is re-raised here once every
    call has finished; calls still running after `timeout` seconds fail the test (TimeoutError) instead of
    hanging it.
    """
    workers = min(workers or n, n)
    barrier = threading.Barrier(workers) if together else None
    local = threading.local()

    def call(i: int) -> T:
        if barrier is not None and not getattr(local, "released", False):
            local.released = True
            barrier.wait(timeout=timeout)
        return fn(i)

    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(_closing_connection, lambda i=i: call(i)) for i in range(n)]
    done, pending = wait(futures, timeout=timeout)
    pool.shutdown(wait=False, cancel_futures=True)
    if pending:
        raise TimeoutError(f"{len(pending)} of {n} calls still running after {timeout} s")
    for future in futures:
        if future.exception() is not None:
            raise future.exception()
    return [f.result() for f in futures]


def in_background[T](fn: Callable[[], T]) -> Future[T]:
    """Start `fn()` on its own thread (with its own database connection); `.result(timeout)` collects it."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(_closing_connection(fn))
        except BaseException as exc:  # noqa: BLE001 (handed to whoever collects the result)
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return future


def wait_until_another_session_waits_on_a_lock(timeout: float = 30) -> None:
    """Return once another connection to this database waits on a lock (PostgreSQL): a call started with
    `in_background` has reached the row the test's open transaction holds, so the test can commit knowing the
    call already read what it read before the lock."""
    import time

    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is read once
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise TimeoutError(f"no other session waited on a lock within {timeout} s")
