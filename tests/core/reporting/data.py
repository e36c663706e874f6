"""Hand-made report data: rows written directly with the dates a test needs (services stamp "now")."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.management import call_command

from core.bookings.models import Booking, BookingSpecialtyItem
from core.catalog.models import MiniMovePackage, SpecialtyItem
from core.payments.models import Dispute, Payment, Refund
from tests.factories import AddressFactory, CustomerFactory

NY = ZoneInfo("America/New_York")
_n = itertools.count(1)


def ny(*args) -> dt.datetime:
    """An aware New York datetime: ny(2026, 1, 31, 23, 30)."""
    return dt.datetime(*args, tzinfo=NY)


def booking(*, pickup: dt.date, created: dt.datetime | None = None, kind: str = "standard",
            status: str = "completed", total: str = "100.00", customer=None, pickup_zip: str = "10021",
            dropoff_zip: str = "11937", cancelled: dt.datetime | None = None, package=None) -> Booking:
    n = next(_n)
    if kind == "mini_move" and package is None:
        package = mini_move_package()
    b = Booking.objects.create(
        booking_number=f"TT-2026-{n:06d}", booking_type=kind, status=status, customer=customer or CustomerFactory(),
        pickup_address=AddressFactory(zip_code=pickup_zip), dropoff_address=AddressFactory(zip_code=dropoff_zip),
        pickup_date=pickup, base_price=Decimal(total), total_price=Decimal(total), access_token_hash=f"h{n}",
        cancelled_at=cancelled, package=package,
    )
    if created is not None:
        Booking.objects.filter(pk=b.pk).update(created_at=created)
        b.created_at = created
    return b


def mini_move_package(code: str = "petite") -> MiniMovePackage:
    if not MiniMovePackage.objects.filter(code=code).exists():
        call_command("loaddata", "catalog", verbosity=0)
    return MiniMovePackage.objects.get(code=code)


def pay(b: Booking, cents: int, at: dt.datetime, *, fee: int | None = None, method: str = "stripe",
        status: str = "succeeded") -> Payment:
    n = next(_n)
    return Payment.objects.create(
        booking=b, amount_cents=cents, status=status, method=method, succeeded_at=at if status == "succeeded" else None,
        stripe_payment_intent_id=f"pi_{n}" if method == "stripe" else None,
        stripe_charge_id=f"ch_{n}" if method == "stripe" else "", stripe_fee_cents=fee,
    )


def refund(p: Payment, cents: int, at: dt.datetime, *, status: str = "succeeded") -> Refund:
    n = next(_n)
    return Refund.objects.create(payment=p, amount_cents=cents, status=status, processed_at=at,
                                 stripe_refund_id=f"re_{n}")


def dispute(p: Payment, cents: int, at: dt.datetime, *, outcome: str = "open",
            closed: dt.datetime | None = None, fee: int = 0, fee_returned: int = 0) -> Dispute:
    """A dispute as the webhooks leave it; Stripe's fee (`fee`) is taken when it opens and, when `fee_returned`,
    given back when it closes."""
    n = next(_n)
    return Dispute.objects.create(payment=p, stripe_dispute_id=f"dp_{n}", amount_cents=cents, reason="fraudulent",
                                  stripe_status={"open": "needs_response", "closed": "warning_closed"}.get(outcome, outcome),
                                  outcome=outcome, opened_at=at, closed_at=closed, fee_cents=fee,
                                  fee_at=at if fee else None, fee_returned_cents=fee_returned,
                                  fee_returned_at=closed if fee_returned else None)


def specialty_line(b: Booking, code: str, *, quantity: int = 1, unit_price: str) -> BookingSpecialtyItem:
    if not SpecialtyItem.objects.filter(code=code).exists():
        call_command("loaddata", "catalog", verbosity=0)
    return BookingSpecialtyItem.objects.create(booking=b, item=SpecialtyItem.objects.get(code=code),
                                               quantity=quantity, unit_price=Decimal(unit_price))


def leg(b: Booking, kind: str, *, status: str = "completed", started: dt.datetime | None = None,
        finished: dt.datetime | None = None):
    """A delivery leg with the timestamps Onfleet's events would have stamped (failures stamp completed_at too)."""
    from core.logistics.models import DeliveryTask

    window = dt.datetime.combine(b.pickup_date, dt.time(8), tzinfo=NY)
    return DeliveryTask.objects.create(booking=b, kind=kind, status=status, window_start=window,
                                       window_end=window + dt.timedelta(hours=4), address="1 Main St",
                                       contact_name="Pat", started_at=started, completed_at=finished)


def coi(b: Booking, *, uploaded: dt.datetime, decided: dt.datetime | None, status: str):
    """A certificate uploaded at `uploaded` and decided (validated_at) at `decided`."""
    from core.documents.models import COI, Document

    n = next(_n)
    document = Document.objects.create(document_type="coi", booking=b, original_filename=f"coi-{n}.pdf",
                                       storage_key=f"coi/{n}", size=1000, mime_type="application/pdf",
                                       sha256=f"{n:064d}", upload_source="staff")
    Document.objects.filter(pk=document.pk).update(created_at=uploaded)
    return COI.objects.create(document=document, booking=b, status=status, validated_at=decided)
