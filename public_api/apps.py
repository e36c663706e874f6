from django.apps import AppConfig


class PublicApiConfig(AppConfig):
    name = "public_api"
    verbose_name = "Public booking API"
