"""Imports every area's tasks so `manage.py run_huey` (which autodiscovers `<app>.tasks`) registers them."""

from core.bookings import tasks as bookings_tasks  # noqa: F401
from core.documents import tasks as documents_tasks  # noqa: F401
from core.logistics import tasks as logistics_tasks  # noqa: F401
from core.notifications import tasks as notifications_tasks  # noqa: F401
from core.payments import tasks as payments_tasks  # noqa: F401
from core.reporting import tasks as reporting_tasks  # noqa: F401
from core.reporting.reports import tasks as report_tasks  # noqa: F401
