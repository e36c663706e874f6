"""What the booking desk shows: list columns and the change form's read-only tabs."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from unfold.decorators import display
from unfold.utils import display_for_label

from core.notifications.selectors import booking_notifications
from core.payments.selectors import payment_list_for_booking
from core.reporting import selectors as reporting
from ops_console.activity import transition_text
from ops_console.admin._common import PAYMENT_COLOURS, STATUS_COLOURS, badge, cents, html_table, money
from ops_console.admin.bookings.changes import change_summary
from ops_console.admin.documents import booking_documents_table
from ops_console.admin.logistics import booking_delivery_table
from ops_console.formatting import EMPTY, local_datetime, multiline, reason_text


class BookingSectionsMixin:
    # --- list columns ----------------------------------------------------------------------------------
    @display(description="Customer", ordering="customer__name")
    def customer_name(self, obj):
        return obj.customer.name

    @display(description="Total", ordering="total_price")
    def total(self, obj):
        return money(obj.total_price)

    @display(description="Status", ordering="status")
    def status_badge(self, obj):
        return badge("status", obj.status, str(obj.get_status_display()))

    @display(description="Payment", ordering="payment_status")
    def payment_badge(self, obj):
        return badge("payment", obj.payment_status, str(obj.get_payment_status_display()))

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

    @display(description="Specialty items")
    def specialty_table(self, obj):
        rows = [[line.item.name, line.quantity, money(line.unit_price)]
                for line in obj.specialty_lines.select_related("item")]
        return html_table(["Item", "Qty", "Unit price"], rows, empty="No specialty items.")

    @display(description="Payments")
    def payments_table(self, obj):
        rows = []
        for p in payment_list_for_booking(booking=obj):
            refunds = ", ".join(f"{cents(r.amount_cents)} {r.get_status_display().lower()}" for r in p.refunds.all())
            rows.append([local_datetime(p.created_at), p.get_method_display(), cents(p.amount_cents),
                         p.get_status_display(), cents(p.refunded_cents), refunds or EMPTY, p.reference or EMPTY])
        return html_table(["When", "Method", "Amount", "Status", "Refunded", "Refunds", "Reference"], rows,
                          empty="No payments recorded.")

    @display(description="Notifications")
    def notifications_table(self, obj):
        rows = [[local_datetime(n.created_at), n.get_notification_type_display(), n.get_channel_display(),
                 n.get_status_display(), local_datetime(n.sent_at), n.last_error[:80] or EMPTY]
                for n in booking_notifications(booking=obj)]
        return html_table(["Created", "Type", "Channel", "Status", "Sent", "Last error"], rows,
                          empty="No notifications.")

    @display(description="Status history")
    def status_history_table(self, obj):
        rows = [[local_datetime(c.created_at), transition_text(c.from_status, c.to_status),
                 c.actor or "System", reason_text(c.reason)] for c in reporting.booking_status_history(obj)]
        return html_table(["When", "Change", "By", "Reason"], rows, empty="No status changes.")

    @display(description="Changes under the change policy")
    def change_history_table(self, obj):
        rows = []
        for quote in reporting.booking_change_history(obj):
            who = quote.used_by or quote.actor or "Customer"
            reason = (quote.override or {}).get("reason") or EMPTY
            lines = "; ".join(f"{ln.get('description', ln.get('code'))} {money(ln.get('amount'))}"
                              for ln in (quote.price or {}).get("lines", [])) or EMPTY
            version = f"v{quote.policy.version}" if quote.policy_id else EMPTY
            rows.append([local_datetime(quote.used_at), who, change_summary(quote), lines,
                         money(quote.amount_due) if quote.amount_due else EMPTY,
                         money(quote.refund_amount) if quote.refund_amount else EMPTY, reason, version])
        return html_table(["When", "By", "Change", "Lines", "Amount due", "Refund", "Override reason", "Policy"],
                          rows, empty="No changes under the change policy.")

    @display(description="Staff notes")
    def staff_notes_table(self, obj):
        rows = [[local_datetime(n.created_at), n.author or "System", multiline(n.body)]
                for n in reporting.booking_staff_notes(obj)]
        return html_table(["When", "By", "Note"], rows, empty="No staff notes. Add one with “Add staff note”.")

    @display(description="Documents")
    def documents_table(self, obj):
        return booking_documents_table(obj, can_upload=getattr(obj, "console_can_upload_documents", False))

    @display(description="Delivery")
    def delivery_table(self, obj):
        return booking_delivery_table(obj)

    @display(description="Tracking link")
    def tracking_link(self, obj):
        if not obj.tracking_url:
            return EMPTY
        return format_html('<a class="text-primary-600" href="{}" target="_blank" rel="noopener">{}</a>',
                           obj.tracking_url, obj.tracking_url)

    @display(description="COI required", boolean=True)
    def coi_required_display(self, obj):
        return obj.coi_required

    @display(description="Audit trail")
    def activity_link(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">Activity (every change, who, when, from which IP)</a>'
            ' · <a class="text-primary-600" href="{}">Field-by-field history</a>',
            reverse("admin:core_booking_activity", args=[obj.pk]),
            reverse("admin:core_booking_history", args=[obj.pk]),
        )
