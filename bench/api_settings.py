"""Settings for bench/api.py only: production settings, served on 127.0.0.1, plus a bare JSON view baseline."""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-anywhere-else")
os.environ.setdefault("PUBLIC_SITE_URL", "https://bench.invalid")
os.environ.setdefault("TOTETAXI_SUPPORT_PHONE", "(631) 555-0100")

from totetaxi.settings import *  # noqa: E402, F403
from totetaxi.settings import TOTETAXI  # noqa: E402

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bench.api_urls"
SECURE_SSL_REDIRECT = False  # plain HTTP on loopback
SECURE_HSTS_SECONDS = 0
# The bench drives one IP far past the public limit: keep the limiter counting, but never refusing.
TOTETAXI = {**TOTETAXI, "RATE_LIMIT_POSTS_PER_MINUTE": 10**9, "DEFAULT_DAILY_CAPACITY": 1_000_000}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR", "handlers": []}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The project closes SQLite connections after every request (it shares the file with the Huey consumer);
    # re-opening a WAL database per request, and checkpointing it when the last connection closes, would
    # dominate these numbers. One persistent connection per sync worker, as on PostgreSQL.
    DATABASES["default"]["CONN_MAX_AGE"] = 600  # noqa: F405
