"""System checks for a production deployment (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.cache import caches
from django.core.checks import Error, Tags, Warning, register

# Caches that live inside one process: each gunicorn worker would count requests on its own.
PROCESS_LOCAL_CACHES = ("django.core.cache.backends.locmem.LocMemCache",
                        "django.core.cache.backends.dummy.DummyCache")


@register(Tags.security, deploy=True)
def rate_limits_need_a_shared_cache(app_configs=None, **kwargs):
    """The public API's rate limits count in the default cache; per-process counts multiply the limit by workers."""
    if int(settings.TOTETAXI.get("RATE_LIMIT_POSTS_PER_MINUTE", 0)) <= 0:
        return []
    backend = type(caches["default"])
    if f"{backend.__module__}.{backend.__qualname__}" not in PROCESS_LOCAL_CACHES:
        return []
    return [Error(
        f"Rate limits are counted in {backend.__qualname__}, which each worker process keeps for itself, so "
        "every worker allows the full limit.",
        hint="Set REDIS_URL (a cache every worker shares), or TOTETAXI_RATE_LIMIT=0 to turn rate limits off.",
        id="totetaxi.E001",
    )]


@register(Tags.security, deploy=True)
def links_need_a_public_address(app_configs=None, **kwargs):
    """Report emails (and Twilio's status callbacks) link back to this service: they need its public origin."""
    if settings.REPORTS_CONSOLE_URL:
        return []
    return [Warning(
        "This service's public address is not set: scheduled report emails would carry links without a host, "
        "and Twilio status callbacks are not requested.",
        hint="Set PUBLIC_BASE_URL (e.g. https://ops.totetaxi.com), or REPORTS_CONSOLE_URL for the console alone.",
        id="totetaxi.W001",
    )]
