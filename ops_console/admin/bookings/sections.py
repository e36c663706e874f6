"""What the booking desk shows: list columns and the change form's read-only tabs."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from unfold.decorators import display
from unfold.utils import display_for_label

from core.notifications.selectors import booking_notifications
from core.payments.selectors import payment_list_for_booking
from ops_console.admin._common import PAYMENT_COLOURS, STATUS_COLOURS, cents, html_table, money


class BookingSectionsMixin:
    # --- list columns ----------------------------------------------------------------------------------
    @display(description="Customer", ordering="customer__name")
    def customer_name(self, obj):
        return obj.customer.name

    @display(description="Status", ordering="status", label=STATUS_COLOURS)
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description="Payment", ordering="payment_status", label=PAYMENT_COLOURS)
    def payment_badge(self, obj):
        return obj.payment_status, obj.get_payment_status_display()

    # --- change-form sections --------------------------------------------------------------------------
    @display(description="Status")
    def status_label(self, obj):
        return display_for_label((obj.status, obj.get_status_display()), "-", STATUS_COLOURS)

    @display(description="Payment")
    def payment_label(self, obj):
        return display_for_label((obj.payment_status, obj.get_payment_status_display()), "-", PAYMENT_COLOURS)

    @display(description="Customer")
    def customer_link(self, obj):
        url = reverse("admin:core_customerprofile_change", args=[obj.customer_id])
        return format_html('<a class="text-primary-600 font-semibold" href="{}">{}</a>', url, obj.customer.name)

    @display(description="Email")
    def customer_email(self, obj):
        return obj.customer.email

    @display(description="Phone")
    def customer_phone(self, obj):
        return obj.customer.phone

    @display(description="Bookings with us")
    def customer_bookings(self, obj):
        return obj.customer.total_bookings_count

    @display(description="Pickup address")
    def pickup_address_display(self, obj):
        return str(obj.pickup_address)

    @display(description="Drop-off address")
    def dropoff_address_display(self, obj):
        return str(obj.dropoff_address)

    @display(description="Price breakdown (as sold)")
    def price_table(self, obj):
        lines = (obj.price_breakdown or {}).get("lines") or []
        rows = [[ln.get("description", ln.get("code")), ln.get("quantity", 1), money(ln.get("amount"))]
                for ln in lines]
        rows.append([mark_safe("<strong>Total</strong>"), "", format_html("<strong>{}</strong>",
                                                                         money(obj.total_price))])
        return html_table(["Line", "Qty", "Amount"], rows)

    @display(description="Payments")
    def payments_table(self, obj):
        rows = []
        for p in payment_list_for_booking(booking=obj):
            refunds = ", ".join(f"{cents(r.amount_cents)} {r.status}" for r in p.refunds.all()) or "—"
            rows.append([p.created_at.strftime("%Y-%m-%d %H:%M"), p.get_method_display(), cents(p.amount_cents),
                         p.get_status_display(), cents(p.refunded_cents), refunds, p.reference or ""])
        return html_table(["When", "Method", "Amount", "Status", "Refunded", "Refunds", "Reference"], rows,
                          empty="No payments recorded.")

    @display(description="Notifications")
    def notifications_table(self, obj):
        rows = [[n.created_at.strftime("%Y-%m-%d %H:%M"), n.get_notification_type_display(), n.get_channel_display(),
                 n.get_status_display(), n.sent_at.strftime("%Y-%m-%d %H:%M") if n.sent_at else "",
                 n.last_error[:80]] for n in booking_notifications(booking=obj)]
        return html_table(["Created", "Type", "Channel", "Status", "Sent", "Last error"], rows,
                          empty="No notifications.")

    @display(description="Audit trail")
    def activity_link(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">Activity (every change, who, when, from which IP)</a>'
            ' · <a class="text-primary-600" href="{}">Field-by-field history</a>',
            reverse("admin:core_booking_activity", args=[obj.pk]),
            reverse("admin:core_booking_history", args=[obj.pk]),
        )
