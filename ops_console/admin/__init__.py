"""Every model in the console, one module per area, all through ops_console.base.OpsModelAdmin."""

from ops_console.admin import (  # noqa: F401  (registration happens on import)
    accounts,
    bookings,
    catalog,
    customers,
    documents,
    logistics,
    notifications,
    payments,
    policy,
    reporting,
    reports,
)
