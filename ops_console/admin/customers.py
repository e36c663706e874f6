"""Customers: profile, booking history, lifetime value, staff notes, merging duplicates."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.decorators import action, display

from core import models as m
from core.common.errors import DomainError
from core.customers.services import customer_merge
from core.reporting import selectors as reporting
from ops_console import forms as ops_forms
from ops_console.admin._common import html_table, money, render_action_page, safe_next
from ops_console.admin.customer_privacy import CustomerPrivacyActions
from ops_console.base import OpsModelAdmin
from ops_console.formatting import local_date
from ops_console.resources import CustomerResource

HISTORY_ROWS = 50


@admin.register(m.CustomerProfile)
class CustomerProfileAdmin(CustomerPrivacyActions, OpsModelAdmin):
    resource_classes = [CustomerResource]
    list_display = ["name", "email", "phone", "total_bookings_count", "lifetime_value_display", "merged_badge",
                    "created_at"]
    search_fields = ["name", "email", "phone"]
    search_help_text = "Name, email or phone."
    list_select_related = ["merged_into"]
    readonly_fields = ["total_bookings_count", "lifetime_value_display", "created_from_booking", "merged_into",
                       "created_at", "updated_at", "booking_history"]
    autocomplete_fields = ["preferred_addresses"]
    fieldsets = [
        ("Profile", {"classes": ["tab"], "fields": ["name", "email", "phone", "staff_notes",
                                                     ("total_bookings_count", "lifetime_value_display"),
                                                     ("created_from_booking", "merged_into"),
                                                     ("created_at", "updated_at")]}),
        ("Booking history", {"classes": ["tab"], "fields": ["booking_history"]}),
        ("Addresses", {"classes": ["tab"], "fields": ["preferred_addresses"]}),
    ]
    actions = ["merge_duplicates", *CustomerPrivacyActions.privacy_actions]
    ordering = ["-created_at"]

    def get_queryset(self, request):
        return reporting.customer_admin_queryset()

    def has_delete_permission(self, request, obj=None):
        return False  # customers are merged, never deleted (bookings point at them)

    def has_merge_permission(self, request, obj=None):
        return request.user.has_perm("core.change_customerprofile")

    @display(description="Bookings")
    def booking_history(self, obj):
        """Read-only, newest pickup first, one query (the whole list is one click away)."""
        if obj.pk is None:
            return "—"
        bookings = list(reporting.customer_booking_history_queryset().filter(customer_id=obj.pk)[:HISTORY_ROWS])
        rows = [[format_html('<a class="text-primary-600" href="{}">{}</a>',
                             reverse("admin:core_booking_change", args=[b.pk]), b.booking_number),
                 b.get_booking_type_display(), local_date(b.pickup_date), b.get_pickup_window_display(),
                 b.get_status_display(), money(b.total_price), b.get_payment_status_display()] for b in bookings]
        table = html_table(["Booking", "Type", "Pickup", "Window", "Status", "Total", "Payment"], rows,
                           empty="No bookings.")
        url = reverse("admin:core_booking_changelist") + f"?when=all&customer__id__exact={obj.pk}"
        return format_html('{}<p class="mt-2"><a class="text-primary-600" href="{}">All bookings of this customer'
                           '</a></p>', table, url)

    @display(description="Lifetime value", ordering="lifetime_value")
    def lifetime_value_display(self, obj):
        return money(getattr(obj, "lifetime_value", 0))

    @display(description="Merged", label={"merged": "warning"})
    def merged_badge(self, obj):
        return ("merged", f"→ {obj.merged_into.name}") if obj.merged_into_id else ""

    def get_urls(self):
        return [path("merge/", self.admin_site.admin_view(self.merge_view), name="core_customerprofile_merge"),
                *self.privacy_urls(), *super().get_urls()]

    @action(description="Merge duplicates (select two)", permissions=["merge"], icon="merge")
    def merge_duplicates(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:3])
        return self.merge_view(request, ids=ids)

    def merge_view(self, request, ids=None):
        if not self.has_merge_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:core_customerprofile_changelist")
        next_url = safe_next(request, changelist)
        if ids is None:
            ids = [int(i) for i in request.POST.getlist("ids") if str(i).isdigit()]
        customers = list(m.CustomerProfile.objects.filter(pk__in=ids).order_by("created_at"))
        if len(customers) != 2:
            self.message_user(request, "Select exactly two customer profiles to merge.", messages.ERROR)
            return HttpResponseRedirect(next_url)
        confirmed = request.method == "POST" and request.POST.get("confirm") == "yes"
        form = ops_forms.MergeForm(request.POST if confirmed else None, customers=customers)
        if confirmed and form.is_valid():
            target = next(c for c in customers if c.pk == form.cleaned_data["target"])
            source = next(c for c in customers if c.pk != target.pk)
            try:
                customer_merge(source=source, target=target, actor=request.user)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"Merged {source.email} into {target.email}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:core_customerprofile_change", args=[target.pk]))
            return HttpResponseRedirect(next_url)
        return render_action_page(
            request, self, title="Merge duplicate customers", form=form, ids=[c.pk for c in customers],
            next_url=next_url, action_url=reverse("admin:core_customerprofile_merge"), submit_label="Merge",
            description="Bookings of the other profile move to the one you keep; the merge is recorded in both "
                        "profiles' history.",
        )


@admin.register(m.Address)
class AddressAdmin(OpsModelAdmin):
    list_display = ["line1", "line2", "city", "state", "zip_code"]
    search_fields = ["line1", "city", "zip_code"]
    list_filter = ["state"]

    def has_delete_permission(self, request, obj=None):
        return False  # bookings keep their addresses

    def save_model(self, request, obj, form, change):
        from core.customers.services import address_save

        address_save(address=obj, actor=request.user)
