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
from core.documents.models import COI, Building, COIWaiver, Document, DocumentAccess
from core.logistics.models import DeliveryTask, DispatchMismatch, ProofOfDelivery, TrackingUpdate
from core.notifications.models import DeliveryLog, EmailTemplate, Notification, Suppression
from core.payments.models import Dispute, Payment, PaymentAudit, ProviderEvent, ReconciliationMismatch, Refund
from core.reporting.models import DailyMetrics

__all__ = [
    "Address",
    "Booking",
    "Building",
    "BookingNote",
    "BookingNumberSequence",
    "BookingSpecialtyItem",
    "BookingStatusChange",
    "COI",
    "COIWaiver",
    "ChangePolicy",
    "ChangeQuote",
    "CustomerProfile",
    "DailyMetrics",
    "DeliveryTask",
    "Dispute",
    "DispatchMismatch",
    "DeliveryLog",
    "Document",
    "DocumentAccess",
    "EmailTemplate",
    "IdempotencyRecord",
    "MiniMovePackage",
    "Notification",
    "Payment",
    "ProofOfDelivery",
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
    "TrackingUpdate",
    "User",
    "VanSchedule",
]

# --- reporting: reports and schedules (issue 12) ---
from core.reporting.models import Report, ReportDownload, ReportSchedule  # noqa: E402

__all__ += ["Report", "ReportDownload", "ReportSchedule"]
