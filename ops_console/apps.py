from django.apps import AppConfig, apps

# The console's breadcrumbs start with the page's app: third-party apps should read like our sidebar section,
# not "Authentication and Authorization" or "Axes". (App names only: a model's verbose names are migration
# state, and changing a third-party model's would make makemigrations write into that package.)
THIRD_PARTY_APP_NAMES = {"auth": "Staff & Access", "axes": "Staff & Access"}


class OpsConsoleConfig(AppConfig):
    name = "ops_console"
    verbose_name = "Ops console"

    def ready(self):
        for label, name in THIRD_PARTY_APP_NAMES.items():
            if label in apps.app_configs:
                apps.get_app_config(label).verbose_name = name
