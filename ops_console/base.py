"""The one base every ModelAdmin derives from: Unfold + simple-history + import/export."""

from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin
from unfold.contrib.import_export.forms import ExportForm, ImportForm

from ops_console.paginator import EstimatedCountPaginator


class OpsModelAdmin(SimpleHistoryAdmin, ModelAdmin, ImportExportModelAdmin):
    import_form_class = ImportForm
    export_form_class = ExportForm
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    warn_unsaved_form = True
    compressed_fields = True


class ReadOnlyOpsModelAdmin(OpsModelAdmin):
    """For records written only by services (audit, events): staff may look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
