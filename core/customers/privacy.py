"""Customer data requests: export everything held about a customer, or anonymise them.

Anonymising keeps what finance must keep (bookings, their prices and statuses, payments, refunds, audit rows)
and removes what identifies the person: names, email, phone, street addresses, free-text notes, message
contents and recipients, and the same values in the history rows and in stored API requests.
"""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q

from core.common.services import model_update
from core.customers.models import Address, CustomerProfile

ANONYMISED = "Anonymised"
REDACTED = "[anonymised]"
# Keys of a stored booking request (Quote.request) that identify the person; prices and items stay.
PERSONAL_REQUEST_KEYS = ("customer", "pickup_address", "dropoff_address", "notes")


def _row(instance, *, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every stored column (foreign keys as ids), not only the editable ones."""
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields
            if f.name not in exclude and f.attname not in exclude}


def _family(customer: CustomerProfile) -> list[CustomerProfile]:
    """The profile and the duplicates merged into it (the same person)."""
    return [customer, *CustomerProfile.objects.filter(merged_into=customer).order_by("pk")]


def customer_data_export(*, customer: CustomerProfile) -> dict[str, Any]:
    """Everything held about `customer` as JSON-ready data (a subject access request)."""
    from core.bookings.models import Booking
    from core.notifications.models import Notification
    from core.payments.models import Payment, Refund

    profiles = _family(customer)
    bookings = list(Booking.objects.filter(customer__in=profiles)
                    .select_related("pickup_address", "dropoff_address")
                    .prefetch_related("specialty_lines__item", "status_changes", "staff_notes").order_by("pk"))
    payments = list(Payment.objects.filter(booking__in=bookings).order_by("pk"))
    notifications = (Notification.objects.filter(Q(customer__in=profiles) | Q(booking__in=bookings))
                     .prefetch_related("delivery_logs").order_by("pk"))
    export = {
        "profiles": [{**_row(p, exclude=("preferred_addresses",)),
                      "preferred_addresses": [_row(a) for a in p.preferred_addresses.all()],
                      "history": [_row(h, exclude=("history_user",))
                                  for h in p.history.order_by("history_date")]} for p in profiles],
        "bookings": [{
            **_row(b, exclude=("access_token_hash",)),
            "pickup_address": _row(b.pickup_address), "dropoff_address": _row(b.dropoff_address),
            "specialty_items": [{"code": line.item.code, "quantity": line.quantity, "unit_price": line.unit_price}
                                for line in b.specialty_lines.all()],
            "status_changes": [_row(c) for c in b.status_changes.all()],
            "staff_notes": [_row(n) for n in b.staff_notes.all()],
        } for b in bookings],
        "payments": [_row(p) for p in payments],
        "refunds": [_row(r) for r in Refund.objects.filter(payment__in=payments).order_by("pk")],
        "notifications": [{**_row(n), "delivery_logs": [_row(log) for log in n.delivery_logs.all()]}
                          for n in notifications],
    }
    # Round-trip through Django's encoder: dates, decimals and UUIDs become strings, the result is plain JSON.
    import json

    return json.loads(json.dumps(export, cls=DjangoJSONEncoder))


@transaction.atomic
def customer_anonymise(*, customer: CustomerProfile, actor) -> CustomerProfile:
    """Remove the person from `customer` (and duplicates merged into it), keeping bookings, money and audit."""
    from core.bookings.models import Booking, BookingNote, IdempotencyRecord, Quote
    from core.notifications.models import DeliveryLog, Notification

    profiles = list(CustomerProfile.objects.select_for_update().filter(
        Q(pk=customer.pk) | Q(merged_into=customer.pk)).order_by("pk"))
    emails = [p.email for p in profiles]
    bookings = list(Booking.objects.select_for_update().filter(customer__in=profiles).order_by("pk"))
    booking_ids = [b.pk for b in bookings]

    for profile in profiles:
        model_update(instance=profile, fields=["name", "email", "phone", "staff_notes"], actor=actor, data={
            "name": f"{ANONYMISED} customer {profile.pk}", "email": f"anonymised-{profile.pk}@anonymised.invalid",
            "phone": "", "staff_notes": ""})
    _scrub_history(CustomerProfile, [p.pk for p in profiles], name=ANONYMISED,
                   email="anonymised@anonymised.invalid", phone="", staff_notes="")
    _redact_mentions(emails, exclude=[p.pk for p in profiles], actor=actor)

    address_ids = _own_addresses(profiles, bookings)
    for address in Address.objects.select_for_update().filter(pk__in=address_ids):
        model_update(instance=address, fields=["line1", "line2", "city", "zip_code", "normalized_address"],
                     actor=actor, data={"line1": ANONYMISED, "line2": "", "city": ANONYMISED, "zip_code": "00000",
                                        "normalized_address": ""})
    _scrub_history(Address, address_ids, line1=ANONYMISED, line2="", city=ANONYMISED, zip_code="00000",
                   normalized_address="")

    for booking in bookings:
        model_update(instance=booking, fields=["notes"], data={"notes": ""}, actor=actor)
    _scrub_history(Booking, booking_ids, notes="")
    BookingNote.objects.filter(booking_id__in=booking_ids).update(body=REDACTED)
    for quote in Quote.objects.filter(pk__in=[b.quote_id for b in bookings if b.quote_id]):
        quote.request = {k: v for k, v in quote.request.items() if k not in PERSONAL_REQUEST_KEYS}
        quote.save(update_fields=["request"])
    # Stored API responses (replayed for a retried Idempotency-Key) repeat the customer's details.
    IdempotencyRecord.objects.filter(booking_id__in=booking_ids).delete()

    notifications = Notification.objects.filter(Q(customer__in=profiles) | Q(booking_id__in=booking_ids))
    notification_ids = list(notifications.values_list("pk", flat=True))
    for notification in Notification.objects.filter(pk__in=notification_ids):
        model_update(instance=notification, fields=["recipients", "subject", "body_text", "body_html",
                                                    "last_error"], actor=actor,
                     data={"recipients": [REDACTED], "subject": REDACTED, "body_text": REDACTED, "body_html": "",
                           "last_error": ""})
    _scrub_history(Notification, notification_ids, recipients=[REDACTED], subject=REDACTED, body_text=REDACTED,
                   body_html="", last_error="")
    DeliveryLog.objects.filter(notification_id__in=notification_ids).update(details={})
    return CustomerProfile.objects.get(pk=customer.pk)


def _scrub_history(model, ids, **values) -> None:
    """Overwrite personal columns in `model`'s history rows (history tables are not audited themselves).

    Rows written by the public API have no staff user: their IP address and user agent are the customer's.
    """
    rows = model.history.model.objects.filter(id__in=ids)
    rows.update(**values)
    rows.filter(history_user__isnull=True).update(ip_address=None, user_agent="")


def _own_addresses(profiles, bookings) -> list[int]:
    """Addresses of these profiles and bookings that no other customer's booking uses."""
    from core.bookings.models import Booking

    ids = {a for b in bookings for a in (b.pickup_address_id, b.dropoff_address_id)}
    ids |= set(Address.objects.filter(preferred_by__in=profiles).values_list("pk", flat=True))
    shared = Booking.objects.filter(Q(pickup_address_id__in=ids) | Q(dropoff_address_id__in=ids)).exclude(
        customer__in=profiles).values_list("pickup_address_id", "dropoff_address_id")
    return sorted(ids - {a for pair in shared for a in pair})


def _redact_mentions(emails: list[str], *, exclude: list[int], actor) -> None:
    """A merge writes the merged profile's name and email into the kept profile's staff notes."""
    for email in emails:
        for other in CustomerProfile.objects.filter(staff_notes__icontains=email).exclude(pk__in=exclude):
            lines = [REDACTED if email.lower() in line.lower() else line for line in other.staff_notes.splitlines()]
            model_update(instance=other, fields=["staff_notes"], data={"staff_notes": "\n".join(lines)},
                         actor=actor)
            CustomerProfile.history.model.objects.filter(id=other.pk, staff_notes__icontains=email).update(
                staff_notes=REDACTED)
