"""WSGI entry point for bench/api.py (gunicorn bench.api_wsgi:application)."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.api_settings"

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
