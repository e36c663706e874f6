"""New booking (phone): staff take a customer's booking through core's booking_create, the API's own service.

Price first: "Preview price" stores a quote (core's quote_preview, as the site's preview does) and "Create
booking" hands its id to booking_create, so the customer is charged what staff read out. Capacity, holds,
building rules and pricing are all core's; a refusal comes back as form errors and nothing is written. Then
payment: a payment link (email/SMS) or an offline payment, through the booking desk's actions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from unfold.decorators import action

from core.bookings.errors import (
    DateUnavailable,
    IdempotencyConflict,
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
)
from core.bookings.idempotency import request_fingerprint
from core.bookings.models import BookingSource
from core.bookings.services import booking_create_idempotent, quote_preview
from core.catalog.selectors import active_packages, active_specialty_items
from core.common.errors import DomainError
from core.payments.services import amount_due, payment_link_refusal
from core.reporting import selectors as reporting
from ops_console.admin.bookings.actions import PAY_LINK
from ops_console.admin.bookings.entries import desk_action
from ops_console.booking_forms import PhoneBookingForm
from ops_console.formatting import local_date, local_datetime


def _alternatives_text(exc: DomainError) -> str:
    days = [d for d in (exc.fields or {}).get("alternatives", []) if d]
    if not days:
        return ""
    return " Nearest dates that can be booked: " + ", ".join(local_date(dt.date.fromisoformat(d)) for d in days) + "."


class PhoneBookingMixin:
    def has_phone_booking_permission(self, request, obj=None):
        return request.user.has_perm("core.add_booking")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("phone/", view(self.phone_booking_view), name="core_booking_phone"),
            path("phone/<uuid:booking_id>/", view(self.phone_booked_view), name="core_booking_phone_done"),
            *super().get_urls(),
        ]

    @action(description="New booking (phone)", icon="add_call", permissions=["phone_booking"])
    def new_phone_booking(self, request):
        return HttpResponseRedirect(reverse("admin:core_booking_phone"))

    # the booking desk's "Send payment link" buttons (the action page and its rules are the desk's)
    @desk_action(PAY_LINK, "row")
    def row_pay_link(self, request, object_id):
        return self.open_row(request, PAY_LINK, object_id)

    @desk_action(PAY_LINK, "detail")
    def detail_pay_link(self, request, object_id):
        return self.open_detail(request, PAY_LINK, object_id)

    def _phone_context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": "New booking (phone)",
                "trail": [("Bookings", reverse("admin:core_booking_changelist")), ("New booking (phone)", "")],
                **extra}

    def phone_booking_view(self, request):
        if not self.has_phone_booking_permission(request):
            raise PermissionDenied
        packages, items = list(active_packages()), list(active_specialty_items())
        form = PhoneBookingForm(request.POST or None, packages=packages, items=items)
        preview = None
        if request.method == "POST" and form.is_valid():
            wants_create = request.POST.get("intent") == "create" and form.cleaned_data.get("quote_id")
            if wants_create:
                try:
                    booking_id, replayed = self._create(request, form)
                except (QuoteExpired, QuoteMismatch, QuoteNotFound):
                    form.add_error(None, "The details or the price changed since the preview: check the new "
                                         "price below and create again.")
                except IdempotencyConflict:
                    form.add_error(None, "This price was already used for another booking: check the new price "
                                         "below and create again.")
                except DomainError as exc:
                    form.add_core_errors(exc.fields)
                    extra = _alternatives_text(exc) if isinstance(exc, DateUnavailable) else ""
                    form.add_error(None, f"{exc.message}{extra}")
                    return self._render_phone(request, form, None)  # fix, then preview again
                else:
                    if replayed:
                        self.message_user(request, "This booking was already created (the form was sent twice).",
                                          messages.WARNING)
                    else:
                        self.message_user(request, "Booked: now take the payment.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:core_booking_phone_done", args=[booking_id]))
            preview = self._preview(form)
        return self._render_phone(request, form, preview)

    def _create(self, request, form: PhoneBookingForm) -> tuple[str, bool]:
        """booking_create under the preview's quote id as idempotency key: a double-click or a resubmitted page
        gives back the booking already made instead of a second one. Returns (booking id, replayed)."""
        booking_request = form.booking_request()
        attempt = uuid.uuid4().hex  # a replay returns the first attempt's body, with its own mark
        _status, body = booking_create_idempotent(
            request=booking_request, idempotency_key=f"console-phone:{booking_request.quote_id}",
            request_hash=request_fingerprint(dataclasses.asdict(booking_request)),
            render=lambda booking, _token: {"id": str(booking.pk), "attempt": attempt},  # no customer token kept
            actor=request.user, source=BookingSource.PHONE,
            hold_minutes=int(settings.TOTETAXI["PHONE_HOLD_MINUTES"]))
        return body["id"], body.get("attempt") != attempt

    def _preview(self, form: PhoneBookingForm):
        """Price the form as it stands (a quote when the date can be booked); the quote id goes into the form."""
        try:
            result = quote_preview(request=dataclasses.replace(form.booking_request(), quote_id=None))
        except DomainError as exc:
            form.add_core_errors(exc.fields)
            form.add_error(None, exc.message)
            return None
        data = form.data.copy()
        data["quote_id"] = str(result.quote.pk) if result.quote is not None else ""
        form.data = data
        return result

    def _render_phone(self, request, form, preview):
        return TemplateResponse(request, "ops_console/phone_booking.html",
                                self._phone_context(request, form=form, preview=preview))

    def phone_booked_view(self, request, booking_id):
        """After creating: the booking, what it owes, and the two ways to take the money."""
        if not self.has_phone_booking_permission(request):
            raise PermissionDenied
        booking = reporting.booking_admin_queryset().filter(pk=booking_id).first()
        if booking is None:
            raise Http404
        change_url = reverse("admin:core_booking_change", args=[booking.pk])
        refusal = payment_link_refusal(booking, now=timezone.now())
        context = self._phone_context(
            request, booking=booking, change_url=change_url, due=amount_due(booking),
            hold_until=local_datetime(booking.hold_expires_at) if booking.hold_expires_at else "",
            pay_link_url=self.action_url("pay_link", [booking.pk], change_url)
            if self.has_message_permission(request) and not refusal else "",
            offline_url=self.action_url("offline_payment", [booking.pk], change_url)
            if self.has_offline_payment_permission(request) else "",
            refusal=refusal)
        context["title"] = f"Booked: {booking.booking_number}"
        context["trail"] = [("Bookings", reverse("admin:core_booking_changelist")),
                            (booking.booking_number, change_url), ("Take the payment", "")]
        return TemplateResponse(request, "ops_console/phone_booked.html", context)
