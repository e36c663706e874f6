"""The booking desk: list, tabs, and actions that call core services (never the ORM) for every change.

listing: pickup filter, ordering and the read-only inlines; sections: the list columns and change-form tabs;
actions: the action specs and the one confirmation page they all land on; entries: the row, detail and bulk
buttons, one declared method each; admin: the ModelAdmins themselves (registered on import).
"""

from ops_console.admin.bookings.actions import ACTIONS, MAX_BULK, BookingAction
from ops_console.admin.bookings.admin import BookingAdmin, QuoteAdmin
from ops_console.admin.bookings.listing import WhenFilter, booking_ordering

__all__ = ["ACTIONS", "MAX_BULK", "BookingAction", "BookingAdmin", "QuoteAdmin", "WhenFilter", "booking_ordering"]
