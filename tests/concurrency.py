"""One way to fan a call out over threads for race tests (PostgreSQL: each thread has its own connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def run_in_threads[T](n: int, fn: Callable[[int], T], *, workers: int | None = None, together: bool = True,
                      timeout: float = 60) -> list[T]:
    """`fn(0) … fn(n - 1)` on `workers` threads (default: one each); their results in order.

    With `together`, every worker waits at a barrier before its first call, so the calls really overlap
    instead of trickling in as threads start. Each call closes its thread's database connection afterwards
    (Django opens one per thread; left open they exhaust the server's connections). The first exception a
    call raised is re-raised here once every call has finished.
    """
    workers = min(workers or n, n)
    barrier = threading.Barrier(workers) if together else None
    local = threading.local()

    def call(i: int) -> T:
        from django.db import connection

        try:
            if barrier is not None and not getattr(local, "released", False):
                local.released = True
                barrier.wait(timeout=timeout)
            return fn(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(call, i) for i in range(n)]
        errors = [f.exception(timeout=timeout) for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]
