"""Catalog & pricing and the van schedule: edits validated field by field, plus the price simulator."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from unfold.decorators import action, display

from core import models as m
from core.bookings.requests import BookingRequest
from core.bookings.services import price_and_check
from core.catalog import availability
from core.catalog.models import SurchargeRule
from core.catalog.selectors import active_packages, active_specialty_items
from core.catalog.services import van_schedule_delete, van_schedule_save
from core.catalog.validation import surcharge_rule_problems, van_schedule_problems
from core.common.errors import DomainError
from ops_console import forms as ops_forms
from ops_console.base import OpsModelAdmin
from ops_console.formatting import money
from ops_console.resources import (
    MiniMovePackageResource,
    SpecialtyItemResource,
    SurchargeRuleResource,
    VanScheduleResource,
)


def _add_problems(form: forms.Form, problems: dict[str, list[str]]) -> None:
    for field, texts in problems.items():
        for text in texts:
            form.add_error(field, text)


class SurchargeRuleForm(forms.ModelForm):
    """Field-level messages for the rules the database also enforces (so staff see which field to fix)."""

    class Meta:
        model = SurchargeRule
        fields = ["code", "name", "rule_type", "amount", "is_percentage", "start_date", "end_date",
                  "recurs_annually", "weekdays", "applies_to", "is_active"]

    def clean(self):
        data = super().clean()
        problems = surcharge_rule_problems(
            rule_type=data.get("rule_type"), amount=data.get("amount"), is_percentage=data.get("is_percentage"),
            start_date=data.get("start_date"), end_date=data.get("end_date"),
            recurs_annually=data.get("recurs_annually"), weekdays=data.get("weekdays"),
            applies_to=data.get("applies_to"))
        _add_problems(self, problems)
        return data


class VanScheduleForm(forms.ModelForm):
    class Meta:
        model = m.VanSchedule
        fields = ["date", "capacity_override", "specialty_items_available", "surcharge_override", "notes",
                  "is_active"]

    def clean(self):
        # field-level messages before saving; van_schedule_save checks again under the service-day lock
        data = super().clean()
        problems = van_schedule_problems(day=data.get("date"), capacity_override=data.get("capacity_override"),
                                         is_active=data.get("is_active", True), now=timezone.now(),
                                         previous_day=self.instance.date if self.instance.pk else None)
        _add_problems(self, problems)
        return data


@admin.register(m.MiniMovePackage)
class MiniMovePackageAdmin(OpsModelAdmin):
    resource_classes = [MiniMovePackageResource]
    list_display = ["name", "code", "max_items", "base_price", "coi_included", "is_active"]
    search_fields = ["name", "code"]
    list_filter = ["is_active"]

    def has_delete_permission(self, request, obj=None):
        return False  # bookings reference packages; deactivate instead


@admin.register(m.SpecialtyItem)
class SpecialtyItemAdmin(OpsModelAdmin):
    resource_classes = [SpecialtyItemResource]
    list_display = ["name", "code", "base_price", "requires_van_availability", "weight_limit", "is_active"]
    search_fields = ["name", "code"]
    list_filter = ["is_active", "requires_van_availability"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.StandardDeliveryRate)
class StandardDeliveryRateAdmin(OpsModelAdmin):
    list_display = ["price_per_item", "minimum_items", "is_active"]


@admin.register(m.SurchargeRule)
class SurchargeRuleAdmin(OpsModelAdmin):
    form = SurchargeRuleForm
    resource_classes = [SurchargeRuleResource]
    list_display = ["name", "code", "rule_type", "amount_display", "start_date", "end_date", "is_active"]
    list_filter = ["rule_type", "is_active"]
    search_fields = ["name", "code"]
    actions_list = ["open_simulator"]

    @display(description="Amount", ordering="amount")
    def amount_display(self, obj):
        return f"{obj.amount}%" if obj.is_percentage else money(obj.amount)

    def get_urls(self):
        return [path("simulator/", self.admin_site.admin_view(self.simulator_view), name="core_price_simulator"),
                *super().get_urls()]

    @action(description="Price simulator", icon="calculate", permissions=["view"])
    def open_simulator(self, request):
        return HttpResponseRedirect(reverse("admin:core_price_simulator"))

    def simulator_view(self, request):
        """"What would this booking cost on this date?" — the API's calculator on the live catalog."""
        if not request.user.has_perm("core.view_surchargerule"):
            raise PermissionDenied
        form = ops_forms.PriceSimulatorForm(request.GET or None, packages=list(active_packages()),
                                            items=list(active_specialty_items()))
        breakdown = error = avail = bookability = None
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            booking_request = BookingRequest(
                booking_type=data["booking_type"], pickup_date=data["pickup_date"], package=data["package"] or None,
                item_count=data.get("item_count") or 0, specialty_items=form.specialty_items(),
                coi_required=data.get("coi_required", False),
            )
            try:
                breakdown, bookability = price_and_check(booking_request, now=timezone.now())
                avail = availability.check_date(data["pickup_date"], data["booking_type"], with_alternatives=False)
            except DomainError as exc:
                error = exc
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Price simulator",
                   "form": form, "breakdown": breakdown, "error": error, "availability": avail,
                   "bookability": bookability,
                   "trail": [("Catalog & Pricing", ""), ("Surcharge rules", reverse("admin:core_surchargerule_changelist")),
                             ("Price simulator", "")]}
        return TemplateResponse(request, "ops_console/price_simulator.html", context)


@admin.register(m.VanSchedule)
class VanScheduleAdmin(OpsModelAdmin):
    form = VanScheduleForm
    resource_classes = [VanScheduleResource]
    list_display = ["date", "capacity_override", "specialty_items_available", "surcharge_override", "is_active"]
    list_filter = ["is_active", "specialty_items_available"]
    ordering = ["date"]
    search_fields = ["notes"]

    def save_model(self, request, obj, form, change):
        van_schedule_save(schedule=obj, actor=request.user)

    def delete_model(self, request, obj):
        van_schedule_delete(schedule=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():  # all or none: the changelist's action runs outside the admin's transaction
            for schedule in queryset:
                van_schedule_delete(schedule=schedule, actor=request.user)

    def _refusable(self, view, request, *args, **kwargs):
        # The services re-check capacity under the date's lock: a booking may have taken a slot since the form
        # was checked, or the deleted override held more bookings than the default capacity. Nothing was
        # saved (the admin's transaction rolled back): say why and go back to the page.
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._refusable(super().changeform_view, request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._refusable(super().delete_view, request, object_id, extra_context)

    def changelist_view(self, request, extra_context=None):
        return self._refusable(super().changelist_view, request, extra_context)
