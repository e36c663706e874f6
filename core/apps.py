from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    label = "core"
    verbose_name = "ToteTaxi"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core import checks  # noqa: F401  (registers the deployment checks)
        from core.common import audit  # noqa: F401  (connects the history IP/user-agent receiver)
