"""The one base every ModelAdmin derives from: Unfold + simple-history + import/export."""

import dataclasses
import functools

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper
from unfold import admin as unfold_admin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import display

from ops_console.formatting import field_label, value_text
from ops_console.paginator import EstimatedCountPaginator


class ReadableHistoryHelper(HistoricalRecordContextHelper):
    """Field-by-field history in people's words: field labels, choice labels, money, New York time, "—" for none."""

    def format_delta_change(self, change):
        changed = super().format_delta_change(change)
        old, new = (conditional_escape(value_text(self.model, change.field, v)) for v in (change.old, change.new))
        return dataclasses.replace(changed, field=field_label(self.model, change.field), old=old, new=new)


ROW_PK = "__ops_row_pk__"


@functools.lru_cache(maxsize=16)
def _row_checkbox(language: str) -> str:
    """Unfold's list-row checkbox with a placeholder value, rendered once per language (its aria-label)."""
    return unfold_admin.checkbox.render(ACTION_CHECKBOX_NAME, ROW_PK)


class OpsModelAdmin(SimpleHistoryAdmin, ModelAdmin, ImportExportModelAdmin):
    import_form_class = ImportForm
    export_form_class = ExportForm
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts are one COUNT per filter choice: too slow at 1M rows
    list_per_page = 50
    warn_unsaved_form = True
    compressed_fields = True

    @display(description=ModelAdmin.action_checkbox.short_description)
    def action_checkbox(self, obj):
        """Unfold's row checkbox (the same HTML) without a widget template render for each row."""
        html = _row_checkbox(translation.get_language())
        return mark_safe(html.replace(f'value="{ROW_PK}"', f'value="{conditional_escape(str(obj.pk))}"'))  # noqa: S308

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context=extra_context)
        # Unfold links the list's own actions (top right) without the query string, so "Export this list"
        # exported the default list whatever the filters and search: carry the list's query along.
        query = request.GET.urlencode()
        context = getattr(response, "context_data", None) or {}
        if query:
            for item in context.get("actions_list") or ():
                for entry in [item, *item.get("items", ())]:
                    if entry.get("path"):
                        entry["path"] = f"{entry['path']}?{query}"
        return response

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        data.title = str(capfirst(self.opts.verbose_name_plural))  # the XLSX sheet is named after the list
        return data

    def export_action(self, request):
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            # A hand-edited or stale link (?bogus=1): the changelist's own filters refuse it; so does the export.
            self.message_user(request, "This export link has a filter the list does not know. Choose the filters "
                                       "on the list, then export again.", messages.ERROR)
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def get_valid_export_item_pks(self, request):
        # import-export's default loads every pk in the table (1M at scale) to validate an "export selected"
        # post; checking just the submitted pks against what this user may export is the same rule.
        submitted = request.POST.getlist("export_items")
        return self.get_export_queryset(request).filter(pk__in=submitted).values_list("pk", flat=True)
    # Every history row carries who (simple-history), from where and with which browser (core.common.audit).
    history_list_display = ["ip_address", "user_agent"]
    object_history_list_template = "ops_console/history_list.html"

    def get_historical_record_context_helper(self, request, historical_record):
        return ReadableHistoryHelper(self.model, historical_record)

    def history_view(self, request, object_id, extra_context=None):
        """simple-history's view for audited models; Django's LogEntry view for the few without a history table."""
        if not hasattr(self.model._meta, "simple_history_manager_attribute"):
            return ModelAdmin.history_view(self, request, object_id, extra_context=extra_context)
        columns = [(name, field_label(self.model.history.model, name)) for name in self.history_list_display]
        extra_context = {"history_columns": columns, **(extra_context or {})}
        return super().history_view(request, object_id, extra_context=extra_context)

    def revert_disabled(self, request, obj=None):
        """History is for reading: a revert would re-save old values past the services (status, prices)."""
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)

    def _has(self, request, action: str) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")

    def has_export_permission(self, request):
        """Whoever may see a model's rows may export them (Finance's exports ride on their view permissions),
        through a resource of ours that lists its columns: import-export's default resource would export every
        field, a user's password hash included."""
        return bool(self.resource_classes) and self._has(request, "view")

    def has_import_permission(self, request):
        """An import creates and changes rows: it needs both permissions, and a resource of ours that runs the
        model's rules (import-export's default one would write rows unchecked)."""
        return bool(self.resource_classes) and self._has(request, "add") and self._has(request, "change")


class ReadOnlyOpsModelAdmin(OpsModelAdmin):
    """For records written only by services (audit, events): staff may look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return False


class ReadOnlyTabularInline(TabularInline):
    """A tab of related records the services write (status history, lines, notes): shown, never edited here."""

    extra = 0
    can_delete = False
    tab = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
