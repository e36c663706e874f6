"""Every model of the domain, re-exported so Django (and readers) find them in one place."""

from core.accounts.models import StaffProfile, User
from core.bookings.change_models import ChangeQuote
from core.bookings.models import (
    Booking,
    BookingNote,
    BookingNumberSequence,
    BookingSpecialtyItem,
    BookingStatusChange,
    IdempotencyRecord,
    Quote,
)
from core.catalog.models import (
    MiniMovePackage,
    ServiceDay,
    SpecialtyItem,
    StandardDeliveryRate,
    SurchargeRule,
    VanSchedule,
)
from core.catalog.policy_models import ChangePolicy
from core.customers.models import Address, CustomerProfile
from core.notifications.models import DeliveryLog, EmailTemplate, Notification, Suppression
from core.payments.models import Payment, PaymentAudit, ProviderEvent, ReconciliationMismatch, Refund
from core.reporting.models import DailyMetrics

__all__ = [
    "Address",
    "Booking",
    "BookingNote",
    "BookingNumberSequence",
    "BookingSpecialtyItem",
    "BookingStatusChange",
    "ChangePolicy",
    "ChangeQuote",
    "CustomerProfile",
    "DailyMetrics",
    "DeliveryLog",
    "EmailTemplate",
    "IdempotencyRecord",
    "MiniMovePackage",
    "Notification",
    "Payment",
    "PaymentAudit",
    "ProviderEvent",
    "Quote",
    "ReconciliationMismatch",
    "Refund",
    "ServiceDay",
    "SpecialtyItem",
    "StaffProfile",
    "StandardDeliveryRate",
    "Suppression",
    "SurchargeRule",
    "User",
    "VanSchedule",
]
