"""The change policy: versions listed, a new version published from the current one, none rewritten.

A booking is changed by the version it was sold under, so a published version is read-only here; "New version
from this one" opens the add form prefilled, and publishing it (core.catalog.policy_services) makes it the
version new bookings are sold under. Admins publish; Operations and Finance read.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminTextareaWidget

from core import models as m
from core.catalog.policy_services import change_policy_problems, change_policy_publish
from core.common.errors import DomainError
from ops_console.base import OpsModelAdmin
from ops_console.formatting import local_datetime, money

TIERS_HELP = ('A list of tiers, e.g. [{"min_hours_before": 168, "fee_type": "percent", "fee": "0"}, '
              '{"min_hours_before": 48, "fee_type": "percent", "fee": "50"}, '
              '{"min_hours_before": 0, "fee_type": "percent", "fee": "100"}]. Cancelling at least '
              'min_hours_before the pickup costs fee: "percent" of the booking\'s price as it stands (never more '
              'than was paid), or "fixed" dollars.')


def tiers_text(tiers) -> str:
    """The tiers as people read them: "≥ 168 h: 0 % · ≥ 48 h: 50 % · ≥ 0 h: 100 %"."""
    parts = []
    for tier in tiers if isinstance(tiers, list) else []:
        if not isinstance(tier, dict):
            continue
        fee = tier.get("fee", "?")
        fee_text = f"{fee} %" if tier.get("fee_type") == "percent" else money(fee)
        parts.append(f"≥ {tier.get('min_hours_before', '?')} h: {fee_text}")
    return " · ".join(parts) or "—"


class ChangePolicyForm(forms.ModelForm):
    cancellation_tiers = forms.JSONField(label="Cancellation tiers", help_text=TIERS_HELP, required=False,
                                         widget=UnfoldAdminTextareaWidget(attrs={"rows": 6}))

    class Meta:
        model = m.ChangePolicy
        fields = ["name", "cancellation_tiers", "reschedule_free_hours", "reschedule_fee",
                  "reschedule_cutoff_hours"]

    def clean(self):
        data = super().clean()
        problems = change_policy_problems(cancellation_tiers=data.get("cancellation_tiers", []),
                                          reschedule_free_hours=data.get("reschedule_free_hours"),
                                          reschedule_cutoff_hours=data.get("reschedule_cutoff_hours"))
        for field, texts in problems.items():
            for text in texts:
                if field in self.fields and field not in self.errors:
                    self.add_error(field, text)
        return data

    def _post_clean(self):
        # clean() above ran the policy's checks (change_policy_problems, which the publish service runs again);
        # the model's clean and check constraint would repeat them, the constraint as a bare "Constraint … is
        # violated", so the instance skips them here.
        self.instance.clean = lambda: None
        self.instance.validate_constraints = lambda exclude=None: None
        super()._post_clean()


@admin.register(m.ChangePolicy)
class ChangePolicyAdmin(OpsModelAdmin):
    form = ChangePolicyForm
    list_display = ["version", "name", "active_badge", "tiers", "reschedule_rules", "published"]
    list_display_links = ["version", "name"]
    ordering = ["-version"]
    readonly_fields = ["version", "is_active", "created_at"]
    actions_detail = ["detail_new_version"]
    actions_list = ["new_version_of_active"]

    # --- permissions: Admin publishes, nobody rewrites a version -------------------------------------------
    def has_add_permission(self, request):
        return self._has(request, "add")

    def has_change_permission(self, request, obj=None):
        return False  # bookings were sold under it: publish a new version instead

    def has_delete_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return False

    def has_export_permission(self, request):
        return False

    def has_publish_permission(self, request, obj=None):
        return self._has(request, "add")

    # --- list ----------------------------------------------------------------------------------------------
    @display(description="Status", label={"active": "success", "retired": "info"})
    def active_badge(self, obj):
        return ("active", "Active (new bookings)") if obj.is_active else ("retired", "Earlier version")

    @display(description="Cancellation tiers")
    def tiers(self, obj):
        return tiers_text(obj.cancellation_tiers)

    @display(description="Reschedule")
    def reschedule_rules(self, obj):
        return (f"free ≥ {obj.reschedule_free_hours} h, then {money(obj.reschedule_fee)}; "
                f"closed < {obj.reschedule_cutoff_hours} h")

    @display(description="Published", ordering="created_at")
    def published(self, obj):
        return local_datetime(obj.created_at)

    # --- a new version, prefilled from an earlier one ------------------------------------------------------
    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        source = m.ChangePolicy.objects.filter(pk=request.GET.get("from") or 0).first() \
            if str(request.GET.get("from", "")).isdigit() else None
        source = source or m.ChangePolicy.objects.filter(is_active=True).first()
        if source is not None:
            initial.update(name=source.name, cancellation_tiers=json.dumps(source.cancellation_tiers),
                           reschedule_free_hours=source.reschedule_free_hours, reschedule_fee=source.reschedule_fee,
                           reschedule_cutoff_hours=source.reschedule_cutoff_hours)
        return initial

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "cancellation_tiers", "reschedule_free_hours", "reschedule_fee",
                    "reschedule_cutoff_hours"]
        return ["version", "name", "is_active", "cancellation_tiers", "reschedule_free_hours", "reschedule_fee",
                "reschedule_cutoff_hours", "created_at"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            published = change_policy_publish(
                name=data["name"], cancellation_tiers=data["cancellation_tiers"],
                reschedule_free_hours=data["reschedule_free_hours"], reschedule_fee=data["reschedule_fee"],
                reschedule_cutoff_hours=data["reschedule_cutoff_hours"], actor=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk, obj.version, obj.is_active = published.pk, published.version, True
        obj._state.adding = False
        self.message_user(request, f"Version {published.version} published: new bookings are sold under it; "
                                   "earlier bookings keep the version they were sold under.", messages.INFO)

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:  # the service refused (shown as a message): back to the form
            return HttpResponseRedirect(request.get_full_path())
        return HttpResponseRedirect(reverse("admin:core_changepolicy_changelist"))

    def log_addition(self, request, obj, message):
        if obj.pk is not None:
            return super().log_addition(request, obj, message)
        return None

    @action(description="New version from this one", icon="content_copy", permissions=["publish"])
    def detail_new_version(self, request, object_id):
        return HttpResponseRedirect(reverse("admin:core_changepolicy_add") + f"?from={int(object_id)}")

    @action(description="Publish a new version", icon="add", permissions=["publish"])
    def new_version_of_active(self, request):
        return HttpResponseRedirect(reverse("admin:core_changepolicy_add"))
