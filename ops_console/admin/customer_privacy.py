"""Customer data requests on the customer list: export as JSON, anonymise (Admin role only, confirmed)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from unfold.decorators import action
from unfold.widgets import UnfoldAdminTextInputWidget

from core import models as m
from core.customers.privacy import customer_anonymise, customer_data_export
from ops_console.admin._common import render_action_page, safe_next


class AnonymiseForm(forms.Form):
    confirm_email = forms.EmailField(label="Type the customer's email to confirm", widget=UnfoldAdminTextInputWidget,
                                     help_text="Names, email, phone, street addresses, notes and message contents "
                                               "are removed for good, also from history. Bookings, payments and "
                                               "audit rows stay.")

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_confirm_email(self):
        value = self.cleaned_data["confirm_email"]
        if value.strip().lower() != self.customer.email.lower():
            raise forms.ValidationError("That is not this customer's email.")
        return value


class CustomerPrivacyActions:
    """Mixed into CustomerProfileAdmin."""

    privacy_actions = ["export_personal_data", "anonymise_customer"]

    def has_privacy_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff and request.user.is_admin_role

    def privacy_urls(self):
        return [path("<int:customer_id>/anonymise/", self.admin_site.admin_view(self.anonymise_view),
                     name="core_customerprofile_anonymise")]

    @action(description="Export personal data (JSON)", permissions=["privacy"], icon="download")
    def export_personal_data(self, request, queryset):
        data = {str(c.pk): customer_data_export(customer=c) for c in queryset.order_by("pk")[:20]}
        response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="customer-data.json"'
        return response

    @action(description="Anonymise (data request; select one)", permissions=["privacy"], icon="person_off")
    def anonymise_customer(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, "Select exactly one customer to anonymise.", messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:core_customerprofile_anonymise", args=ids))

    def anonymise_view(self, request, customer_id):
        if not self.has_privacy_permission(request):
            raise PermissionDenied
        customer = m.CustomerProfile.objects.filter(pk=customer_id).first()
        changelist = reverse("admin:core_customerprofile_changelist")
        if customer is None:
            self.message_user(request, "No such customer.", messages.ERROR)
            return HttpResponseRedirect(changelist)
        confirmed = request.method == "POST" and request.POST.get("confirm") == "yes"
        form = AnonymiseForm(request.POST if confirmed else None, customer=customer)
        if confirmed and form.is_valid():
            customer_anonymise(customer=customer, actor=request.user)
            self.message_user(request, f"Customer {customer.pk} anonymised.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:core_customerprofile_change", args=[customer.pk]))
        return render_action_page(
            request, self, title="Anonymise customer", form=form, objects=[customer],
            next_url=safe_next(request, changelist), submit_label="Anonymise",
            action_url=reverse("admin:core_customerprofile_anonymise", args=[customer.pk]),
            description="For a customer's erasure request. This cannot be undone.")
