"""Staff & access: users, staff profiles, groups (roles), and each staff user's activity."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from unfold.decorators import action, display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from core import models as m
from core.accounts.two_factor import two_factor_reset
from core.reporting.selectors import staff_activity
from ops_console.activity import render_activity
from ops_console.base import OpsModelAdmin
from ops_console.export_resources import UserResource

admin.site.unregister(Group)
# django-otp's own device admins show raw secrets and aren't Unfold pages; staff enrol on the console's
# two-factor pages and a lost phone is handled by the "Reset two-factor" action below.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


@admin.register(Group)
class GroupAdmin(OpsModelAdmin):
    search_fields = ["name"]
    filter_horizontal = ["permissions"]

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name == "permissions":
            # Permission.__str__ reads its content type: one query per permission without this (as Django's own).
            kwargs["queryset"] = db_field.remote_field.model.objects.select_related("content_type")
        return super().formfield_for_manytomany(db_field, request=request, **kwargs)


@admin.register(m.User)
class UserAdmin(DjangoUserAdmin, OpsModelAdmin):
    resource_classes = [UserResource]
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["username", "email", "first_name", "last_name", "role", "is_active", "is_staff", "last_login"]
    list_filter = ["role", "is_active", "is_staff", "groups"]
    fieldsets = (*DjangoUserAdmin.fieldsets, ("ToteTaxi", {"fields": ["role", "activity_link"]}))
    readonly_fields = ["activity_link", "last_login", "date_joined"]
    actions = ["reset_two_factor"]

    @action(description="Reset two-factor (lost phone): enrol again at next sign-in", permissions=["change"])
    def reset_two_factor(self, request, queryset):
        for user in queryset:
            two_factor_reset(user=user)
        messages.success(request, f"Two-factor reset for {queryset.count()} user(s).")

    def has_import_permission(self, request):
        return False  # accounts are created one by one, with a password

    @display(description="Activity")
    def activity_link(self, obj):
        if obj.pk is None:
            return "—"
        return format_html('<a class="text-primary-600" href="{}">Everything this user changed</a>',
                           reverse("admin:core_user_activity", args=[obj.pk]))

    def get_urls(self):
        return [path("<int:user_id>/activity/", self.admin_site.admin_view(self.activity_view),
                     name="core_user_activity"), *super().get_urls()]

    def activity_view(self, request, user_id):
        user = m.User.objects.filter(pk=user_id).first()
        if user is None or not self.has_view_permission(request, user):
            raise Http404
        return render_activity(request, self, title=f"Activity — {user.get_full_name() or user.username}",
                               entries=staff_activity(user),
                               back_url=reverse("admin:core_user_change", args=[user.pk]), back_label=user.username)


@admin.register(m.StaffProfile)
class StaffProfileAdmin(OpsModelAdmin):
    list_display = ["employee_id", "user", "department", "hire_date", "permissions_level"]
    list_filter = ["department"]
    list_select_related = ["user"]
    search_fields = ["employee_id", "user__username", "user__first_name", "user__last_name"]
    autocomplete_fields = ["user"]


# --- Login lockouts (django-axes): shown in Unfold's look; deleting an attempt unlocks that username+IP ------
def _reregister_axes():
    from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from unfold.admin import ModelAdmin as UnfoldModelAdmin

    # Not OpsModelAdmin: axes rows carry no simple-history table; they are the lockout's own audit log.
    for model, base in ((AccessAttempt, AccessAttemptAdmin), (AccessLog, AccessLogAdmin),
                        (AccessFailureLog, AccessFailureLogAdmin)):
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, type(base.__name__, (base, UnfoldModelAdmin), {"show_full_result_count": False}))


_reregister_axes()
